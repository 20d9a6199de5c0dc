// `check --comm`: bench-comm on the placement, every host's ranks at once
// through its agent; check_comm.h judges rank 0's measurement.
#include <algorithm>

#include <fmt/format.h>

#include "cli/lifecycle/agent_calls.h"
#include "cli/lifecycle/check_comm.h"
#include "cli/lifecycle/check_run.h"
#include "cli/lifecycle/deployment.h"

namespace cluster::cli {

namespace {

// The last non-empty line of `text` (a failing program's stderr says why there).
std::string LastLine(const std::string& text) {
  const std::size_t end = text.find_last_not_of("\n ");
  if (end == std::string::npos) return "(no message)";
  const std::size_t newline = text.rfind('\n', end);
  const std::size_t start = newline == std::string::npos ? 0 : newline + 1;
  return text.substr(start, end + 1 - start);
}

}  // namespace

void AddCommRows(const ClusterAccess& access, const Runtime& runtime, const std::vector<HostObservation>& observed,
                 const CheckRunOptions& options, CheckReport& report) {
  const inventory::Inventory& inv = access.inventory();
  const auto row = [&](const std::string& host, const std::string& item, CheckRow::Verdict verdict,
                       std::string detail, std::string fix) {
    report.rows.push_back({host, "comm", item, verdict, std::move(detail), std::move(fix)});
  };
  if (std::optional<CheckRow> unsupported = runtime.CommCheckUnsupported()) {
    report.rows.push_back(std::move(*unsupported));
    return;
  }
  const int world = inv.runtime.tensor_parallel * inv.runtime.pipeline_parallel;
  if (world == 1) {
    row("", "bench-comm", CheckRow::Verdict::kPass, "one rank: no collectives to measure", "");
    return;
  }
  if (report.failed()) {
    row("", "bench-comm", CheckRow::Verdict::kWarn, "not run: the checks above failed",
        "fix the failures above, then run clusterctl check --comm again");
    return;
  }
  for (const HostObservation& o : observed) {
    const auto held = o.ports_held_by_deployment.find(RendezvousPort(inv));
    if (held == o.ports_held_by_deployment.end()) continue;
    row(o.host, "bench-comm", CheckRow::Verdict::kWarn,
        fmt::format("not run: {} of the running deployment holds the rendezvous port {}", held->second,
                    held->first),
        "run clusterctl check --comm before clusterctl up, or after clusterctl down");
    return;
  }
  auto placement = inventory::PlaceRanks(inv, std::nullopt);
  if (!placement.ok()) {
    row("", "bench-comm", CheckRow::Verdict::kFail, placement.status().message(), "fix the runtime section");
    return;
  }
  // The ranks `up` would start, with a token of their own.
  const auto starts = BuildStartRequests(runtime, StartPlan{&inv, &*placement, &report, "comm-check"});
  std::vector<std::pair<std::string, control::CommCheckRequest>> requests;
  for (const auto& [host, start] : starts) {
    if (start.ranks.empty()) continue;
    control::CommCheckRequest req;
    req.ranks = start.ranks;
    req.sizes = options.comm_sizes;
    req.iterations = options.comm_iterations;
    req.timeout_s = options.comm_timeout_s;
    requests.emplace_back(host, std::move(req));
  }
  std::vector<StatusOr<control::CommCheckReply>> replies(requests.size(), InternalError("not asked"));
  ForEachHost(requests.size(), [&](std::size_t i) {
    const auto host = std::find_if(inv.hosts.begin(), inv.hosts.end(),
                                   [&](const inventory::Host& h) { return h.name == requests[i].first; });
    auto client = access.Connect(*host);
    if (!client.ok()) {
      replies[i] = client.status();
      return;
    }
    replies[i] = CallAgent<control::CommCheckReply>(**client, requests[i].second, control::CommCheckReplyFromJson,
                                                    std::chrono::seconds(options.comm_timeout_s + 30));
  });
  std::optional<std::string> rank0_output;
  bool any_failed = false;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const std::string& host = requests[i].first;
    if (!replies[i].ok()) {
      any_failed = true;
      row(host, "bench-comm", CheckRow::Verdict::kFail,
          fmt::format("the agent on {} could not run bench-comm: {}", host, replies[i].status().message()),
          "see the agent's log (clusterctl logs) and run clusterctl check again");
      continue;
    }
    for (const control::CommCheckRank& r : replies[i]->ranks) {
      if (r.exit_code && *r.exit_code == 0) {
        if (r.rank == 0) rank0_output = r.output;
        continue;
      }
      any_failed = true;
      const std::string how = r.exit_code ? fmt::format("exited with code {}", *r.exit_code) : "did not finish";
      row(host, fmt::format("rank {}", r.rank), CheckRow::Verdict::kFail,
          fmt::format("bench-comm {}: {}", how, LastLine(r.error)),
          "the first failing rank's message says which rank or link is at fault; check the network settings "
          "below and that every host can reach the head's rendezvous port " + std::to_string(RendezvousPort(inv)));
    }
  }
  if (any_failed || !rank0_output) return;
  auto measured = ParseBenchComm(*rank0_output);
  if (!measured.ok()) {
    row(inv.Head()->name, "rank 0", CheckRow::Verdict::kFail, measured.status().message(),
        "use the same clusterctl and agent versions (clusterctl up installs the agent beside the engine)");
    return;
  }
  for (CheckRow& r : EvaluateComm(*placement, *measured, LinkSpeeds(observed, report))) report.rows.push_back(std::move(r));
}

}  // namespace cluster::cli
