// The operator's record of the last `up` (STATE_DIR/deployment.json): its id,
// and a fingerprint of the inventory it was started from, so that a second
// `up` of an unchanged, healthy cluster does nothing, and `down` and `status`
// know which deployment the agents should be running.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "common/inventory/inventory.h"
#include "common/status.h"

namespace cluster::cli {

struct DeploymentRecord {
  std::string id;
  std::string fingerprint;
  std::int64_t started_unix_ms = 0;
};

std::optional<DeploymentRecord> LoadDeploymentRecord(const std::filesystem::path& state_dir);
Status SaveDeploymentRecord(const std::filesystem::path& state_dir, const DeploymentRecord& record);
void ForgetDeploymentRecord(const std::filesystem::path& state_dir);

// The fingerprint of what `up` would start from `inventory` (its file's
// bytes and this clusterctl's version).
std::string InventoryFingerprint(const inventory::Inventory& inventory);

}  // namespace cluster::cli
