#include "common/manifest.h"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "common/content_hash.h"
#include "common/files.h"
#include "common/wire_token.h"

namespace cluster {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kManifestHeader = "clusterctl-manifest 1";
constexpr std::string_view kCacheHeader = "clusterctl-hash-cache 1";

template <typename Int>
bool ParseInt(std::string_view text, Int* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool IsHexHash(std::string_view h) {
  return h.size() == 32 && std::all_of(h.begin(), h.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Size and mtime (ns) of a regular file, following links.
StatusOr<std::pair<std::uint64_t, std::int64_t>> SizeAndMtime(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return NotFoundError(fmt::format("{}: no such file", path.string()));
  if (!S_ISREG(st.st_mode)) return InvalidArgumentError(fmt::format("{}: not a regular file", path.string()));
  const std::int64_t mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
  return std::make_pair(static_cast<std::uint64_t>(st.st_size), mtime_ns);
}

}  // namespace

std::uint64_t Manifest::TotalBytes() const {
  std::uint64_t total = 0;
  for (const auto& f : files) total += f.size;
  return total;
}

std::string Manifest::Serialize() const {
  std::string out = std::string(kManifestHeader) + "\n";
  for (const auto& f : files) out += fmt::format("{} {} {}\n", f.hash, f.size, EncodeToken(f.path));
  return out;
}

StatusOr<Manifest> Manifest::Parse(std::string_view text) {
  Manifest m;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line_no == 1) {
      if (line != kManifestHeader) {
        return InvalidArgumentError(fmt::format("manifest line 1: expected '{}', found '{}'", kManifestHeader, line));
      }
      continue;
    }
    if (line.empty()) continue;
    auto tokens = SplitTokens(line);
    ManifestEntry e;
    if (tokens.size() != 3 || !IsHexHash(tokens[0]) || !ParseInt(tokens[1], &e.size)) {
      return InvalidArgumentError(fmt::format("manifest line {}: expected 'HASH SIZE PATH', found '{}'", line_no, line));
    }
    e.hash = tokens[0];
    CLUSTER_ASSIGN_OR_RETURN(e.path, DecodeToken(tokens[2]));
    m.files.push_back(std::move(e));
  }
  if (line_no == 0) return InvalidArgumentError("manifest is empty");
  return m;
}

HashCache::HashCache(fs::path file) : file_(std::move(file)) {}

void HashCache::Load() {
  auto text = ReadFile(file_);
  if (!text.ok()) return;
  std::lock_guard<std::mutex> lock(mu_);
  std::string_view all = *text;
  size_t pos = all.find('\n');
  if (pos == std::string_view::npos || all.substr(0, pos) != kCacheHeader) return;
  ++pos;
  while (pos < all.size()) {
    size_t end = all.find('\n', pos);
    if (end == std::string_view::npos) end = all.size();
    auto tokens = SplitTokens(all.substr(pos, end - pos));
    pos = end + 1;
    Entry e;
    if (tokens.size() != 4 || !IsHexHash(tokens[0]) || !ParseInt(tokens[1], &e.size) ||
        !ParseInt(tokens[2], &e.mtime_ns)) {
      continue;  // a damaged line costs one re-hash, nothing more
    }
    auto path = DecodeToken(tokens[3]);
    if (!path.ok()) continue;
    e.hash = tokens[0];
    entries_[*path] = std::move(e);
  }
}

void HashCache::Put(const std::string& key, Entry entry) {
  auto it = entries_.find(key);
  if (it != entries_.end() && it->second.size == entry.size && it->second.mtime_ns == entry.mtime_ns &&
      it->second.hash == entry.hash) {
    return;
  }
  entries_[key] = std::move(entry);
  changed_ = true;
}

Status HashCache::Save() {
  std::string out = std::string(kCacheHeader) + "\n";
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!changed_) return Status::Ok();
    changed_ = false;
    for (const auto& [path, e] : entries_) {
      out += fmt::format("{} {} {} {}\n", e.hash, e.size, e.mtime_ns, EncodeToken(path));
    }
  }
  std::error_code ec;
  fs::create_directories(file_.parent_path(), ec);
  Status written = WriteFileAtomically(file_, out, 0600);
  if (!written.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    changed_ = true;  // the next Save tries again
  }
  return written;
}

StatusOr<std::string> HashCache::HashOf(const fs::path& path, bool use_cache) {
  const std::string key = fs::absolute(path).lexically_normal().string();
  CLUSTER_ASSIGN_OR_RETURN(auto before, SizeAndMtime(path));
  if (use_cache) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.size == before.first && it->second.mtime_ns == before.second) {
      return it->second.hash;
    }
  }
  CLUSTER_ASSIGN_OR_RETURN(std::string hash, HashFile(path));
  CLUSTER_ASSIGN_OR_RETURN(auto after, SizeAndMtime(path));
  if (after == before) {  // a file written while we read it is not cached
    std::lock_guard<std::mutex> lock(mu_);
    Put(key, Entry{after.first, after.second, hash});
  }
  return hash;
}

void HashCache::Record(const fs::path& path, const std::string& hash) {
  auto meta = SizeAndMtime(path);
  if (!meta.ok()) return;
  std::lock_guard<std::mutex> lock(mu_);
  Put(fs::absolute(path).lexically_normal().string(), Entry{meta->first, meta->second, hash});
}

StatusOr<Manifest> BuildManifest(const fs::path& root, HashCache& cache, bool use_cache) {
  std::error_code ec;
  Manifest m;
  if (fs::is_regular_file(root, ec)) {
    CLUSTER_ASSIGN_OR_RETURN(std::string hash, cache.HashOf(root, use_cache));
    CLUSTER_ASSIGN_OR_RETURN(auto meta, SizeAndMtime(root));
    m.files.push_back({root.filename().string(), meta.first, hash});
    return m;
  }
  if (!fs::is_directory(root, ec)) return NotFoundError(fmt::format("{}: no such file or folder", root.string()));
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::follow_directory_symlink, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec)) continue;
    if (!it->is_regular_file(ec)) {
      return InvalidArgumentError(fmt::format("{}: not a regular file or folder; push copies only files",
                                              it->path().string()));
    }
    files.push_back(it->path());
  }
  if (ec) return PermissionDeniedError(fmt::format("{}: cannot list: {}", root.string(), ec.message()));
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    CLUSTER_ASSIGN_OR_RETURN(std::string hash, cache.HashOf(f, use_cache));
    CLUSTER_ASSIGN_OR_RETURN(auto meta, SizeAndMtime(f));
    m.files.push_back({f.lexically_relative(root).generic_string(), meta.first, hash});
  }
  return m;
}

}  // namespace cluster
