#include "common/content_hash.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <xxhash.h>

namespace cluster {

struct ContentHasher::State {
  XXH3_state_t* xxh = nullptr;
  State() : xxh(XXH3_createState()) { XXH3_128bits_reset(xxh); }
  ~State() { XXH3_freeState(xxh); }
};

ContentHasher::ContentHasher() : state_(std::make_unique<State>()) {}
ContentHasher::~ContentHasher() = default;
ContentHasher::ContentHasher(ContentHasher&&) noexcept = default;
ContentHasher& ContentHasher::operator=(ContentHasher&&) noexcept = default;

void ContentHasher::Update(const void* data, std::size_t size) { XXH3_128bits_update(state_->xxh, data, size); }

std::string ContentHasher::HexDigest() const {
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(state_->xxh));
  std::string hex;
  hex.reserve(32);
  for (unsigned char byte : canonical.digest) hex += fmt::format("{:02x}", byte);
  return hex;
}

StatusOr<std::uint64_t> HashFileInto(const std::filesystem::path& path, ContentHasher& hasher,
                                     std::uint64_t limit) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return NotFoundError(fmt::format("{}: no such file", path.string()));
    return PermissionDeniedError(fmt::format("{}: cannot open: {}", path.string(), std::strerror(err)));
  }
  auto hashed = HashDescriptorInto(fd, path.string(), hasher, limit);
  ::close(fd);
  return hashed;
}

StatusOr<std::uint64_t> HashDescriptorInto(int fd, const std::string& name, ContentHasher& hasher,
                                           std::uint64_t limit) {
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  std::vector<char> buffer(1 << 20);
  std::uint64_t done = 0;
  while (done < limit) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), limit - done));
    ssize_t n = ::read(fd, buffer.data(), want);
    if (n < 0) {
      if (errno == EINTR) continue;
      return DataLossError(fmt::format("{}: read failed: {}", name, std::strerror(errno)));
    }
    if (n == 0) break;
    hasher.Update(buffer.data(), static_cast<std::size_t>(n));
    done += static_cast<std::uint64_t>(n);
  }
  return done;
}

StatusOr<std::string> HashFile(const std::filesystem::path& path) {
  ContentHasher hasher;
  CLUSTER_ASSIGN_OR_RETURN([[maybe_unused]] std::uint64_t n, HashFileInto(path, hasher));
  return hasher.HexDigest();
}

std::string HashBytes(std::string_view bytes) {
  ContentHasher hasher;
  hasher.Update(bytes.data(), bytes.size());
  return hasher.HexDigest();
}

}  // namespace cluster
