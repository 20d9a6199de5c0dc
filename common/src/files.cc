#include "common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace cluster {

namespace {

// What a non-regular file is, for an error message.
const char* KindOf(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a file";
}

}  // namespace

StatusOr<std::string> ReadFile(const std::filesystem::path& path, std::uint64_t max_bytes) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) return NotFoundError(fmt::format("{}: no such file", path.string()));
    return PermissionDeniedError(fmt::format("{}: cannot open: {}", path.string(), std::strerror(err)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return PermissionDeniedError(fmt::format("{}: cannot open: {}", path.string(), std::strerror(err)));
  }
  auto refuse = [&](std::string why) {
    ::close(fd);
    return InvalidArgumentError(fmt::format("{}: {}", path.string(), why));
  };
  if (S_ISDIR(st.st_mode)) return refuse("is a folder, expected a file");
  if (!S_ISREG(st.st_mode)) return refuse(fmt::format("is {}, not a regular file", KindOf(st.st_mode)));
  const std::string too_large = fmt::format("is larger than {} bytes, the most read here", max_bytes);
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) return refuse(too_large);
  // The file may grow while it is read: never more than max_bytes + 1.
  std::string text;
  text.resize(static_cast<std::size_t>(std::min<std::uint64_t>(max_bytes + 1, static_cast<std::uint64_t>(st.st_size) + 1)));
  std::size_t got = 0;
  for (;;) {
    if (got == text.size()) {
      if (got > max_bytes) return refuse(too_large);
      text.resize(static_cast<std::size_t>(std::min<std::uint64_t>(max_bytes + 1, got * 2 + 4096)));
    }
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return DataLossError(fmt::format("{}: read failed: {}", path.string(), std::strerror(err)));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (got > max_bytes) return InvalidArgumentError(fmt::format("{}: {}", path.string(), too_large));
  text.resize(got);
  return text;
}

Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents,
                           unsigned mode) {
  std::filesystem::path tmp = path;
  tmp += fmt::format(".tmp.{}", ::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    return PermissionDeniedError(fmt::format("{}: cannot create: {}", tmp.string(), std::strerror(errno)));
  }
  ::fchmod(fd, mode);  // umask must not loosen or tighten what the caller asked for
  size_t off = 0;
  while (off < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + off, contents.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return ResourceExhaustedError(fmt::format("{}: write failed: {}", path.string(), std::strerror(err)));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return DataLossError(fmt::format("{}: could not flush to disk: {}", path.string(), std::strerror(err)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return PermissionDeniedError(fmt::format("{}: rename failed: {}", path.string(), std::strerror(err)));
  }
  return Status::Ok();
}

std::filesystem::path ResolvePath(std::string_view path, const std::filesystem::path& base_dir) {
  std::filesystem::path p;
  if (path.size() >= 2 && path[0] == '~' && path[1] == '/') {
    const char* home = std::getenv("HOME");
    p = std::filesystem::path(home ? home : "/") / std::string(path.substr(2));
  } else {
    p = std::string(path);
  }
  if (p.is_relative()) p = base_dir / p;
  return p.lexically_normal();
}

}  // namespace cluster
