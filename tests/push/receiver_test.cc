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

// "put ROOT FILE SIZE HASH OFFSET" and the bytes from OFFSET on.
std::string Put(const fs::path& root, const std::string& file, const std::string& bytes, size_t offset,
                const std::string& hash) {
  return "put " + root.string() + " " + file + " " + std::to_string(bytes.size()) + " " + hash + " " +
         std::to_string(offset) + "\n" + bytes.substr(offset);
}

std::string Check(const fs::path& root, const std::string& file, const std::string& bytes) {
  return "check " + root.string() + " " + file + " " + std::to_string(bytes.size()) + " " + HashBytes(bytes) + "\n";
}

}  // namespace

TEST_CASE("The receiver greets, checks, stores a verified file and then reports it as had") {
  Session s("basic");
  const std::string data(100000, 'x');
  const std::string hash = HashBytes(data);
  const fs::path root = s.Path("models/m");
  std::string out = s.Run("hello 2\n" + Check(root, "sub/a.bin", data) + Put(root, "sub/a.bin", data, 0, hash) +
                          Check(root, "sub/a.bin", data) + "bye\n");
  CHECK(out == "ok 0.1.0\nok missing\nok verified\nok have\n");
  CHECK(*ReadFile(root / "sub/a.bin") == data);
}

TEST_CASE("A file whose bytes do not match the hash never takes the real name") {
  // Given an existing good file and a put whose bytes are wrong, the old file
  // stays, the bad bytes are discarded, and the error says why.
  Session s("mismatch");
  const fs::path dest = s.Path("a.bin");
  REQUIRE(WriteFileAtomically(dest, "good").ok());
  std::string out = s.Run(Put(s.home, "a.bin", "evil", 0, HashBytes("EVIL")) + "bye\n");
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
  std::string cut = Put(s.home, "big.bin", data, 0, hash);
  cut.resize(cut.size() - 180000);
  s.Run(cut);
  CHECK(fs::file_size(s.Path(".big.bin.clusterd-partial")) == 120000);
  CHECK_FALSE(fs::exists(dest));

  std::string out = s.Run(Check(s.home, "big.bin", data) + Put(s.home, "big.bin", data, 120000, hash) + "bye\n");
  CHECK(out == "ok partial 120000 " + HashBytes(data.substr(0, 120000)) + "\nok verified\n");
  CHECK(*ReadFile(dest) == data);
}

TEST_CASE("A file of several write-behind windows is stored whole, also when resumed between windows") {
  // The receiver starts the disk writes of each 8 MiB window while bytes
  // arrive (agent/write_behind.h); whatever the windows, the stored file is
  // the bytes sent, fresh and resumed from an offset inside a window.
  Session s("windows");
  std::string data(20 * 1024 * 1024 + 4321, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 131) >> 3);
  const std::string hash = HashBytes(data);
  CHECK(s.Run(Put(s.home, "fresh.bin", data, 0, hash) + "bye\n") == "ok verified\n");
  CHECK(*ReadFile(s.Path("fresh.bin")) == data);

  const size_t cut_at = 9 * 1024 * 1024 + 123;
  std::string cut = Put(s.home, "resumed.bin", data, 0, hash);
  cut.resize(cut.size() - (data.size() - cut_at));
  s.Run(cut);
  REQUIRE(fs::file_size(s.Path(".resumed.bin.clusterd-partial")) == cut_at);
  CHECK(s.Run(Put(s.home, "resumed.bin", data, cut_at, hash) + "bye\n") == "ok verified\n");
  CHECK(*ReadFile(s.Path("resumed.bin")) == data);
}

TEST_CASE("Free space is reported for the nearest existing folder") {
  Session s("free");
  std::string out = s.Run("free " + s.Path("not/yet/there").string() + "\nbye\n");
  CHECK(out.rfind("ok ", 0) == 0);
  CHECK(std::count(out.begin(), out.end(), ' ') == 2);
}

TEST_CASE("Relative roots, '..' and files that leave their folder are refused") {
  Session s("paths");
  std::string out = s.Run(Check("models", "a", "a") + Check("/srv/../etc", "passwd", "a") +
                          Check(s.home, "../etc/passwd", "a") + Check(s.home, "/etc/passwd", "a") + "bye\n");
  CHECK(out == "error invalid_argument models:%20not%20an%20absolute%20path\n"
               "error invalid_argument /srv/../etc:%20'..'%20is%20not%20allowed%20in%20a%20path\n"
               "error invalid_argument '../etc/passwd':%20empty,%20'.'%20and%20'..'%20parts%20are%20not%20allowed\n"
               "error invalid_argument '/etc/passwd':%20expected%20a%20path%20relative%20to%20the%20destination%20"
               "folder\n");
}

TEST_CASE("A link planted at the partial file's name is removed, never written through") {
  // The partial file was opened without O_NOFOLLOW/O_EXCL: a link at
  // .NAME.clusterd-partial made the receiver overwrite its target (the
  // wrong hash was noticed only afterwards).
  Session s("partial_link");
  const fs::path victim = s.Path("outside/victim");
  fs::create_directories(victim.parent_path());
  REQUIRE(WriteFileAtomically(victim, "precious").ok());
  const fs::path root = s.Path("dest");
  fs::create_directories(root);
  fs::create_symlink(victim, root / ".a.bin.clusterd-partial");
  const std::string data(5000, 'd');
  CHECK(s.Run(Put(root, "a.bin", data, 0, HashBytes(data)) + "bye\n") == "ok verified\n");
  CHECK(*ReadFile(victim) == "precious");
  CHECK(*ReadFile(root / "a.bin") == data);

  // A hard link there (to a file of another folder) is not written through either.
  fs::create_hard_link(victim, root / ".b.bin.clusterd-partial");
  CHECK(s.Run(Check(root, "b.bin", data) + Put(root, "b.bin", data, 0, HashBytes(data)) + "bye\n") ==
        "ok missing\nok verified\n");
  CHECK(*ReadFile(victim) == "precious");

  // Nor when it is offered for resuming: it is removed, and the client sends the file again.
  fs::create_hard_link(victim, root / ".c.bin.clusterd-partial");
  CHECK(s.Run(Put(root, "c.bin", data, 4, HashBytes(data)) + "bye\n") ==
        "error data_loss " + (root / ".c.bin.clusterd-partial").string() +
            ":%20the%20partial%20file%20to%20resume%20is%20not%20a%20plain%20file%20of%20this%20user;%20it%20was%20"
            "removed%20and%20the%20file%20is%20sent%20again\n");
  CHECK(*ReadFile(victim) == "precious");
  CHECK_FALSE(fs::exists(root / ".c.bin.clusterd-partial"));
}

TEST_CASE("A symbolic link to a folder inside the destination is refused, while the root may be behind a link") {
  Session s("folder_link");
  const fs::path outside = s.Path("outside");
  fs::create_directories(outside);
  const fs::path root = s.Path("dest");
  fs::create_directories(root);
  fs::create_directory_symlink(outside, root / "sub");
  const std::string data(5000, 'd');
  // The stream is consumed either way: the next request is understood.
  CHECK(s.Run(Put(root, "sub/a.bin", data, 0, HashBytes(data)) + Check(root, "b.bin", data) + "bye\n") ==
        "error invalid_argument " + (root / "sub").string() +
            ":%20is%20a%20symbolic%20link%20or%20not%20a%20folder,%20inside%20the%20destination%20" + root.string() +
            ";%20the%20receiver%20never%20writes%20through%20a%20link%20it%20did%20not%20make%20(remove%20it,%20or%20"
            "push%20to%20another%20folder)\nok missing\n");
  CHECK_FALSE(fs::exists(outside / "a.bin"));
  CHECK_FALSE(fs::exists(outside / ".a.bin.clusterd-partial"));

  // The operator's folder itself may be reached through the host's links.
  fs::create_directory_symlink(outside, s.Path("models"));
  CHECK(s.Run(Put(s.Path("models"), "m/a.bin", data, 0, HashBytes(data)) + "bye\n") == "ok verified\n");
  CHECK(*ReadFile(outside / "m/a.bin") == data);
}

TEST_CASE("A link at the file's own name is replaced by the verified file, its target untouched") {
  Session s("final_link");
  const fs::path victim = s.Path("victim");
  const std::string data(5000, 'd');
  REQUIRE(WriteFileAtomically(victim, data).ok());  // even the right bytes: a link is not "have"
  const fs::path root = s.Path("dest");
  fs::create_directories(root);
  fs::create_symlink(victim, root / "a.bin");
  CHECK(s.Run(Check(root, "a.bin", data) + Put(root, "a.bin", data, 0, HashBytes(data)) + "bye\n") ==
        "ok missing\nok verified\n");
  CHECK_FALSE(fs::is_symlink(root / "a.bin"));
  CHECK(*ReadFile(root / "a.bin") == data);
  CHECK(*ReadFile(victim) == data);
}

TEST_CASE("A request line over 64 KiB ends the session unanswered") {
  Session s("long_line");
  CHECK(s.Run("check " + std::string(70 << 10, 'x') + " a 1 h\nhello 2\nbye\n").empty());
}
