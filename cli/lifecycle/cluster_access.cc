#include "cli/lifecycle/cluster_access.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "cli/transfer/push_run.h"
#include "common/content_hash.h"
#include "common/files.h"
#include "common/logging.h"
#include "control/start_bundle.h"

#ifndef CLUSTERCTL_VERSION
#define CLUSTERCTL_VERSION "0.1.0"
#endif

namespace cluster::cli {
namespace fs = std::filesystem;
using inventory::Host;

namespace {

bool IsIpv4(const std::string& address) {
  in_addr a{};
  return ::inet_pton(AF_INET, address.c_str(), &a) == 1;
}

// The agent certificate of `host`, issued once and kept in the operator's
// state folder, so that a second `up` hands the agent the same credentials
// (and does not restart it). Issued again when the host's address changed,
// or when it lacks the agent role (issued before roles existed).
StatusOr<control::Credentials> AgentCredentials(const control::ClusterCa& ca, const fs::path& state_dir,
                                                const Host& host) {
  std::vector<std::string> addresses = {"127.0.0.1"};
  if (IsIpv4(host.address) && host.address != "127.0.0.1") addresses.insert(addresses.begin(), host.address);
  std::string wanted;
  for (const auto& a : addresses) wanted += a + "\n";
  const fs::path dir = state_dir / "hosts";
  auto cert = ReadFile(dir / (host.name + ".crt"));
  auto key = ReadFile(dir / (host.name + ".key"));
  auto have = ReadFile(dir / (host.name + ".addresses"));
  if (cert.ok() && key.ok() && have.ok() && *have == wanted &&
      control::RoleOfCertificate(*cert) == control::PeerRole::kAgent) {
    return control::Credentials{ca.cert_pem(), *cert, *key};
  }
  CLUSTER_ASSIGN_OR_RETURN(control::Credentials issued, ca.IssueAgent(host.name, addresses));
  std::error_code ec;
  fs::create_directories(dir, ec);
  CLUSTER_RETURN_IF_ERROR(WriteFileAtomically(dir / (host.name + ".key"), issued.key_pem, 0600));
  CLUSTER_RETURN_IF_ERROR(WriteFileAtomically(dir / (host.name + ".crt"), issued.cert_pem, 0644));
  CLUSTER_RETURN_IF_ERROR(WriteFileAtomically(dir / (host.name + ".addresses"), wanted, 0644));
  return issued;
}

// The engine binary beside clusterctl (installed) or in the build tree.
StatusOr<fs::path> FindEngineBinary() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> candidates;
  if (!ec) {
    candidates.push_back(self.parent_path() / "infer-engine");
    candidates.push_back(self.parent_path().parent_path() / "engine/tools/infer-engine");
  }
  for (const auto& c : candidates) {
    if (::access(c.c_str(), X_OK) == 0) return c;
  }
  return NotFoundError("cannot find the infer-engine binary beside clusterctl; install it with clusterctl");
}

// Copies `local` beside the host's agent (in the agent's folder) unless the
// same file is there, verified by hash like the agent itself.
Status InstallBesideAgent(Transport& transport, const std::string& agent_command, const fs::path& local,
                          const std::string& hash, const std::string& name) {
  // agent_command is a quoted path ending in /clusterd"; its folder:
  const std::string dir = fmt::format("\"$(dirname {})\"", agent_command);
  const std::string target = fmt::format("{}/{}", dir, name);
  CLUSTER_ASSIGN_OR_RETURN(CommandResult have,
                           transport.Run(fmt::format("[ -x {0} ] && {1} hash {0}", target, agent_command)));
  if (have.exit_code == 0 && TrimOutput(have.out) == hash) return Status::Ok();
  CLUSTER_ASSIGN_OR_RETURN(std::string bytes, ReadFile(local));
  const std::string install = fmt::format(
      "set -e; umask 077; t={0}/{1}.tmp.$$; cat > \"$t\"; chmod 0700 \"$t\"; got=$({2} hash \"$t\"); "
      "if [ \"$got\" != {3} ]; then rm -f \"$t\"; echo \"hash mismatch: got $got\" >&2; exit 3; fi; mv -f \"$t\" {4}",
      dir, name, agent_command, hash, target);
  CLUSTER_ASSIGN_OR_RETURN(CommandResult copied, transport.Run(install, bytes));
  if (copied.exit_code != 0)
    return FailedPreconditionError(fmt::format("cannot install {} on the host: {}", name, TrimOutput(copied.err)));
  return Status::Ok();
}

}  // namespace

fs::path OperatorStateDir(const std::string& cluster) {
  if (const char* dir = std::getenv("CLUSTERCTL_STATE_DIR"); dir && *dir) return fs::path(dir) / cluster;
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg) return fs::path(xdg) / "clusterctl" / cluster;
  return ResolvePath("~/.local/state/clusterctl", "/") / cluster;
}

void ForEachHost(std::size_t count, const std::function<void(std::size_t)>& work) {
  std::vector<std::thread> threads;
  threads.reserve(count);
  for (std::size_t i = 0; i < count; ++i) threads.emplace_back([&work, i] { work(i); });
  for (auto& t : threads) t.join();
}

StatusOr<std::unique_ptr<ClusterAccess>> ClusterAccess::Open(const inventory::Inventory& inventory,
                                                             const ClusterAccessOptions& options) {
  std::unique_ptr<ClusterAccess> access(new ClusterAccess(inventory, options));
  access->state_dir_ = OperatorStateDir(inventory.cluster_name);
  CLUSTER_ASSIGN_OR_RETURN(control::ClusterCa ca, control::ClusterCa::LoadOrCreate(access->state_dir_, inventory.cluster_name));
  access->ca_ = std::move(ca);
  CLUSTER_ASSIGN_OR_RETURN(access->operator_, control::LoadOrIssueOperator(*access->ca_, access->state_dir_));
  access->known_hosts_ = std::make_unique<KnownHostsFiles>(inventory, options.accept_new_host_keys);
  return access;
}

ClusterAccess::ClusterAccess(const inventory::Inventory& inventory, ClusterAccessOptions options)
    : inventory_(inventory), options_(std::move(options)) {}

ClusterAccess::~ClusterAccess() = default;

const ClusterAccess::LocalPrograms& ClusterAccess::Programs() const {
  // Hashed once per command, not once per host.
  std::call_once(programs_once_, [this] {
    programs_ = std::make_unique<LocalPrograms>(LocalPrograms{
        FindLocalAgent(options_.agent_path, options_.bundle_path, CLUSTERCTL_VERSION), FindEngineBinary(), ""});
    if (programs_->engine.ok()) {
      auto hash = HashFile(*programs_->engine);
      if (hash.ok()) programs_->engine_hash = *hash;
      else programs_->engine = hash.status();
    }
  });
  return *programs_;
}

std::string ClusterAccess::AgentAddress(const Host& host) const {
  if (IsIpv4(host.address)) return host.address;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  std::string address = host.address;
  if (::getaddrinfo(host.address.c_str(), nullptr, &hints, &found) == 0 && found) {
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(found->ai_addr)->sin_addr, text, sizeof(text));
    address = text;
  }
  if (found) ::freeaddrinfo(found);
  return address;
}

StatusOr<std::unique_ptr<control::ControlClient>> ClusterAccess::Connect(const Host& host) const {
  auto client = control::ControlClient::Connect(AgentAddress(host), agent_port(), operator_, options_.connect_timeout);
  if (!client.ok()) {
    return Status(client.status().code(),
                  fmt::format("{}: agent not reachable: {}", HostLabel(host), client.status().message()));
  }
  return client;
}

StatusOr<std::unique_ptr<Transport>> ClusterAccess::OpenTransport(const Host& host) const {
  return ConnectHost(host, known_hosts_->For(host));  // its errors name the host already
}

StatusOr<std::string> ClusterAccess::StartAgent(const Host& host, bool with_engine, bool* ssh_failed) const {
  if (ssh_failed) *ssh_failed = false;
  auto run = [&]() -> StatusOr<std::string> {
    const LocalPrograms& programs = Programs();
    CLUSTER_RETURN_IF_ERROR(programs.agent.status());
    auto opened = OpenTransport(host);
    if (!opened.ok()) {
      if (ssh_failed) *ssh_failed = true;
      return opened.status();
    }
    std::unique_ptr<Transport> transport = std::move(*opened);
    CLUSTER_ASSIGN_OR_RETURN(std::string agent_command, EnsureAgent(*transport, *programs.agent));
    if (with_engine && programs.agent->bundle.empty() && !transport->IsLocal()) {
      CLUSTER_RETURN_IF_ERROR(programs.engine.status());
      CLUSTER_RETURN_IF_ERROR(InstallBesideAgent(*transport, agent_command, *programs.engine, programs.engine_hash,
                                                 "infer-engine"));
    }
    control::StartBundle bundle;
    bundle.config.cluster = inventory_.cluster_name;
    bundle.config.host = host.name;
    bundle.config.listen_address = AgentAddress(host);
    bundle.config.port = agent_port();
    bundle.config.start_at_boot = inventory_.runtime.restart.policy == inventory::RestartPolicyKind::kAlways;
    for (const Host& peer : inventory_.hosts) {
      if (&peer != &host) bundle.config.peers.push_back({peer.name, AgentAddress(peer), agent_port()});
    }
    CLUSTER_ASSIGN_OR_RETURN(bundle.credentials, AgentCredentials(*ca_, state_dir_, host));
    if (inventory_.runtime.api_key_file) {
      CLUSTER_ASSIGN_OR_RETURN(std::string key, ReadFile(*inventory_.runtime.api_key_file));
      bundle.api_key = TrimOutput(std::move(key));
    }
    CLUSTER_ASSIGN_OR_RETURN(CommandResult started,
                             transport->Run(agent_command + " start", control::BundleToJson(bundle)));
    if (started.exit_code != 0) {
      return UnavailableError(fmt::format("the agent did not start: {}", TrimOutput(started.err.empty() ? started.out : started.err)));
    }
    std::string outcome;
    try {
      outcome = nlohmann::json::parse(started.out).at("outcome").get<std::string>();
    } catch (const nlohmann::json::exception& e) {
      return InternalError(fmt::format("unexpected answer from `clusterd start`: {}", TrimOutput(started.out)));
    }
    auto pruned = PruneOtherAgents(*transport, *programs.agent);
    if (!pruned.ok()) LOG_WARNING("{}: old agent installs not removed: {}", host.name, pruned.status().message());
    else if (!pruned->empty()) LOG_INFO("{}: removed the old agent installs {}", host.name, fmt::join(*pruned, ", "));
    return outcome;
  };
  auto outcome = run();
  if (!outcome.ok() && outcome.status().message().find(host.name) == std::string::npos)
    return outcome.status().WithContext(HostLabel(host));
  return outcome;
}

StatusOr<ClusterAccess::SshStop> ClusterAccess::StopOverSsh(const Host& host, bool purge) const {
  auto run = [&]() -> StatusOr<SshStop> {
    const LocalPrograms& programs = Programs();
    CLUSTER_RETURN_IF_ERROR(programs.agent.status());
    CLUSTER_ASSIGN_OR_RETURN(std::unique_ptr<Transport> transport, OpenTransport(host));
    CLUSTER_ASSIGN_OR_RETURN(std::string agent_command, EnsureAgent(*transport, *programs.agent));
    CLUSTER_ASSIGN_OR_RETURN(
        CommandResult r,
        transport->Run(fmt::format("{} stop --cluster {}{}", agent_command, inventory_.cluster_name, purge ? " --purge" : "")));
    SshStop out;
    try {
      auto j = nlohmann::json::parse(r.out);
      out.stopped = j.at("stopped").get<std::vector<std::string>>();
      out.left = j.at("left").get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception&) {
      return UnavailableError(fmt::format("`clusterd stop` failed: {}", TrimOutput(r.err.empty() ? r.out : r.err)));
    }
    return out;
  };
  auto out = run();
  if (!out.ok()) return out.status().WithContext(HostLabel(host));
  return out;
}

}  // namespace cluster::cli
