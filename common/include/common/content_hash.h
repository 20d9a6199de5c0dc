// Content hashes of files and byte streams: XXH3-128 (libxxhash), written as
// 32 lowercase hex digits (the canonical big-endian form). Fast enough to run
// at disk speed; it detects corruption and truncation, it is not a MAC: the
// authenticity of bytes comes from the SSH channel that carries them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>

#include "common/status.h"

namespace cluster {

// An incremental XXH3-128. Not thread-safe; one owner at a time. Movable.
class ContentHasher {
 public:
  ContentHasher();
  ~ContentHasher();
  ContentHasher(ContentHasher&&) noexcept;
  ContentHasher& operator=(ContentHasher&&) noexcept;

  void Update(const void* data, std::size_t size);
  // The hash of everything passed to Update so far; Update may continue after.
  std::string HexDigest() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Hashes the first `limit` bytes of `path` (the whole file by default) into
// `hasher`. Returns the number of bytes hashed (less than `limit` when the
// file is shorter). NotFound / PermissionDenied / DataLoss name the path.
StatusOr<std::uint64_t> HashFileInto(const std::filesystem::path& path, ContentHasher& hasher,
                                     std::uint64_t limit = std::numeric_limits<std::uint64_t>::max());

// The same for an open file, read from its current offset; `name` is for
// errors. The descriptor stays open.
StatusOr<std::uint64_t> HashDescriptorInto(int fd, const std::string& name, ContentHasher& hasher,
                                           std::uint64_t limit = std::numeric_limits<std::uint64_t>::max());

// The hex hash of a whole file.
StatusOr<std::string> HashFile(const std::filesystem::path& path);

// The hex hash of a byte string (tests, small payloads).
std::string HashBytes(std::string_view bytes);

}  // namespace cluster
