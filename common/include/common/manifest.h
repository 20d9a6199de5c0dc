// Manifest: what an artifact is made of -- every regular file with its size
// and content hash -- and HashCache, which remembers hashes of local files so
// a second push of a 141 GB model does not read it again.
//
// The text formats of both are documented in docs/manifest.md and are read by
// clusterctl and clusterd alike.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cluster {

struct ManifestEntry {
  std::string path;      // relative to the artifact root, '/'-separated, never ".." or absolute
  std::uint64_t size = 0;
  std::string hash;      // XXH3-128, 32 hex digits (common/content_hash.h)

  bool operator==(const ManifestEntry&) const = default;
};

struct Manifest {
  std::vector<ManifestEntry> files;  // sorted by path

  std::uint64_t TotalBytes() const;
  // "clusterctl-manifest 1\n" then one "HASH SIZE PATH\n" line per file
  // (PATH percent-encoded, see common/wire_token.h).
  std::string Serialize() const;
  static StatusOr<Manifest> Parse(std::string_view text);
};

// Hashes of files keyed by (absolute path, size, mtime in ns): an entry is
// used only while all three still match, so an edited file is hashed again.
// (A change that keeps size and mtime -- a deliberate `touch -d` after an
// in-place edit -- is not seen; `push --rehash` ignores the cache.)
// Thread-safe: one mutex guards the table.
class HashCache {
 public:
  // `file` is where the cache lives; it need not exist yet.
  explicit HashCache(std::filesystem::path file);

  // Reads the cache file. A missing or unreadable file is an empty cache (a
  // cache never fails a push); only the first line's version is checked.
  void Load();
  // Writes the cache atomically (0600), creating its folder, when an entry
  // changed since Load or the last Save; otherwise it writes nothing, so a
  // push that hashed nothing new costs no fsync.
  Status Save();

  // The hash of `path` from the cache, or by reading the file (then recorded).
  // With `use_cache` false the file is always read (and the entry refreshed).
  StatusOr<std::string> HashOf(const std::filesystem::path& path, bool use_cache = true);

  // Records a hash computed elsewhere (the receiver hashes while writing).
  void Record(const std::filesystem::path& path, const std::string& hash);

 private:
  struct Entry {
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::string hash;
  };
  std::filesystem::path file_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;  // GUARDED_BY(mu_), keyed by absolute path
  bool changed_ = false;                  // GUARDED_BY(mu_): entries_ differ from the file
  // Sets path's entry, noting a change. REQUIRES: mu_ held.
  void Put(const std::string& key, Entry entry);
};

// Builds the manifest of `root`: a regular file (one entry named by its file
// name) or a folder (every regular file below it, recursively, sorted by
// path). Symbolic links are followed; anything else (sockets, fifos) is an
// error naming it. Hashes come from `cache` when it still knows the file.
StatusOr<Manifest> BuildManifest(const std::filesystem::path& root, HashCache& cache, bool use_cache = true);

}  // namespace cluster
