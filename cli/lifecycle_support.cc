#include "cli/lifecycle_support.h"

#include <iostream>

#include "cli/diagnostics_output.h"

namespace cluster::cli {

void AddLifecycleFlags(CLI::App* cmd, LifecycleFlags& flags) {
  AddInventoryOption(cmd, flags.file);
  cmd->add_flag("--accept-new-host-keys", flags.access.accept_new_host_keys,
                "Record the keys of hosts not yet in known_hosts (a changed key is always refused)");
  cmd->add_option("--agent", flags.access.agent_path, "The clusterd binary to install (default: beside clusterctl)")
      ->type_name("PATH");
  cmd->add_option("--bundle", flags.access.bundle_path,
                  "The host bundle to install (default: the one in share/clusterctl/bundles beside clusterctl)")
      ->type_name("FILE");
}

std::variant<LoadedCluster, int> OpenCluster(const LifecycleFlags& flags, const GlobalOptions& global) {
  auto file = InventoryFile(flags.file);
  if (!file.ok()) return ReportError(file.status(), global);
  inventory::LoadOptions options;
  options.require_artifacts = false;
  LoadedCluster cluster{*file, std::make_unique<inventory::LoadResult>(inventory::LoadInventory(*file, options)),
                        nullptr};
  if (!cluster.loaded->ok()) {
    if (global.json) {
      PrintJson(LoadResultJson(*file, *cluster.loaded));
    } else {
      PrintDiagnostics(*cluster.loaded);
      std::cerr << *file << ": invalid; fix the inventory (clusterctl validate)\n";
    }
    return kExitUsageError;
  }
  auto access = ClusterAccess::Open(*cluster.loaded->inventory, flags.access);
  if (!access.ok()) return ReportError(access.status(), global);
  cluster.access = std::move(*access);
  return cluster;
}

}  // namespace cluster::cli
