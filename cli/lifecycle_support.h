// Shared by the lifecycle commands (check, up, status, logs, down): loading
// the inventory the way they need it and opening access to the agents.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <variant>

#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "cli/lifecycle/cluster_access.h"
#include "common/inventory/loader.h"

namespace cluster::cli {

struct LifecycleFlags {
  std::string file;
  ClusterAccessOptions access;
};

// Binds -f/--file (optional: InventoryFile), --accept-new-host-keys and --agent on `cmd`.
void AddLifecycleFlags(CLI::App* cmd, LifecycleFlags& flags);

struct LoadedCluster {
  std::string file;                                // the inventory file, as given or found (InventoryFile)
  std::unique_ptr<inventory::LoadResult> loaded;  // owns the inventory; access refers to it
  std::unique_ptr<ClusterAccess> access;
  const inventory::Inventory& inventory() const { return *loaded->inventory; }
};

// Loads the inventory (artifacts need not exist on this machine: the hosts
// have them) and opens the cluster's credentials. On failure prints the
// diagnostics or the error (JSON with --json) and returns the exit code.
std::variant<LoadedCluster, int> OpenCluster(const LifecycleFlags& flags, const GlobalOptions& global);

}  // namespace cluster::cli
