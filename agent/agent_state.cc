#include "agent/agent_state.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/content_hash.h"
#include "common/files.h"

namespace cluster::agent {
namespace fs = std::filesystem;
using Json = nlohmann::json;

fs::path AgentStateDir(const std::string& cluster) {
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/root") / ".local/state/clusterd" / cluster;
}

Status CheckClusterName(const std::string& cluster) {
  if (cluster.empty() || cluster.size() > 63 || cluster.front() == '-')
    return InvalidArgumentError("cluster name '" + cluster + "' must have 1 to 63 characters and not start with '-'");
  for (char c : cluster) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return InvalidArgumentError("cluster name '" + cluster + "' may hold only a-z, 0-9 and '-'");
  }
  return Status::Ok();
}

StatusOr<AgentConfig> LoadConfig(const fs::path& dir) {
  CLUSTER_ASSIGN_OR_RETURN(std::string text, ReadFile(dir / "agent.json"));
  auto config = control::ConfigFromJson(text);
  if (!config.ok()) return InvalidArgumentError((dir / "agent.json").string() + ": " + config.status().message());
  CLUSTER_RETURN_IF_ERROR(CheckClusterName(config->cluster));
  return config;
}

StatusOr<control::Credentials> LoadCredentials(const fs::path& dir) {
  control::Credentials c;
  CLUSTER_ASSIGN_OR_RETURN(c.ca_pem, ReadFile(dir / "ca.crt"));
  CLUSTER_ASSIGN_OR_RETURN(c.cert_pem, ReadFile(dir / "agent.crt"));
  CLUSTER_ASSIGN_OR_RETURN(c.key_pem, ReadFile(dir / "agent.key"));
  return c;
}

Status SaveState(const fs::path& dir, const AgentConfig& config, const control::Credentials& credentials) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return UnavailableError(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  ::chmod(dir.c_str(), 0700);
  CLUSTER_RETURN_IF_ERROR(WriteFileAtomically(dir / "agent.key", credentials.key_pem, 0600));
  CLUSTER_RETURN_IF_ERROR(WriteFileAtomically(dir / "agent.crt", credentials.cert_pem, 0644));
  CLUSTER_RETURN_IF_ERROR(WriteFileAtomically(dir / "ca.crt", credentials.ca_pem, 0644));
  return WriteFileAtomically(dir / "agent.json", control::ConfigToJson(config), 0644);
}

StatusOr<std::string> Fingerprint(const fs::path& binary, const AgentConfig& config,
                                  const control::Credentials& credentials) {
  CLUSTER_ASSIGN_OR_RETURN(std::string binary_hash, HashFile(binary));
  return HashBytes(binary_hash + "\n" + control::ConfigToJson(config) + credentials.ca_pem + credentials.cert_pem +
                   credentials.key_pem);
}

fs::path PidFilePath(const fs::path& dir) { return dir / "clusterd.pid"; }

StatusOr<PidFile> ReadPidFile(const fs::path& dir) {
  CLUSTER_ASSIGN_OR_RETURN(std::string text, ReadFile(PidFilePath(dir)));
  std::istringstream in(text);
  PidFile p;
  if (!(in >> p.pid >> p.fingerprint) || p.pid <= 0)
    return DataLossError(PidFilePath(dir).string() + " is not 'PID FINGERPRINT'");
  return p;
}

Status WritePidFile(const fs::path& dir, const PidFile& pid) {
  return WriteFileAtomically(PidFilePath(dir), fmt::format("{} {}\n", pid.pid, pid.fingerprint), 0644);
}

bool IsAgentProcess(long pid) {
  if (pid <= 0 || ::kill(static_cast<pid_t>(pid), 0) != 0) return false;
  // A zombie or another program that got the pid later is not our agent.
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size() || line[close + 2] == 'Z') return false;
  const auto open = line.find('(');
  return open != std::string::npos && line.substr(open + 1, close - open - 1) == "clusterd";
}

}  // namespace cluster::agent

namespace cluster::agent {

Status SaveUnitGroups(const std::filesystem::path& dir, const std::vector<UnitGroup>& groups) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& g : groups) {
    j.push_back({{"unit", g.unit},
                 {"pgid", g.group.pgid},
                 {"leader_start", g.group.leader_start},
                 {"boot_id", g.group.boot_id},
                 {"marker", g.group.marker}});
  }
  // 0600: the markers are what proves a process is a unit's.
  return WriteFileAtomically(dir / "units.json", j.dump() + "\n", 0600);
}

std::vector<UnitGroup> LoadUnitGroups(const std::filesystem::path& dir) {
  std::vector<UnitGroup> groups;
  auto text = ReadFile(dir / "units.json", 1 << 20);
  if (!text.ok()) return groups;
  try {
    for (const auto& g : nlohmann::json::parse(*text)) {
      if (!g.is_object() || !g.contains("marker")) continue;  // an older agent's entry: unverifiable
      groups.push_back({g.at("unit").get<std::string>(),
                        RecordedGroup{g.at("pgid").get<long>(), g.at("leader_start").get<std::uint64_t>(),
                                      g.at("boot_id").get<std::string>(), g.at("marker").get<std::string>()}});
    }
  } catch (const nlohmann::json::exception&) {
    groups.clear();
  }
  return groups;
}

}  // namespace cluster::agent
