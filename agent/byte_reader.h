// Buffered reading of a request stream: text lines and exact byte counts from
// one file descriptor (the receiver's stdin). One owner thread.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace cluster::agent {

class ByteReader {
 public:
  explicit ByteReader(int fd, std::size_t buffer_size = 1 << 20);

  // Reads one line without its '\n'. False at end of stream, on error, or when
  // the line exceeds `max_length` (requests are short; a longer line is abuse).
  bool ReadLine(std::string* line, std::size_t max_length = 64 * 1024);
  // Reads up to `max` bytes (at least 1) into `out`; 0 at end of stream or error.
  std::size_t ReadSome(char* out, std::size_t max);

 private:
  bool Fill();
  int fd_;
  std::vector<char> buffer_;
  std::size_t begin_ = 0, end_ = 0;
};

}  // namespace cluster::agent
