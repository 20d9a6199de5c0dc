// Manifests, the hash cache and the protocol's tokens (docs/manifest.md).
#include "common/manifest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "common/content_hash.h"
#include "common/files.h"
#include "common/wire_token.h"

using namespace cluster;
namespace fs = std::filesystem;

namespace {
fs::path FreshDir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("manifest_test_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}
void Write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}
}  // namespace

TEST_CASE("Content hashes are XXH3-128 in 32 hex digits") {
  CHECK(HashBytes("") == "99aa06d3014798d86001c324468d497f");  // XXH3_128bits of nothing
  CHECK(HashBytes("abc").size() == 32);
  CHECK(HashBytes("abc") != HashBytes("abd"));
}

TEST_CASE("A folder's manifest lists every file below it, sorted, with size and hash") {
  fs::path dir = FreshDir("folder");
  Write(dir / "b.bin", "bbbb");
  Write(dir / "a/z.json", "{}");
  Write(dir / "a/empty", "");
  HashCache cache(dir.parent_path() / ("cache_" + std::to_string(::getpid())));
  auto m = BuildManifest(dir, cache);
  REQUIRE(m.ok());
  REQUIRE(m->files.size() == 3);
  CHECK(m->files[0] == ManifestEntry{"a/empty", 0, HashBytes("")});
  CHECK(m->files[1] == ManifestEntry{"a/z.json", 2, HashBytes("{}")});
  CHECK(m->files[2] == ManifestEntry{"b.bin", 4, HashBytes("bbbb")});
  CHECK(m->TotalBytes() == 6);
  fs::remove_all(dir);
}

TEST_CASE("A single file's manifest has one entry named after the file") {
  fs::path dir = FreshDir("file");
  Write(dir / "image.tar", "tar bytes");
  HashCache cache(dir / "cache");
  auto m = BuildManifest(dir / "image.tar", cache);
  REQUIRE(m.ok());
  REQUIRE(m->files.size() == 1);
  CHECK(m->files[0].path == "image.tar");
  fs::remove_all(dir);
}

TEST_CASE("The hash cache answers without reading while path, size and mtime match") {
  // Given a cached file whose bytes change but whose size and mtime are put
  // back, the cache still answers the old hash: proof it did not re-read.
  // Any ordinary edit (new mtime) or --rehash reads the file again.
  fs::path dir = FreshDir("cache");
  fs::path file = dir / "w.bin";
  Write(file, "original");
  struct stat before {};
  REQUIRE(::stat(file.c_str(), &before) == 0);
  {
    HashCache cache(dir / "hash-cache");
    REQUIRE(cache.HashOf(file).ok());
    REQUIRE(cache.Save().ok());
  }
  Write(file, "ORIGINAL");
  timespec times[2] = {before.st_atim, before.st_mtim};
  REQUIRE(::utimensat(AT_FDCWD, file.c_str(), times, 0) == 0);

  HashCache reloaded(dir / "hash-cache");
  reloaded.Load();
  CHECK(*reloaded.HashOf(file) == HashBytes("original"));
  CHECK(*reloaded.HashOf(file, /*use_cache=*/false) == HashBytes("ORIGINAL"));
  Write(file, "edited!!");  // a new mtime
  CHECK(*reloaded.HashOf(file) == HashBytes("edited!!"));
  fs::remove_all(dir);
}

TEST_CASE("The hash cache is written only when an entry changed, so a push with nothing new costs no fsync") {
  // Given a saved cache, a second session that only reads it writes nothing
  // (the file we delete stays deleted); one that hashes a new file writes it.
  fs::path dir = FreshDir("cache_unchanged");
  fs::path file = dir / "w.bin", cache_file = dir / "hash-cache";
  Write(file, "bytes");
  {
    HashCache cache(cache_file);
    REQUIRE(cache.HashOf(file).ok());
    REQUIRE(cache.Save().ok());
  }
  HashCache reread(cache_file);
  reread.Load();
  fs::remove(cache_file);
  REQUIRE(reread.HashOf(file).ok());
  reread.Record(file, HashBytes("bytes"));  // the same entry again is no change
  REQUIRE(reread.Save().ok());
  CHECK_FALSE(fs::exists(cache_file));

  Write(dir / "new.bin", "new");
  REQUIRE(reread.HashOf(dir / "new.bin").ok());
  REQUIRE(reread.Save().ok());
  CHECK(fs::exists(cache_file));
  fs::remove_all(dir);
}

TEST_CASE("A manifest survives Serialize and Parse, odd file names included") {
  Manifest m;
  m.files.push_back({"dir with space/a%b.bin", 12, HashBytes("x")});
  m.files.push_back({"ünïcode\nnewline", 0, HashBytes("")});
  auto text = m.Serialize();
  CHECK(text.rfind("clusterctl-manifest 1\n", 0) == 0);
  CHECK(text.find("dir%20with%20space/a%25b.bin") != std::string::npos);
  auto back = Manifest::Parse(text);
  REQUIRE(back.ok());
  CHECK(back->files == m.files);
}

TEST_CASE("A malformed manifest is refused with the line that is wrong") {
  auto bad = Manifest::Parse("clusterctl-manifest 1\nnot-a-hash 12 a.bin\n");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "manifest line 2: expected 'HASH SIZE PATH', found 'not-a-hash 12 a.bin'");
  auto wrong_version = Manifest::Parse("clusterctl-manifest 9\n");
  CHECK(wrong_version.status().message() ==
        "manifest line 1: expected 'clusterctl-manifest 1', found 'clusterctl-manifest 9'");
}

TEST_CASE("Tokens encode spaces, percent signs and control bytes, and decode back") {
  CHECK(EncodeToken("a b%c\n") == "a%20b%25c%0A");
  CHECK(EncodeToken("") == "%");
  CHECK(*DecodeToken("%") == "");
  CHECK(*DecodeToken("a%20b%25c%0A") == "a b%c\n");
  CHECK(DecodeToken("%4").status().message() == "malformed escape in '%4'");
  CHECK(SplitTokens("put a  b") == std::vector<std::string>{"put", "a", "b"});
}
