#include "agent/write_behind.h"

#include <fcntl.h>

namespace cluster::agent {

void WriteBehind::Written(std::uint64_t end) {
  if (end < started_ + kWindow) return;
  const std::uint64_t upto = end - (end - started_) % kWindow;
  // Best effort: a file system without it (or an error) leaves the work to
  // the fdatasync, as before.
  (void)::sync_file_range(fd_, static_cast<off64_t>(started_), static_cast<off64_t>(upto - started_),
                          SYNC_FILE_RANGE_WRITE);
  started_ = upto;
}

}  // namespace cluster::agent
