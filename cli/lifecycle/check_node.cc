// node, model and docker rules: room (/dev/shm, disk), the ports the runtime
// binds, the clock, the model folder on every host and its content, and for
// a runtime that runs an image (vllm-docker) the Docker daemon and the image.
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "cli/lifecycle/check_rules.h"
#include "cli/transfer/size_text.h"

namespace cluster::cli::check {
namespace {

using Verdict = CheckRow::Verdict;

constexpr std::uint64_t kGiB = std::uint64_t{1} << 30;
constexpr std::uint64_t kMinShmBytes = kGiB;
constexpr std::uint64_t kMinDiskFreeBytes = 10 * kGiB;
constexpr std::int64_t kClockWarnMs = 500;
constexpr std::int64_t kClockFailMs = 2000;

std::string InventoryFile(const inventory::Inventory& inventory) {
  return inventory.file.empty() ? "FILE" : inventory.file.string();
}

std::string PushFix(const inventory::Inventory& inventory) {
  return fmt::format("run `clusterctl push -f {}`", InventoryFile(inventory));
}

void CheckShm(const AnsweredHost& a, CheckReport& report) {
  const std::string& host = a.host->name;
  const std::uint64_t shm = a.facts->shm_bytes;
  if (const auto& wanted = a.needs->shm; wanted && shm < wanted->bytes) {
    AddRow(report, host, "node", "/dev/shm", Verdict::kFail,
           fmt::format("/dev/shm is {}, less than {} {}", SizeText(shm), wanted->key, wanted->value),
           fmt::format("grow /dev/shm on {} (mount -o remount,size={} /dev/shm), or lower {}", host, wanted->value,
                       wanted->key));
    return;
  }
  if (shm < kMinShmBytes) {
    AddRow(report, host, "node", "/dev/shm", Verdict::kWarn, fmt::format("/dev/shm is {}", SizeText(shm)),
           fmt::format("grow /dev/shm on {} to at least 1 GiB (mount -o remount,size=1g /dev/shm): NCCL and "
                       "PyTorch keep shared buffers there",
                       host));
    return;
  }
  AddRow(report, host, "node", "/dev/shm", Verdict::kPass, SizeText(shm));
}

void CheckDisk(const AnsweredHost& a, CheckReport& report) {
  const control::NodeFacts& f = *a.facts;
  const std::string detail = fmt::format("{} free at {}", SizeText(f.disk_free_bytes), f.disk_path);
  if (f.disk_free_bytes < kMinDiskFreeBytes) {
    AddRow(report, a.host->name, "node", "disk", Verdict::kWarn, detail,
           fmt::format("free space on {} at {}: logs and model updates need room", a.host->name, f.disk_path));
    return;
  }
  AddRow(report, a.host->name, "node", "disk", Verdict::kPass, detail);
}

void CheckPorts(const inventory::Inventory& inventory, const AnsweredHost& a, CheckReport& report) {
  std::vector<std::string> free;
  for (const control::PortFacts& p : a.facts->ports) {
    if (p.free) {
      free.push_back(std::to_string(p.port));
      continue;
    }
    std::string fix;
    if (p.error.find("in use") != std::string::npos) {
      fix = fmt::format("address already in use: stop what listens on {}{}", p.port,
                        p.port == inventory.runtime.port ? " or change runtime.port" : "");
    } else {
      fix = fmt::format("{}: clusterd cannot bind port {} on {}'s cluster address; check hosts[{}].address", p.error,
                        p.port, a.host->name, a.index);
    }
    AddRow(report, a.host->name, "node", fmt::format("port {}", p.port), Verdict::kFail,
           fmt::format("port {} is not free: {}", p.port, p.error), fix);
  }
  if (!free.empty()) {
    AddRow(report, a.host->name, "node", "ports", Verdict::kPass, fmt::format("{} free", fmt::join(free, ", ")));
  }
  for (const auto& [port, unit] : a.observation->ports_held_by_deployment) {
    AddRow(report, a.host->name, "node", fmt::format("port {}", port), Verdict::kPass,
           fmt::format("in use by this cluster's running {}", unit));
  }
}

void CheckClock(const AnsweredHost& a, CheckReport& report) {
  const auto& offset = a.observation->clock_offset_ms;
  if (!offset) return;
  const std::int64_t size = std::llabs(*offset);
  const std::string detail =
      size == 0 ? "in step with this machine"
                : fmt::format("{} ms {} this machine", size, *offset > 0 ? "ahead of" : "behind");
  if (size > kClockWarnMs) {
    AddRow(report, a.host->name, "node", "clock", size > kClockFailMs ? Verdict::kFail : Verdict::kWarn, detail,
           "sync clocks with chrony/ntp");
    return;
  }
  AddRow(report, a.host->name, "node", "clock", Verdict::kPass, detail);
}

void CheckModel(const inventory::Inventory& inventory, const AnsweredHost& a, CheckReport& report) {
  const inventory::Model* model = inventory.FindModel(inventory.runtime.model);
  if (model == nullptr) return;
  const std::string path = inventory.ModelPathOn(*a.host, *model).string();
  const control::NodeFacts& f = *a.facts;
  if (!f.model_present) {
    AddRow(report, a.host->name, "model", model->name, Verdict::kFail,
           fmt::format("model {} is not on {} at {}", model->name, a.host->name, path), PushFix(inventory));
    return;
  }
  if (!f.model_error.empty()) {
    AddRow(report, a.host->name, "model", model->name, Verdict::kFail,
           fmt::format("cannot read the model folder {}: {}", path, f.model_error),
           fmt::format("make the files readable for clusterd on {}, or {}", a.host->name, PushFix(inventory)));
    return;
  }
  AddRow(report, a.host->name, "model", model->name, Verdict::kPass,
         f.model_manifest_hash.empty() ? fmt::format("at {}", path)
                                       : fmt::format("at {}, manifest {}", path, f.model_manifest_hash.substr(0, 12)));
}

void CheckDocker(const inventory::Inventory& inventory, const AnsweredHost& a, CheckReport& report) {
  const std::string& name = a.needs->image;
  if (name.empty()) return;
  const control::NodeFacts& f = *a.facts;
  const std::string& host = a.host->name;
  if (!f.docker_present) {
    AddRow(report, host, "docker", "docker", Verdict::kFail,
           f.docker_error.empty() ? "docker not found" : f.docker_error,
           fmt::format("install Docker and the NVIDIA container toolkit on {}: runtime {} runs {} in a container",
                       host, inventory.runtime.kind, name));
    return;
  }
  if (!f.docker_error.empty()) {
    AddRow(report, host, "docker", "docker", Verdict::kFail,
           fmt::format("the Docker daemon does not answer: {}", f.docker_error),
           fmt::format("start it on {} (systemctl start docker), or give clusterd the right DOCKER_HOST", host));
    return;
  }
  AddRow(report, host, "docker", "docker", Verdict::kPass, fmt::format("Docker {}", f.docker_version));
  if (!f.image_present) return;
  if (*f.image_present) {
    AddRow(report, host, "docker", "image", Verdict::kPass, fmt::format("{} loaded", name));
  } else {
    AddRow(report, host, "docker", "image", Verdict::kFail, fmt::format("image {} is not loaded", name),
           PushFix(inventory));
  }
}

// runtime.restart always brings the deployment back after a reboot only
// where the host starts the agent at boot.
void CheckStartAtBoot(const inventory::Inventory& inventory, const AnsweredHost& a, CheckReport& report) {
  if (inventory.runtime.restart.policy != inventory::RestartPolicyKind::kAlways) return;
  const std::string& host = a.host->name;
  const std::string& unit = a.facts->agent_boot_unit;
  if (!unit.empty()) {
    AddRow(report, host, "agent", "start at boot", Verdict::kPass,
           fmt::format("{} is enabled: after a reboot the agent brings the deployment back", unit));
    return;
  }
  AddRow(report, host, "agent", "start at boot", Verdict::kWarn,
         fmt::format("the agent does not start at boot: after a reboot of {} the deployment stays down until "
                     "`clusterctl up` (runtime.restart always)",
                     host),
         fmt::format("run the agent as root on a host that systemd manages (ssh.user root; `up` then enables "
                     "clusterd-{}.service), or enable clusterd@{} (docs/install.md)",
                     inventory.cluster_name, inventory.cluster_name));
}

}  // namespace

void CheckHostNode(const inventory::Inventory& inventory, const AnsweredHost& answered, CheckReport& report) {
  CheckShm(answered, report);
  CheckDisk(answered, report);
  CheckPorts(inventory, answered, report);
  CheckClock(answered, report);
  CheckModel(inventory, answered, report);
  CheckDocker(inventory, answered, report);
  CheckStartAtBoot(inventory, answered, report);
}

void CheckModelHashes(const inventory::Inventory& inventory, const std::vector<AnsweredHost>& answered,
                      CheckReport& report) {
  const inventory::Host* head = inventory.Head();
  const inventory::Model* model = inventory.FindModel(inventory.runtime.model);
  if (head == nullptr || model == nullptr) return;
  const AnsweredHost* reference = nullptr;
  for (const AnsweredHost& a : answered) {
    if (a.host->name == head->name) reference = &a;
  }
  if (reference == nullptr || reference->facts->model_manifest_hash.empty()) return;
  const std::string& head_hash = reference->facts->model_manifest_hash;
  std::vector<std::string> differ;
  int same = 0;
  for (const AnsweredHost& a : answered) {
    const std::string& hash = a.facts->model_manifest_hash;
    if (hash.empty()) continue;  // absent or unreadable: failed on its own row
    if (hash == head_hash) {
      ++same;
    } else {
      differ.push_back(a.host->name);
    }
  }
  if (!differ.empty()) {
    AddRow(report, "", "model", model->name, Verdict::kFail,
           fmt::format("the model files on {} differ from those on {} (the head)", JoinWords(differ), head->name),
           fmt::format("{}: it copies the model again to every host whose files differ", PushFix(inventory)));
    return;
  }
  if (same >= 2) {
    AddRow(report, "", "model", model->name, Verdict::kPass,
           fmt::format("the same files on every host (manifest {})", head_hash.substr(0, 12)));
  }
}

}  // namespace cluster::cli::check
