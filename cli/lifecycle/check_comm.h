// `clusterctl check --comm`: the collectives measured on the placement
// (`infer-engine bench-comm` on every rank, run by the agents) judged against
// the links the agents report (docs/parallelism.md, "Checking the links").
//
// ParseBenchComm reads rank 0's `bench-comm --json` document; EvaluateComm
// is pure: it turns the measurement at its largest size into check rows.
//   - send/recv between stages on two hosts: bandwidth against the slower of
//     the two hosts' cluster interfaces (the link speed the agents report).
//     Below 25% fails, below 50% warns, naming the slow pair: the traffic
//     most likely took another interface or a slow hop. An unknown link speed
//     passes with the measurement.
//   - all-reduce within each stage (one host): reported with its bus
//     bandwidth; nothing on the host says what PCIe or NVLink should give, so
//     it never fails, except when a group's bandwidth is below a tenth of the
//     best group's at the same size (a GPU on a slow slot or across a
//     socket): a warning naming the stage and its host.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli/lifecycle/check_report.h"
#include "common/inventory/inventory.h"
#include "common/inventory/placement.h"
#include "common/status.h"

namespace cluster::cli {

// Where the engine's ranks meet, those of `up` and of bench-comm alike:
// rank 0's rendezvous on the head, the API port + 1.
inline int RendezvousPort(const inventory::Inventory& inventory) { return inventory.runtime.port + 1; }

// Rank 0's `infer-engine bench-comm --json` (engine/tools/bench_comm_command.cc).
struct CommMeasurement {
  struct AllReduce {
    int stage = 0;
    std::vector<int> ranks;
    std::int64_t bytes = 0;
    double seconds = 0, busbw_gbps = 0;
  };
  struct SendRecv {
    int from_rank = 0, to_rank = 0, from_stage = 0, to_stage = 0;
    std::int64_t bytes = 0;
    double seconds = 0, gbps = 0;
  };
  std::string device;  // "cpu" | "cuda"
  std::vector<AllReduce> all_reduce;
  std::vector<SendRecv> send_recv;
};

// InvalidArgument naming the first field that is missing or of the wrong type.
StatusOr<CommMeasurement> ParseBenchComm(const std::string& json);

// Rows (area "comm") for `measurement` on `placement`. `link_mbps` maps a
// host name to the speed of its cluster interface (absent: unknown).
std::vector<CheckRow> EvaluateComm(const inventory::Placement& placement, const CommMeasurement& measurement,
                                   const std::map<std::string, std::optional<int>>& link_mbps);

// Host name -> the speed of the interface `check` chose for it (report.network).
std::map<std::string, std::optional<int>> LinkSpeeds(const std::vector<HostObservation>& observed,
                                                     const CheckReport& report);

}  // namespace cluster::cli
