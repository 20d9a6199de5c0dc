#include "agent/byte_reader.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cluster::agent {

ByteReader::ByteReader(int fd, std::size_t buffer_size) : fd_(fd), buffer_(buffer_size) {}

bool ByteReader::Fill() {
  begin_ = end_ = 0;
  for (;;) {
    ssize_t n = ::read(fd_, buffer_.data(), buffer_.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    end_ = static_cast<std::size_t>(n);
    return true;
  }
}

bool ByteReader::ReadLine(std::string* line, std::size_t max_length) {
  line->clear();
  for (;;) {
    if (begin_ == end_ && !Fill()) return false;
    const char* start = buffer_.data() + begin_;
    const void* nl = std::memchr(start, '\n', end_ - begin_);
    std::size_t take = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - start) : end_ - begin_;
    line->append(start, take);
    begin_ += take;
    if (line->size() > max_length) return false;
    if (nl) {
      ++begin_;
      return true;
    }
  }
}

std::size_t ByteReader::ReadSome(char* out, std::size_t max) {
  if (begin_ == end_) {
    // Large reads go straight to the caller's buffer: no extra copy of file data.
    if (max >= buffer_.size()) {
      for (;;) {
        ssize_t n = ::read(fd_, out, max);
        if (n < 0 && errno == EINTR) continue;
        return n > 0 ? static_cast<std::size_t>(n) : 0;
      }
    }
    if (!Fill()) return 0;
  }
  std::size_t take = std::min(max, end_ - begin_);
  std::memcpy(out, buffer_.data() + begin_, take);
  begin_ += take;
  return take;
}

}  // namespace cluster::agent
