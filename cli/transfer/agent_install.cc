#include "cli/transfer/agent_install.h"

#include <unistd.h>

#include <cstdlib>
#include <vector>

#include <fmt/format.h>

#include "common/content_hash.h"
#include "common/files.h"

namespace cluster::cli {
namespace fs = std::filesystem;

StatusOr<LocalAgent> FindLocalAgent(const std::string& explicit_path, const std::string& version) {
  std::vector<fs::path> candidates;
  if (!explicit_path.empty()) {
    candidates.push_back(explicit_path);
  } else if (const char* env = std::getenv("CLUSTERCTL_AGENT"); env && *env) {
    candidates.push_back(env);
  } else {
    std::error_code ec;
    fs::path self = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
      candidates.push_back(self.parent_path() / "clusterd");
      candidates.push_back(self.parent_path().parent_path() / "agent" / "clusterd");
    }
  }
  for (const auto& c : candidates) {
    if (::access(c.c_str(), X_OK) != 0) continue;
    CLUSTER_ASSIGN_OR_RETURN(std::string hash, HashFile(c));
    return LocalAgent{c, hash, version};
  }
  std::string tried;
  for (const auto& c : candidates) tried += (tried.empty() ? "" : ", ") + c.string();
  return NotFoundError(fmt::format("cannot find the clusterd binary (tried {}); install clusterd beside clusterctl "
                                   "or pass --agent PATH", tried));
}

StatusOr<std::string> EnsureAgent(Transport& transport, const LocalAgent& agent) {
  if (transport.IsLocal()) return "'" + agent.path.string() + "'";
  const std::string dir = fmt::format("\"$HOME/.cache/clusterd/{}-{}\"", agent.version, agent.hash.substr(0, 16));
  const std::string bin = fmt::format("\"$HOME/.cache/clusterd/{}-{}/clusterd\"", agent.version, agent.hash.substr(0, 16));

  CLUSTER_ASSIGN_OR_RETURN(CommandResult have, transport.Run(fmt::format("[ -x {0} ] && {0} hash {0}", bin)));
  if (have.exit_code == 0 && TrimOutput(have.out) == agent.hash) return bin;

  CLUSTER_ASSIGN_OR_RETURN(std::string bytes, ReadFile(agent.path));
  // Copy to a temporary name, check the hash the copy computes of itself, then rename.
  const std::string install = fmt::format(
      "set -e; umask 077; mkdir -p {0}; t={0}/clusterd.tmp.$$; cat > \"$t\"; chmod 0700 \"$t\"; "
      "got=$(\"$t\" hash \"$t\") || {{ rm -f \"$t\"; echo 'the copied clusterd does not run on this host' >&2; exit 3; }}; "
      "if [ \"$got\" != {2} ]; then rm -f \"$t\"; echo \"hash mismatch: got $got\" >&2; exit 3; fi; "
      "mv -f \"$t\" {1}",
      dir, bin, agent.hash);
  CLUSTER_ASSIGN_OR_RETURN(CommandResult copied, transport.Run(install, bytes));
  if (copied.exit_code != 0) {
    return FailedPreconditionError(fmt::format("cannot install clusterd on the host: {} (exit {})",
                                               TrimOutput(copied.err), copied.exit_code));
  }
  return bin;
}

}  // namespace cluster::cli
