// `infer-engine serve` with its default limits, as an operator starts it,
// under `ulimit -n 1024`, while 1,000 idle connections are opened at once
// (docs/server.md, "Limits"). Without a connection cap the server ran out of
// descriptors ("accept failed: Too many open files") and every new client
// hung; with it, connections beyond the cap get 503 at once and the server
// serves again as soon as a slot frees.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/subprocess.h"
#include "http_test_client.h"
#include "skip.h"
#include "temp_dir.h"

namespace fs = std::filesystem;
using namespace engine::server::testing;

namespace {

constexpr int kIdleConnections = 1000;
constexpr int kDefaultConnectionLimit = 512;  // ServerOptions::max_connections

int ConnectLoopback(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  return fd;
}

// What the server sent on `fd` so far, without waiting; `closed` when it
// also closed the connection.
std::string ReadNow(int fd, bool* closed) {
  std::string out;
  char buf[4096];
  *closed = false;
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    *closed = n == 0;
    return out;
  }
}

std::string Slurp(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("infer-engine serve survives 1,000 idle connections under ulimit -n 1024 with its default limits") {
  const fs::path model = fs::path(CLUSTER_SOURCE_DIR) / "models/demo";
  if (!fs::exists(model / "model.safetensors")) cluster::testing::SkipTest("the demo model is missing at " + model.string());
  // This process holds the 1,000 client sockets: it needs more than 1024.
  rlimit files{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &files) == 0);
  files.rlim_cur = std::min<rlim_t>(files.rlim_max, 4096);
  ::setrlimit(RLIMIT_NOFILE, &files);
  if (files.rlim_cur < kIdleConnections + 100) {
    cluster::testing::SkipTest("this process may open only " + std::to_string(files.rlim_cur) +
                               " files (hard limit); the test needs 1100");
  }

  cluster::testing::TempDir dir("flood");
  const fs::path log = dir.path / "serve.log";
  auto server = cluster::Subprocess::Start(
      {"bash", "-c", "ulimit -n 1024 && exec \"$0\" serve --model \"$1\" --port 0 2>\"$2\"", INFER_ENGINE_BIN,
       model.string(), log.string()});
  REQUIRE(server.ok());
  std::string line;
  for (char c; line.find('\n') == std::string::npos && ::read(server->stdout_fd(), &c, 1) == 1;) line += c;
  const auto at = line.find("http://127.0.0.1:");
  REQUIRE(at != std::string::npos);
  const auto port = static_cast<std::uint16_t>(std::stoi(line.substr(at + 17)));

  std::vector<int> sockets;
  for (int i = 0; i < kIdleConnections; ++i) sockets.push_back(ConnectLoopback(port));
  std::this_thread::sleep_for(std::chrono::seconds(1));

  int refused = 0, held = 0;
  std::vector<int> held_sockets;
  for (int fd : sockets) {
    bool closed = false;
    const std::string got = ReadNow(fd, &closed);
    if (got.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0 && closed) {
      ++refused;
    } else if (got.empty() && !closed) {
      ++held;
      held_sockets.push_back(fd);
    }
  }
  CHECK(held == kDefaultConnectionLimit);
  CHECK(refused == kIdleConnections - kDefaultConnectionLimit);

  // While every slot is held, a new client is told so at once (never left hanging).
  const auto start = std::chrono::steady_clock::now();
  TestConnection late(port);
  CHECK(late.ReadAll().rfind("HTTP/1.1 503 Service Unavailable\r\n", 0) == 0);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));

  // Free a few slots: the server serves again.
  for (int i = 0; i < 10 && i < held; ++i) {
    const int fd = held_sockets[static_cast<std::size_t>(i)];
    std::erase(sockets, fd);
    ::close(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(Send(port, "GET", "/health").status == 200);

  for (int fd : sockets) ::close(fd);
  server->Kill(SIGTERM);
  CHECK(server->Wait() == 0);
  const std::string errors = Slurp(log);
  CHECK(errors.find("Too many open files") == std::string::npos);
  CHECK(errors.find("accept failed") == std::string::npos);
}
