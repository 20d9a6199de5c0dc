#include "cli/lifecycle/check_comm.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

namespace cluster::cli {
namespace {

using Json = nlohmann::json;
using Verdict = CheckRow::Verdict;

// Below these shares of the link speed a stage pair fails / warns.
constexpr double kFailShare = 0.25;
constexpr double kWarnShare = 0.50;
// A tensor group below this share of the best group warns.
constexpr double kSlowGroupShare = 0.10;

template <typename T>
StatusOr<T> Field(const Json& object, const char* name, const std::string& where) {
  const auto it = object.find(name);
  if (it == object.end()) return InvalidArgumentError(fmt::format("bench-comm output: {} has no \"{}\"", where, name));
  try {
    return it->template get<T>();
  } catch (const Json::exception&) {
    return InvalidArgumentError(fmt::format("bench-comm output: {}'s \"{}\" is not a {}", where, name,
                                            std::is_floating_point_v<T> ? "number" : "whole number"));
  }
}

std::string SizeText(std::int64_t bytes) {
  if (bytes >= (std::int64_t{1} << 20) && bytes % (std::int64_t{1} << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  if (bytes >= 1024 && bytes % 1024 == 0) return fmt::format("{} KiB", bytes >> 10);
  return fmt::format("{} B", bytes);
}

std::string LinkText(int mbps) {
  return mbps % 1000 == 0 ? fmt::format("{} Gb/s", mbps / 1000) : fmt::format("{} Mb/s", mbps);
}

// The largest size measured in `items` (bench-comm measures every kind at every size).
template <typename T>
std::int64_t LargestSize(const std::vector<T>& items) {
  std::int64_t largest = 0;
  for (const T& i : items) largest = std::max(largest, i.bytes);
  return largest;
}

}  // namespace

StatusOr<CommMeasurement> ParseBenchComm(const std::string& json) {
  const Json doc = Json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return InvalidArgumentError("bench-comm output is not a JSON object: " + json.substr(0, 200));
  }
  CommMeasurement m;
  CLUSTER_ASSIGN_OR_RETURN(m.device, Field<std::string>(doc, "device", "the document"));
  const auto all_reduce = doc.find("all_reduce");
  const auto send_recv = doc.find("send_recv");
  if (all_reduce == doc.end() || !all_reduce->is_array() || send_recv == doc.end() || !send_recv->is_array()) {
    return InvalidArgumentError("bench-comm output: the document needs the arrays \"all_reduce\" and \"send_recv\"");
  }
  for (std::size_t i = 0; i < all_reduce->size(); ++i) {
    const Json& a = (*all_reduce)[i];
    const std::string where = fmt::format("all_reduce[{}]", i);
    CommMeasurement::AllReduce r;
    CLUSTER_ASSIGN_OR_RETURN(r.stage, Field<int>(a, "stage", where));
    CLUSTER_ASSIGN_OR_RETURN(r.ranks, Field<std::vector<int>>(a, "ranks", where));
    CLUSTER_ASSIGN_OR_RETURN(r.bytes, Field<std::int64_t>(a, "bytes", where));
    CLUSTER_ASSIGN_OR_RETURN(r.seconds, Field<double>(a, "seconds", where));
    CLUSTER_ASSIGN_OR_RETURN(r.busbw_gbps, Field<double>(a, "busbw_gbps", where));
    m.all_reduce.push_back(std::move(r));
  }
  for (std::size_t i = 0; i < send_recv->size(); ++i) {
    const Json& s = (*send_recv)[i];
    const std::string where = fmt::format("send_recv[{}]", i);
    CommMeasurement::SendRecv r;
    CLUSTER_ASSIGN_OR_RETURN(r.from_rank, Field<int>(s, "from_rank", where));
    CLUSTER_ASSIGN_OR_RETURN(r.to_rank, Field<int>(s, "to_rank", where));
    CLUSTER_ASSIGN_OR_RETURN(r.from_stage, Field<int>(s, "from_stage", where));
    CLUSTER_ASSIGN_OR_RETURN(r.to_stage, Field<int>(s, "to_stage", where));
    CLUSTER_ASSIGN_OR_RETURN(r.bytes, Field<std::int64_t>(s, "bytes", where));
    CLUSTER_ASSIGN_OR_RETURN(r.seconds, Field<double>(s, "seconds", where));
    CLUSTER_ASSIGN_OR_RETURN(r.gbps, Field<double>(s, "gbps", where));
    m.send_recv.push_back(std::move(r));
  }
  return m;
}

std::vector<CheckRow> EvaluateComm(const inventory::Placement& placement, const CommMeasurement& m,
                                   const std::map<std::string, std::optional<int>>& link_mbps) {
  std::vector<CheckRow> rows;
  const auto host_of_stage = [&](int stage) -> std::string {
    return stage >= 0 && stage < placement.pipeline_parallel ? placement.StageHost(stage).host : "?";
  };
  const auto speed_of = [&](const std::string& host) -> std::optional<int> {
    const auto it = link_mbps.find(host);
    return it == link_mbps.end() ? std::nullopt : it->second;
  };

  // Tensor groups: the bus bandwidth of each at the largest size.
  const std::int64_t ar_bytes = LargestSize(m.all_reduce);
  double best = 0;
  for (const auto& a : m.all_reduce) {
    if (a.bytes == ar_bytes) best = std::max(best, a.busbw_gbps);
  }
  for (const auto& a : m.all_reduce) {
    if (a.bytes != ar_bytes) continue;
    const std::string host = host_of_stage(a.stage);
    const std::string measured = fmt::format("all-reduce of {} over ranks {} ({}): bus bandwidth {:.2f} GB/s", SizeText(a.bytes),
                                             fmt::join(a.ranks, ","), m.device, a.busbw_gbps);
    const std::string item = fmt::format("stage {} all-reduce", a.stage);
    if (best > 0 && a.busbw_gbps < kSlowGroupShare * best) {
      rows.push_back({host, "comm", item, Verdict::kWarn,
                      fmt::format("{}, below a tenth of the best stage's {:.2f} GB/s", measured, best),
                      fmt::format("look at how {}'s GPUs are connected (nvidia-smi topo -m): a GPU on a slow PCIe slot "
                                  "or across CPU sockets slows every all-reduce of its stage",
                                  host)});
    } else {
      rows.push_back({host, "comm", item, Verdict::kPass, measured, ""});
    }
  }

  // Stage pairs: each against the slower NIC of its two hosts.
  const std::int64_t sr_bytes = LargestSize(m.send_recv);
  for (const auto& s : m.send_recv) {
    if (s.bytes != sr_bytes) continue;
    const std::string from = host_of_stage(s.from_stage), to = host_of_stage(s.to_stage);
    const std::string item = fmt::format("stage {} -> {}", s.from_stage, s.to_stage);
    const std::string measured = fmt::format("rank {} ({}) -> rank {} ({}): {:.3f} GB/s for {} messages", s.from_rank,
                                             from, s.to_rank, to, s.gbps, SizeText(s.bytes));
    const std::optional<int> a = speed_of(from), b = speed_of(to);
    if (from == to || !a || !b) {
      rows.push_back({to, "comm", item, Verdict::kPass,
                      from == to ? measured + " (one host)" : measured + "; link speed unknown, nothing to compare",
                      ""});
      continue;
    }
    const int link = std::min(*a, *b);
    const double link_gbps = link / 8000.0;  // Mb/s -> GB/s
    const double share = s.gbps / link_gbps;
    const std::string detail = fmt::format("{}, {:.0f}% of the {} link ({:.3f} GB/s)", measured, 100 * share,
                                           LinkText(link), link_gbps);
    if (share >= kWarnShare) {
      rows.push_back({to, "comm", item, Verdict::kPass, detail, ""});
      continue;
    }
    rows.push_back({to, "comm", item, share < kFailShare ? Verdict::kFail : Verdict::kWarn, detail,
                    fmt::format("the traffic between {} and {} likely takes another interface or a slow hop: check "
                                "the interface in the network settings below (network.interface in the inventory) "
                                "and the switch path between the two hosts",
                                from, to)});
  }
  return rows;
}

std::map<std::string, std::optional<int>> LinkSpeeds(const std::vector<HostObservation>& observed,
                                                     const CheckReport& report) {
  std::map<std::string, std::optional<int>> speeds;
  for (const HostObservation& o : observed) {
    const auto chosen = report.network.find(o.host);
    if (!o.facts || chosen == report.network.end()) continue;
    for (const control::InterfaceFacts& i : o.facts->interfaces) {
      if (i.name == chosen->second.interface) speeds[o.host] = i.speed_mbps;
    }
  }
  return speeds;
}

}  // namespace cluster::cli
