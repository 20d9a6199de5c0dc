#include "agent/destination.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "common/receiver_protocol.h"

namespace cluster::agent {
namespace fs = std::filesystem;

namespace {

std::string Errno(int err) { return std::strerror(err); }

}  // namespace

StatusOr<fs::path> ReceiverPath(const std::string& raw) {
  fs::path p;
  if (raw.rfind("~/", 0) == 0) {
    const char* home = std::getenv("HOME");
    if (!home || !*home) return FailedPreconditionError("HOME is not set on this host; use an absolute path");
    p = fs::path(home) / raw.substr(2);
  } else {
    p = raw;
  }
  if (!p.is_absolute()) return InvalidArgumentError(fmt::format("{}: not an absolute path", raw));
  for (const auto& part : p) {
    if (part == "..") return InvalidArgumentError(fmt::format("{}: '..' is not allowed in a path", raw));
  }
  return p.lexically_normal();
}

StatusOr<std::vector<std::string>> RelativeParts(const std::string& file) {
  if (file.empty() || file.front() == '/') {
    return InvalidArgumentError(fmt::format("'{}': expected a path relative to the destination folder", file));
  }
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= file.size()) {
    std::size_t end = file.find('/', start);
    if (end == std::string::npos) end = file.size();
    const std::string part = file.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") {
      return InvalidArgumentError(fmt::format("'{}': empty, '.' and '..' parts are not allowed", file));
    }
    parts.push_back(part);
    start = end + 1;
  }
  return parts;
}

StatusOr<Destination> Destination::Open(const fs::path& root, const std::string& file, bool create) {
  CLUSTER_ASSIGN_OR_RETURN(std::vector<std::string> parts, RelativeParts(file));
  const fs::path path = root / file;
  std::error_code ec;
  if (create) fs::create_directories(root, ec);  // the operator's folder, links of the host's allowed
  if (ec) return PermissionDeniedError(fmt::format("{}: cannot create the folder: {}", root.string(), ec.message()));
  int dir = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    const int err = errno;
    if (err == ENOENT) return NotFoundError(fmt::format("{}: no such folder", root.string()));
    return PermissionDeniedError(fmt::format("{}: cannot open the folder: {}", root.string(), Errno(err)));
  }
  fs::path where = root;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    where /= parts[i];
    int next = ::openat(dir, parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT && create) {
      if (::mkdirat(dir, parts[i].c_str(), 0755) != 0 && errno != EEXIST) {
        const int err = errno;
        ::close(dir);
        return PermissionDeniedError(fmt::format("{}: cannot create the folder: {}", where.string(), Errno(err)));
      }
      next = ::openat(dir, parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    const int err = errno;
    ::close(dir);
    if (next < 0) {
      if (err == ENOENT) return NotFoundError(fmt::format("{}: no such folder", where.string()));
      if (err == ELOOP || err == ENOTDIR) {
        return InvalidArgumentError(fmt::format(
            "{}: is a symbolic link or not a folder, inside the destination {}; the receiver never writes through "
            "a link it did not make (remove it, or push to another folder)",
            where.string(), root.string()));
      }
      return PermissionDeniedError(fmt::format("{}: cannot open the folder: {}", where.string(), Errno(err)));
    }
    dir = next;
  }
  return Destination(dir, parts.back(), path);
}

Destination::Destination(int dir_fd, std::string name, fs::path path)
    : dir_fd_(dir_fd), name_(std::move(name)), path_(std::move(path)) {}

Destination::Destination(Destination&& other) noexcept { *this = std::move(other); }

Destination& Destination::operator=(Destination&& other) noexcept {
  if (this != &other) {
    if (dir_fd_ >= 0) ::close(dir_fd_);
    dir_fd_ = other.dir_fd_;
    name_ = std::move(other.name_);
    path_ = std::move(other.path_);
    other.dir_fd_ = -1;
  }
  return *this;
}

Destination::~Destination() {
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

std::string Destination::partial_name() const { return receiver::PartialPathFor(name_).string(); }

fs::path Destination::partial_path() const { return receiver::PartialPathFor(path_); }

std::optional<std::uint64_t> Destination::FinalSize() const {
  struct stat st {};
  if (::fstatat(dir_fd_, name_.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return static_cast<std::uint64_t>(st.st_size);
}

bool Destination::IsOwnPlainFile(int fd) const {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 && st.st_uid == ::geteuid();
}

std::optional<int> Destination::OpenPartialForReading() const {
  const int fd = ::openat(dir_fd_, partial_name().c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  if (!IsOwnPlainFile(fd)) {
    ::close(fd);
    return std::nullopt;
  }
  return fd;
}

StatusOr<int> Destination::OpenPartialForWriting(bool fresh) const {
  const std::string partial = partial_name();
  if (fresh) {
    // Whatever has the name (an old partial file, or a link planted there)
    // goes; the new file is ours alone.
    if (::unlinkat(dir_fd_, partial.c_str(), 0) != 0 && errno != ENOENT) {
      return PermissionDeniedError(fmt::format("{}: cannot remove: {}", partial_path().string(), Errno(errno)));
    }
    const int fd = ::openat(dir_fd_, partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) return PermissionDeniedError(fmt::format("{}: cannot create: {}", partial_path().string(), Errno(errno)));
    return fd;
  }
  const int fd = ::openat(dir_fd_, partial.c_str(), O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0 && IsOwnPlainFile(fd)) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
  }
  if (fd >= 0) ::close(fd);
  DiscardPartial();
  return DataLossError(fmt::format("{}: the partial file to resume is not a plain file of this user; it was removed "
                                   "and the file is sent again",
                                   partial_path().string()));
}

void Destination::DiscardPartial() const { ::unlinkat(dir_fd_, partial_name().c_str(), 0); }

Status Destination::CommitPartial() const {
  if (::renameat(dir_fd_, partial_name().c_str(), dir_fd_, name_.c_str()) != 0) {
    return PermissionDeniedError(fmt::format("{}: cannot rename into place: {}", path_.string(), Errno(errno)));
  }
  ::fsync(dir_fd_);  // the rename survives a crash
  return Status::Ok();
}

}  // namespace cluster::agent
