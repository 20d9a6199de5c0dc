// `clusterd receive` driven directly through its stdin/stdout (no SSH): the
// rules of docs/push.md about partial files, verification and renames.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "common/content_hash.h"
#include "common/files.h"
#include "common/subprocess.h"

using namespace cluster;
namespace fs = std::filesystem;

namespace {

struct Session {
  fs::path home;
  explicit Session(const std::string& name)
      : home(fs::temp_directory_path() / ("receiver_test_" + std::to_string(::getpid()) + "_" + name)) {
    fs::remove_all(home);
    fs::create_directories(home);
  }
  ~Session() { fs::remove_all(home); }
  // Runs one receiver with `input`; its stdout.
  std::string Run(const std::string& input) {
    auto r = RunProcess({"env", "HOME=" + home.string(), CLUSTERD_BIN, "receive"}, input);
    REQUIRE(r.ok());
    return r->out;
  }
  fs::path Path(const std::string& rel) const { return home / rel; }
};

std::string Put(const fs::path& p, const std::string& bytes, size_t offset, const std::string& hash) {
  return "put " + p.string() + " " + std::to_string(bytes.size()) + " " + hash + " " + std::to_string(offset) + "\n" +
         bytes.substr(offset);
}

}  // namespace

TEST_CASE("The receiver greets, checks, stores a verified file and then reports it as had") {
  Session s("basic");
  const std::string data(100000, 'x');
  const std::string hash = HashBytes(data);
  const fs::path dest = s.Path("models/m/a.bin");
  std::string out = s.Run("hello 1\ncheck " + dest.string() + " 100000 " + hash + "\n" + Put(dest, data, 0, hash) +
                          "check " + dest.string() + " 100000 " + hash + "\nbye\n");
  CHECK(out == "ok 0.1.0\nok missing\nok verified\nok have\n");
  CHECK(*ReadFile(dest) == data);
}

TEST_CASE("A file whose bytes do not match the hash never takes the real name") {
  // Given an existing good file and a put whose bytes are wrong, the old file
  // stays, the bad bytes are discarded, and the error says why.
  Session s("mismatch");
  const fs::path dest = s.Path("a.bin");
  REQUIRE(WriteFileAtomically(dest, "good").ok());
  std::string out = s.Run(Put(dest, "evil", 0, HashBytes("EVIL")) + "bye\n");
  CHECK(out == "error data_loss " + std::string("") + dest.string() + ":%20hash%20mismatch%20after%20receiving:%20got%20" +
                   HashBytes("evil") + ",%20expected%20" + HashBytes("EVIL") +
                   ";%20the%20partial%20file%20was%20discarded\n");
  CHECK(*ReadFile(dest) == "good");
  CHECK_FALSE(fs::exists(s.Path(".a.bin.clusterd-partial")));
}

TEST_CASE("Bytes of a cut transfer stay in the partial file, and the next session resumes from them") {
  Session s("resume");
  std::string data(300000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  const std::string hash = HashBytes(data);
  const fs::path dest = s.Path("big.bin");
  // The stream ends after 120000 of 300000 bytes: the client went away.
  std::string cut = Put(dest, data, 0, hash);
  cut.resize(cut.size() - 180000);
  s.Run(cut);
  CHECK(fs::file_size(s.Path(".big.bin.clusterd-partial")) == 120000);
  CHECK_FALSE(fs::exists(dest));

  std::string out = s.Run("check " + dest.string() + " 300000 " + hash + "\n" + Put(dest, data, 120000, hash) + "bye\n");
  CHECK(out == "ok partial 120000 " + HashBytes(data.substr(0, 120000)) + "\nok verified\n");
  CHECK(*ReadFile(dest) == data);
}

TEST_CASE("Free space is reported for the nearest existing folder") {
  Session s("free");
  std::string out = s.Run("free " + s.Path("not/yet/there").string() + "\nbye\n");
  CHECK(out.rfind("ok ", 0) == 0);
  CHECK(std::count(out.begin(), out.end(), ' ') == 2);
}

TEST_CASE("Relative paths and '..' are refused") {
  Session s("paths");
  std::string out = s.Run("check models/a 1 " + HashBytes("a") + "\ncheck /srv/../etc/passwd 1 " + HashBytes("a") +
                          "\nbye\n");
  CHECK(out == "error invalid_argument models/a:%20not%20an%20absolute%20path\n"
               "error invalid_argument /srv/../etc/passwd:%20'..'%20is%20not%20allowed%20in%20a%20path\n");
}
