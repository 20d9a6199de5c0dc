// The host-to-host hop of a chain relay, against a real `clusterd receive`,
// in a private network namespace of this test process (so 127.0.0.1 and
// 127.0.10.5 are its own, isolated loopback addresses).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "agent/stream_mac.h"
#include "common/content_hash.h"
#include "common/files.h"
#include "common/subprocess.h"
#include "skip.h"

using namespace cluster;
namespace fs = std::filesystem;

namespace {

// Moves this process into a fresh network namespace with lo up and 127.0.10.5 on it.
void PrivateNetwork() {
  if (::geteuid() != 0) testing::SkipTest("not root (a private network namespace needs CAP_SYS_ADMIN)");
  if (::unshare(CLONE_NEWNET) != 0) testing::SkipTest("unshare(CLONE_NEWNET) failed");
  REQUIRE(RunProcess({"ip", "link", "set", "lo", "up"})->exit_code == 0);
  REQUIRE(RunProcess({"ip", "addr", "add", "127.0.10.5/32", "dev", "lo"})->exit_code == 0);
}

std::string ReadLine(int fd) {
  std::string line;
  char c;
  while (::read(fd, &c, 1) == 1 && c != '\n') line += c;
  return line;
}

// Connects to 127.0.0.1:port from `from`; -1 when refused.
int ConnectFrom(const std::string& from, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, from.c_str(), &local.sin_addr);
  ::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

struct Hop {
  fs::path home = fs::temp_directory_path() / ("relay_hop_test_" + std::to_string(::getpid()));
  std::optional<Subprocess> receiver;
  int port = 0;
  const std::string token = std::string(64, 'a');
  const std::string data = std::string(200000, 'd');

  Hop() {
    fs::remove_all(home);
    fs::create_directories(home);
    receiver.emplace(*Subprocess::Start({"env", "HOME=" + home.string(), CLUSTERD_BIN, "receive"}));
    const std::string request = "relay-accept " + home.string() + " f.bin " + std::to_string(data.size()) +
                                " " + HashBytes(data) + " 0 0 127.0.10.5 127.0.0.1 " + token + "\n";
    REQUIRE(WriteAll(receiver->stdin_fd(), request.data(), request.size()));
    const std::string reply = ReadLine(receiver->stdout_fd());
    REQUIRE(reply.rfind("ok listening ", 0) == 0);
    port = std::stoi(reply.substr(13));
  }
  ~Hop() { fs::remove_all(home); }
  // Sends token, bytes and tag from 127.0.10.5; the receiver's reply.
  std::string Send(const std::string& tag) {
    int fd = ConnectFrom("127.0.10.5", port);
    REQUIRE(fd >= 0);
    const std::string stream = token + "\n" + data + tag;
    REQUIRE(WriteAll(fd, stream.data(), stream.size()));
    const std::string reply = ReadLine(receiver->stdout_fd());
    ::close(fd);
    return reply;
  }
};

}  // namespace

TEST_CASE("A relay hop from an address outside the cluster is refused, and the listener closes after one peer") {
  PrivateNetwork();
  Hop hop;
  // 127.0.0.1 is not in the hop's list of cluster addresses: closed unread.
  int stranger = ConnectFrom("127.0.0.1", hop.port);
  REQUIRE(stranger >= 0);
  char c;
  CHECK(::read(stranger, &c, 1) == 0);
  ::close(stranger);

  agent::StreamMac mac(hop.token);
  mac.Update(hop.data.data(), hop.data.size());
  CHECK(hop.Send(mac.Finish()) == "ok verified");
  CHECK(*ReadFile(hop.home / "f.bin") == hop.data);
  CHECK(ConnectFrom("127.0.10.5", hop.port) == -1);  // nothing left listening
}

TEST_CASE("Relayed bytes with a wrong HMAC tag are refused and never take the real name") {
  PrivateNetwork();
  Hop hop;
  const std::string reply = hop.Send(std::string(agent::StreamMac::kTagSize, 'x'));
  CHECK(reply == "error data_loss " + (hop.home / "f.bin").string() +
                     ":%20the%20relayed%20bytes%20failed%20authentication%20(HMAC);%20the%20partial%20file%20was%20"
                     "discarded");
  CHECK_FALSE(fs::exists(hop.home / "f.bin"));
  CHECK_FALSE(fs::exists(hop.home / ".f.bin.clusterd-partial"));
}
