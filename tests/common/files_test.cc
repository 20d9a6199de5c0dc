#include "common/files.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>

using namespace cluster;
namespace fs = std::filesystem;

namespace {
fs::path TempDir() {
  fs::path dir = fs::temp_directory_path() / ("files_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}
}  // namespace

TEST_CASE("WriteFileAtomically replaces a file whole and leaves no temporary behind") {
  fs::path dir = TempDir();
  fs::path file = dir / "state.json";
  REQUIRE(WriteFileAtomically(file, "old").ok());
  REQUIRE(WriteFileAtomically(file, "new contents").ok());
  CHECK(*ReadFile(file) == "new contents");
  int entries = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir)) ++entries;
  CHECK(entries == 1);
  fs::remove_all(dir);
}

TEST_CASE("Secrets written with mode 0600 are readable by the owner only") {
  fs::path dir = TempDir();
  fs::path key = dir / "ca.key";
  REQUIRE(WriteFileAtomically(key, "secret", 0600).ok());
  struct stat st {};
  REQUIRE(::stat(key.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  fs::remove_all(dir);
}

TEST_CASE("A failed atomic write leaves the old file untouched and names the path") {
  fs::path dir = TempDir();
  fs::path file = dir / "state.json";
  REQUIRE(WriteFileAtomically(file, "old").ok());
  // A folder where the temporary file must go makes the write fail (even as root).
  fs::path tmp = file;
  tmp += ".tmp." + std::to_string(::getpid());
  fs::create_directory(tmp);
  Status s = WriteFileAtomically(file, "new");
  CHECK_FALSE(s.ok());
  CHECK(s.message().find(tmp.string()) != std::string::npos);
  CHECK(*ReadFile(file) == "old");
  fs::remove_all(dir);
}

TEST_CASE("Writing into a folder that does not exist fails with its path") {
  fs::path dir = TempDir();
  fs::path file = dir / "missing-folder" / "x";
  Status s = WriteFileAtomically(file, "data");
  CHECK_FALSE(s.ok());
  CHECK(s.message().find("missing-folder") != std::string::npos);
  CHECK_FALSE(fs::exists(file));
  fs::remove_all(dir);
}

TEST_CASE("ReadFile names the path it could not read") {
  auto r = ReadFile("/nonexistent/cluster.yaml");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kNotFound);
  CHECK(r.status().message() == "/nonexistent/cluster.yaml: no such file");
}

TEST_CASE("ReadFile reads only regular files, at once refusing FIFOs, devices and folders") {
  fs::path dir = TempDir();
  const fs::path fifo = dir / "inventory.yaml";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // No writer ever opens the FIFO: reading it must not wait for one.
  auto r = ReadFile(fifo);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK(r.status().message() == fifo.string() + ": is a FIFO, not a regular file");

  r = ReadFile("/dev/zero");  // would never end
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == "/dev/zero: is a character device, not a regular file");

  r = ReadFile(dir);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message() == dir.string() + ": is a folder, expected a file");
  fs::remove_all(dir);
}

TEST_CASE("ReadFile refuses a file larger than its limit, and reads one at the limit") {
  fs::path dir = TempDir();
  const fs::path file = dir / "big.yaml";
  REQUIRE(WriteFileAtomically(file, std::string(1000, 'x')).ok());
  auto r = ReadFile(file, 999);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kInvalidArgument);
  CHECK(r.status().message() == file.string() + ": is larger than 999 bytes, the most read here");
  r = ReadFile(file, 1000);
  REQUIRE(r.ok());
  CHECK(r->size() == 1000);
  REQUIRE(WriteFileAtomically(file, "").ok());
  CHECK(*ReadFile(file, 0) == "");
  fs::remove_all(dir);
}

TEST_CASE("Relative paths resolve against the inventory's folder, ~/ against HOME") {
  CHECK(ResolvePath("models/x", "/etc/cluster") == fs::path("/etc/cluster/models/x"));
  CHECK(ResolvePath("/abs/y", "/etc/cluster") == fs::path("/abs/y"));
  CHECK(ResolvePath("../z", "/etc/cluster") == fs::path("/etc/z"));
  ::setenv("HOME", "/home/op", 1);
  CHECK(ResolvePath("~/.ssh/id_ed25519", "/etc") == fs::path("/home/op/.ssh/id_ed25519"));
}
