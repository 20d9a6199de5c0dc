// clusterd: the agent that runs on every host. Its commands are in kHelp
// below (`clusterd --help`); clusterctl runs them over SSH
// (docs/agent-protocol.md). Exit codes: 0 ok, 1 failure, 2 usage error (an
// unknown command names the closest one).
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/daemon.h"
#include "agent/receiver.h"
#include "agent/serve_loop.h"
#include "common/build_info.h"
#include "common/content_hash.h"
#include "common/files.h"
#include "common/manifest.h"
#include "common/spelling.h"
#include "runtimes/launchers.h"

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr const char* kUsage =
    "usage: clusterd version | hash FILE | receive | start | serve --state DIR | stop --cluster NAME [--purge]\n"
    "Run 'clusterd --help' for what each command does.\n";

constexpr const char* kHelp =
    "clusterd: the agent of clusterctl on every host. clusterctl copies it to each host over SSH,\n"
    "starts it and talks to it (docs/agent-protocol.md); a person rarely runs it by hand.\n"
    "\n"
    "Usage:\n"
    "  clusterd version                        print the version, commit and CUDA/NCCL versions of the build\n"
    "  clusterd hash FILE                      print FILE's content hash (XXH3-128, hex)\n"
    "  clusterd receive                        serve push's receiver protocol on stdin/stdout (docs/push.md)\n"
    "  clusterd start                          read the start bundle (JSON) on stdin, save it and start the\n"
    "                                          daemon unless the same one serves; print the outcome as JSON\n"
    "  clusterd serve --state DIR              the daemon itself, in the foreground\n"
    "  clusterd stop --cluster NAME [--purge]  stop the daemon and all it started, verify nothing is left;\n"
    "                                          print JSON {agent_was_running, stopped, left}\n"
    "  clusterd --help | --version\n"
    "\n"
    "Examples:\n"
    "  clusterd version\n"
    "  clusterd hash /srv/models/demo/model.safetensors\n"
    "  clusterd stop --cluster t4-lab --purge    # what `clusterctl down --purge` runs on a host it cannot reach\n"
    "                                            # through the agent\n"
    "\n"
    "Exit codes: 0 ok, 1 failure (stop: something is left), 2 usage error.\n";

const std::vector<std::string_view> kCommands = {"version", "hash", "receive", "start", "serve", "stop"};

int Receive() {
  const char* home = std::getenv("HOME");
  cluster::HashCache cache(fs::path(home ? home : "/tmp") / ".cache/clusterd/hash-cache");
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

fs::path Self() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path("clusterd") : self;
}

// The start bundle is a few KiB (certificates, a key, the peers): more on
// stdin is refused rather than read without bound.
constexpr std::size_t kMaxBundleBytes = 1 << 20;

int Start() {
  using namespace cluster::agent;
  std::string input;
  char buffer[65536];
  for (ssize_t n; (n = ::read(STDIN_FILENO, buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || input.size() + static_cast<std::size_t>(n) > kMaxBundleBytes) {
      std::cerr << "clusterd start: the start bundle on stdin is "
                << (n < 0 ? "unreadable" : "larger than " + std::to_string(kMaxBundleBytes) + " bytes") << "\n";
      return 2;
    }
    input.append(buffer, static_cast<std::size_t>(n));
  }
  auto bundle = cluster::control::BundleFromJson(input);
  if (!bundle.ok()) {
    std::cerr << "clusterd start: " << bundle.status().message() << "\n";
    return 2;
  }
  if (cluster::Status s = CheckClusterName(bundle->config.cluster); !s.ok()) {
    std::cerr << "clusterd start: " << s.message() << "\n";
    return 2;
  }
  const AgentConfig& config = bundle->config;
  const std::string& api_key = bundle->api_key;
  auto outcome = StartAgent(Self(), config, bundle->credentials);
  if (!outcome.ok()) {
    std::cerr << "clusterd start: " << outcome.status().message() << "\n";
    return 1;
  }
  const fs::path key = AgentStateDir(config.cluster) / "api.key";
  cluster::Status s = api_key.empty() ? cluster::Status::Ok() : cluster::WriteFileAtomically(key, api_key, 0600);
  if (api_key.empty()) {
    std::error_code ec;
    fs::remove(key, ec);
  }
  if (!s.ok()) {
    std::cerr << "clusterd start: " << s.message() << "\n";
    return 1;
  }
  const char* what = outcome->what == StartOutcome::What::kStarted   ? "started"
                     : outcome->what == StartOutcome::What::kReplaced ? "replaced"
                                                                       : "running";
  std::cout << Json{{"outcome", what}, {"pid", outcome->pid}, {"systemd", outcome->systemd},
                    {"version", cluster::GetBuildInfo().version}}.dump()
            << "\n";
  return 0;
}

int Stop(const std::string& cluster_name, bool purge) {
  auto outcome = cluster::agent::StopAgent(cluster_name, purge);
  if (!outcome.ok()) {
    std::cerr << "clusterd stop: " << outcome.status().message() << "\n";
    return 1;
  }
  std::cout << Json{{"agent_was_running", outcome->agent_was_running},
                    {"stopped", outcome->stopped},
                    {"left", outcome->left}}.dump()
            << "\n";
  return outcome->left.empty() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);  // a vanished client is an error return, not a crash
  const std::string mode = argc >= 2 ? argv[1] : "";
  const std::string arg2 = argc >= 3 ? argv[2] : "";
  if ((mode == "--help" || mode == "-h") && argc == 2) {
    std::cout << kHelp;
    return 0;
  }
  if ((mode == "version" || mode == "--version") && argc == 2) {
    std::cout << cluster::VersionLine("clusterd") << "\n";
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
  if (mode == "start" && argc == 2) return Start();
  if (mode == "serve" && argc == 4 && arg2 == "--state") {
    return cluster::agent::ServeAgent(argv[3], Self(), cluster::runtimes::BuiltinLaunchers());
  }
  if (mode == "stop" && (argc == 4 || argc == 5) && arg2 == "--cluster") {
    const bool purge = argc == 5 && std::string(argv[4]) == "--purge";
    if (argc == 5 && !purge) {
      std::cerr << kUsage;
      return 2;
    }
    return Stop(argv[3], purge);
  }
  if (auto unknown = cluster::UnknownCommandIn(argc, argv, kCommands, {})) std::cerr << "clusterd: " << *unknown << "\n";
  std::cerr << kUsage;
  return 2;
}
