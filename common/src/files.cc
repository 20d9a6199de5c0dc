#include "common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace cluster {

StatusOr<std::string> ReadFile(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return NotFoundError(fmt::format("{}: no such file", path.string()));
  }
  if (std::filesystem::is_directory(path, ec)) {
    return InvalidArgumentError(fmt::format("{}: is a folder, expected a file", path.string()));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return PermissionDeniedError(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return DataLossError(fmt::format("{}: read failed", path.string()));
  return ss.str();
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
