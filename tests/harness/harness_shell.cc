// harness-shell HOSTS SCRIPT [ARGS...]: runs `bash SCRIPT ARGS...` as the
// operator of a TestCluster of HOSTS hosts (network namespaces with real
// sshd), then tears the cluster down. For transcripts of real runs without
// real servers (scripts/guide-transcript). The script sees, besides
// HOME (the operator's):
//   HARNESS_DIR            the cluster's folder (removed at the end)
//   HARNESS_IDENTITY       the operator's SSH key
//   HARNESS_KNOWN_HOSTS    known_hosts with every host's key
//   HARNESS_HOSTS          "h1=127.0.10.2 h2=127.0.10.3 ..."
// Exit code: the script's; 4 when the harness cannot run here (the reason on stderr).
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "harness/test_cluster.h"

int main(int argc, char** argv) {
  using cluster::harness::TestCluster;
  if (argc < 3) {
    std::cerr << "usage: harness-shell HOSTS SCRIPT [ARGS...]\n";
    return 2;
  }
  if (auto why = TestCluster::WhyUnavailable()) {
    std::cerr << "harness-shell: cannot run here: " << *why << "\n";
    return 4;
  }
  cluster::harness::TestClusterOptions options;
  options.hosts = std::atoi(argv[1]);
  if (options.hosts < 1 || options.hosts > 8) {
    std::cerr << "harness-shell: HOSTS must be 1 to 8\n";
    return 2;
  }
  auto c = TestCluster::Create(options);
  if (!c.ok()) {
    std::cerr << "harness-shell: " << c.status().message() << "\n";
    return 1;
  }
  std::string hosts;
  for (int i = 0; i < (*c)->host_count(); ++i)
    hosts += fmt::format("{}{}={}", i ? " " : "", (*c)->HostName(i), (*c)->HostAddress(i));
  std::vector<std::string> run = {"env", "HARNESS_DIR=" + (*c)->dir().string(),
                                  "HARNESS_IDENTITY=" + (*c)->IdentityFile().string(),
                                  "HARNESS_KNOWN_HOSTS=" + (*c)->KnownHostsFile().string(),
                                  "HARNESS_HOSTS=" + hosts, "bash"};
  for (int i = 2; i < argc; ++i) run.push_back(argv[i]);
  auto r = (*c)->RunOnOperator(run);
  if (!r.ok()) {
    std::cerr << "harness-shell: " << r.status().message() << "\n";
    return 1;
  }
  std::cout << r->out << std::flush;
  std::cerr << r->err << std::flush;
  return r->exit_code;
}
