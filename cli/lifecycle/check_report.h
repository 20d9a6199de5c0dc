// `clusterctl check`: whether every host is ready for `up`, judged from the
// facts each agent reports (control::NodeFacts) against the inventory.
//
// EvaluateCheck is pure: no I/O, no clock. The caller gathers one
// HostObservation per host (facts, the probe from the host to the head's
// agent, the clock offset) and prints the report. Every failing or warning
// row carries a fix: what the operator does next, in the words of the
// inventory.
//
// The report also fixes the cluster network that `up` will use: for each
// host, the interface that carries its traffic and its address, and from them
// the environment of its ranks (EnvFor).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/inventory/inventory.h"
#include "control/messages.h"

namespace cluster::cli {

// What clusterctl learned about one inventory host.
struct HostObservation {
  std::string host;                              // inventory host name
  std::optional<control::NodeFacts> facts;       // nullopt: the agent did not answer
  std::string unreachable_error;                 // why, when facts is nullopt
  bool ssh_failed = false;                       // the agent could not be started: SSH itself failed
  std::string agent_action;                      // what check did to the agent: "started", "upgraded", "replaced"; "" if nothing
  std::optional<control::ProbeReply> probe_to_head;  // non-head hosts: their agent's probe of the head's
  std::optional<std::int64_t> clock_offset_ms;   // host clock minus clusterctl's, RTT-corrected
  // Required ports that this cluster's own running deployment holds (port ->
  // the unit, "rank 0"): not probed, and no failure.
  std::map<int, std::string> ports_held_by_deployment;
};

struct CheckRow {
  enum class Verdict { kPass, kWarn, kFail };
  std::string host;    // "" for a cluster-wide row
  std::string area;    // "gpu" | "network" | "node" | "model" | "docker" | "agent" | "ssh"
  std::string item;    // what was checked: "count", "interface", "port 8000"...
  Verdict verdict = Verdict::kPass;
  std::string detail;  // what was found
  std::string fix;     // warn/fail: what to do; "" on pass
};

// The interface and address `up` uses for one host.
struct HostNetwork {
  std::string interface;  // "eth0"
  std::string address;    // "10.0.0.11": an IPv4 address of that interface
};

struct CheckReport {
  std::vector<CheckRow> rows;                  // by host (observation order), then cluster-wide
  std::map<std::string, HostNetwork> network;  // by host name; only hosts whose interface was chosen

  // True when any row is kFail.
  bool failed() const;
  // NCCL_SOCKET_IFNAME, GLOO_SOCKET_IFNAME (the interface) and VLLM_HOST_IP
  // (the address) for `host`; empty when its network is unknown.
  std::map<std::string, std::string> EnvFor(const std::string& host) const;
};

class Runtime;

// Judges `hosts` (observations of inventory hosts; others are ignored)
// against `inventory` and what `runtime` (the inventory's: runtime.h) needs
// of them. The head's observation is the reference for the model's manifest
// hash and its network for reachability.
CheckReport EvaluateCheck(const inventory::Inventory& inventory, const Runtime& runtime,
                          const std::vector<HostObservation>& hosts);

// "pass" | "warn" | "fail": the words of the JSON output.
const char* VerdictName(CheckRow::Verdict verdict);

// The human report: one table grouped by host (cluster-wide rows last, under
// "cluster"), a PASS/WARN/FAIL column, each fix on its own line under its row,
// then a summary line and the network `up` will use.
void PrintCheckTable(const CheckReport& report, std::ostream& out);

// The --json document, stable field names:
// {"ok": BOOL,
//  "rows": [{"host", "area", "item", "verdict", "detail", "fix"}...],
//  "network": {HOST: {"interface", "address", "env": {NAME: VALUE}}}}
nlohmann::ordered_json CheckReportJson(const CheckReport& report);

}  // namespace cluster::cli
