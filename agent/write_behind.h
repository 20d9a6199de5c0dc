// WriteBehind: the disk writes a received file while it arrives. Without it,
// the bytes of a file pile up in the page cache and the fdatasync before the
// rename writes them all at once, after the last byte: a pause as long as the
// disk needs for the whole file (seconds per GiB), on every host of a chain
// at the same moment. With it, the kernel is asked to start writing each
// window of the partial file as soon as the window is complete
// (sync_file_range with SYNC_FILE_RANGE_WRITE, which starts the writes
// without waiting for them to end), so the disk works while the network does
// and the fdatasync finds only the last windows still to write.
//
// It only starts writeback early: the fdatasync stays what makes the file
// durable before it takes its name. One owner thread.
#pragma once

#include <cstdint>

namespace cluster::agent {

class WriteBehind {
 public:
  static constexpr std::uint64_t kWindow = 8 << 20;

  // `fd` is the file being written; its bytes before `start` need nothing.
  WriteBehind(int fd, std::uint64_t start) : fd_(fd), started_(start) {}

  // Bytes [start, end) of the file have been written: starts writing every
  // complete window not yet started.
  void Written(std::uint64_t end);

 private:
  int fd_;
  std::uint64_t started_;  // writeback was asked for up to here
};

}  // namespace cluster::agent
