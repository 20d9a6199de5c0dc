// clusterd: the agent that runs on every host. This issue gives it the modes
// `push` needs; the cluster lifecycle (checks, supervision) comes later.
//
//   clusterd version          prints the version
//   clusterd hash FILE        prints FILE's content hash (XXH3-128, hex)
//   clusterd receive          serves the receiver protocol on stdin/stdout (docs/push.md)
//
// Exit codes: 0 ok, 1 failure, 2 usage error.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>

#include "agent/receiver.h"
#include "common/content_hash.h"
#include "common/manifest.h"

#ifndef CLUSTERD_VERSION
#define CLUSTERD_VERSION "unknown"
#endif

namespace {

constexpr const char* kUsage =
    "usage: clusterd version | clusterd hash FILE | clusterd receive\n"
    "clusterd is started by clusterctl over SSH; see docs/push.md.\n";

int Receive() {
  const char* home = std::getenv("HOME");
  cluster::HashCache cache(std::filesystem::path(home ? home : "/tmp") / ".cache/clusterd/hash-cache");
  cache.Load();
  cluster::agent::Receiver receiver(STDIN_FILENO, STDOUT_FILENO, cache);
  cluster::Status s = receiver.Serve();
  if (!s.ok()) {
    (void)cache.Save();
    std::cerr << "clusterd receive: " << s.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);  // a vanished client is an error return, not a crash
  const std::string mode = argc >= 2 ? argv[1] : "";
  if (mode == "version" && argc == 2) {
    std::cout << "clusterd " << CLUSTERD_VERSION << "\n";
    return 0;
  }
  if (mode == "hash" && argc == 3) {
    auto hash = cluster::HashFile(argv[2]);
    if (!hash.ok()) {
      std::cerr << "clusterd hash: " << hash.status().message() << "\n";
      return 1;
    }
    std::cout << *hash << "\n";
    return 0;
  }
  if (mode == "receive" && argc == 2) return Receive();
  std::cerr << kUsage;
  return 2;
}
