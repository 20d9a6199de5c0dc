// The rules of `clusterctl check`, one area per file (check_gpu.cc,
// check_network.cc, check_node.cc). Internal to cli/lifecycle: the public
// entry point is EvaluateCheck (check_report.h), which calls these in order
// and owns the report's row order. Each rule appends rows; none does I/O.
#pragma once

#include <string>
#include <vector>

#include "cli/lifecycle/check_report.h"
#include "cli/lifecycle/runtime.h"

namespace cluster::cli::check {

// A host whose agent answered: its inventory entry, index in `hosts`, its
// facts, and what the runtime needs of it.
struct AnsweredHost {
  const inventory::Host* host = nullptr;
  int index = 0;  // in inventory.hosts: the key path "hosts[N]" of fixes
  const HostObservation* observation = nullptr;
  const control::NodeFacts* facts = nullptr;
  const HostNeeds* needs = nullptr;
};

void AddRow(CheckReport& report, const std::string& host, const std::string& area, const std::string& item,
            CheckRow::Verdict verdict, std::string detail, std::string fix = "");

// gpu: count against the inventory and the placement, model, memory,
// compute capability against runtime.dtype, driver (new enough for the CUDA
// runtime the runtime brings), and whether the engine can open the GPU
// (facts.engine_device).
void CheckHostGpus(const inventory::Inventory& inventory, const AnsweredHost& answered, CheckReport& report);
// The oldest NVIDIA driver branch for a CUDA version (13.x: 580, 12.x: 525).
int DriverNeededForCuda(const std::string& cuda_version);

// gpu, cluster-wide: one driver version everywhere.
void CheckDriverVersions(const std::vector<AnsweredHost>& answered, CheckReport& report);

// network: chooses the host's interface (recorded in report.network), checks
// it is up, and the probe from the host to the head's agent.
void CheckHostNetwork(const inventory::Inventory& inventory, const AnsweredHost& answered, CheckReport& report);
// network, cluster-wide: subnet and MTU of the chosen interfaces.
void CheckClusterNetwork(const inventory::Inventory& inventory, const std::vector<AnsweredHost>& answered,
                         CheckReport& report);

// node: /dev/shm, disk, ports, clock; model: the folder; docker; agent:
// whether it starts at boot (runtime.restart always).
void CheckHostNode(const inventory::Inventory& inventory, const AnsweredHost& answered, CheckReport& report);
// model, cluster-wide: every host holds the head's files.
void CheckModelHashes(const inventory::Inventory& inventory, const std::vector<AnsweredHost>& answered,
                      CheckReport& report);

// "a, b and c"
std::string JoinWords(const std::vector<std::string>& words);

}  // namespace cluster::cli::check
