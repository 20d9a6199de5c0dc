#include "cli/lifecycle/deployment_record.h"

#include <nlohmann/json.hpp>

#include "common/content_hash.h"
#include "common/files.h"

#ifndef CLUSTERCTL_VERSION
#define CLUSTERCTL_VERSION "0.1.0"
#endif

namespace cluster::cli {
namespace fs = std::filesystem;

std::optional<DeploymentRecord> LoadDeploymentRecord(const fs::path& state_dir) {
  auto text = ReadFile(state_dir / "deployment.json");
  if (!text.ok()) return std::nullopt;
  try {
    auto j = nlohmann::json::parse(*text);
    return DeploymentRecord{j.at("deployment"), j.at("fingerprint"), j.at("started_unix_ms")};
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

Status SaveDeploymentRecord(const fs::path& state_dir, const DeploymentRecord& r) {
  nlohmann::json j = {{"deployment", r.id}, {"fingerprint", r.fingerprint}, {"started_unix_ms", r.started_unix_ms}};
  return WriteFileAtomically(state_dir / "deployment.json", j.dump(2) + "\n", 0644);
}

void ForgetDeploymentRecord(const fs::path& state_dir) {
  std::error_code ec;
  fs::remove(state_dir / "deployment.json", ec);
}

std::string InventoryFingerprint(const inventory::Inventory& inventory) {
  auto text = ReadFile(inventory.file);
  return HashBytes(std::string(CLUSTERCTL_VERSION) + "\n" + (text.ok() ? *text : inventory.file.string()));
}

}  // namespace cluster::cli
