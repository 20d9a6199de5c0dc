// A unit's log: lines with a timestamp, in a live file rotated by size.
//
// Format, one line each: "2026-11-28T10:15:02.123Z TEXT" (UTC, milliseconds).
// Rotation: when the live file LOG reaches max_bytes it becomes LOG.1, LOG.1
// becomes LOG.2 ... up to LOG.keep (older ones are deleted). Reading merges
// the rotated files, oldest first, so `logs` sees one stream.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace cluster::agent {

struct TimedLine {
  std::int64_t unix_ms = 0;
  std::string text;
};

// Appends lines to a rotating log. Used by one thread.
class UnitLogWriter {
 public:
  UnitLogWriter(std::filesystem::path path, std::uint64_t max_bytes, int keep);
  ~UnitLogWriter();
  // Appends complete lines found in `bytes` (a trailing partial line waits
  // for the rest, or for Flush()). Write errors are counted, never thrown:
  // a full disk must not stop the unit.
  void Append(std::string_view bytes);
  void AppendLine(std::string_view text);  // one line stamped now
  void Flush();                            // writes a pending partial line
  int write_errors() const { return write_errors_; }

 private:
  void Rotate();
  std::filesystem::path path_;
  std::uint64_t max_bytes_;
  int keep_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::string partial_;
  int write_errors_ = 0;
};

// Reads the lines of a log (rotated files included, oldest first) at or
// after `since_unix_ms`, the last `tail` of them when tail >= 0. Lines that
// do not start with a timestamp keep the previous line's time.
StatusOr<std::vector<TimedLine>> ReadUnitLog(const std::filesystem::path& path, std::int64_t since_unix_ms, int tail);

// Lines of `path` written since the last call, for --follow: the reader
// keeps (file identity, offset) and calls again. A zero cursor (a new
// follower) is placed at the current end of the live file and gets no lines;
// call it once before ReadUnitLog so that nothing written in between is
// missed. When the live file was rotated since the last call, the rest of the
// file the cursor was in (now LOG.n) comes first, then newer files. Only
// complete lines are returned; a line being written is returned next time.
struct LogCursor {
  std::uint64_t inode = 0;
  std::uint64_t offset = 0;
};
StatusOr<std::vector<TimedLine>> ReadNewLines(const std::filesystem::path& path, LogCursor& cursor);

}  // namespace cluster::agent
