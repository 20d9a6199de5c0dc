// clusterctl logs [-f FILE] [--host H] [--rank R] [--since WHEN] [--tail N] [--follow] [--json | --json-lines]
//
// The logs of the deployment's ranks or containers, from the agents that
// keep them (rotated files on each host), merged in time order; each line is
// "TIME HOST UNIT | TEXT". --follow keeps printing new lines until Ctrl-C.
// --json: one document {ok, lines, errors}; --json-lines: one object per
// line of log (the form --follow takes).
// Exit 0, 1 when a host's agent cannot be reached, 2 usage or inventory error.
#include <chrono>
#include <ctime>
#include <iostream>
#include <mutex>
#include <regex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "cli/command.h"
#include "common/untrusted_text.h"
#include "cli/lifecycle/agent_calls.h"
#include "cli/lifecycle_support.h"
#include "common/inventory/placement.h"

namespace cluster::cli {
namespace {

constexpr const char* kFooter =
    "Examples:\n"
    "  clusterctl logs -f cluster.yaml --tail 50\n"
    "  clusterctl logs -f cluster.yaml --rank 0 --follow\n"
    "  clusterctl logs -f cluster.yaml --host gpu2 --since 10m\n"
    "  clusterctl logs -f cluster.yaml --follow --json-lines | jq -r .text\n"
    "\n"
    "Exit codes: 0 ok, 1 a host's agent could not be reached, 2 usage or inventory error.";

struct LogsFlags {
  LifecycleFlags lifecycle;
  std::string host;
  std::optional<int> rank;
  std::string since;
  int tail = -1;
  bool follow = false;
};

// "90s", "10m", "2h", "1d" ago, or "2026-11-28T10:00:00Z" (UTC). 0 for "".
StatusOr<std::int64_t> ParseSince(const std::string& text) {
  if (text.empty()) return std::int64_t{0};
  std::smatch m;
  if (std::regex_match(text, m, std::regex(R"(([0-9]+)(s|m|h|d))"))) {
    const std::int64_t n = std::stoll(m[1]);
    const std::int64_t unit = m[2] == "s" ? 1 : m[2] == "m" ? 60 : m[2] == "h" ? 3600 : 86400;
    return UnixMillis() - n * unit * 1000;
  }
  std::tm tm{};
  if (std::regex_match(text, std::regex(R"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z?)")) &&
      ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) {
    return static_cast<std::int64_t>(::timegm(&tm)) * 1000;
  }
  return InvalidArgumentError("--since '" + text + "': expected a duration such as 90s, 10m, 2h, 1d, or a UTC time "
                              "such as 2026-11-28T10:00:00Z");
}

std::string TimeText(std::int64_t unix_ms) {
  const std::time_t t = unix_ms / 1000;
  std::tm utc{};
  ::gmtime_r(&t, &utc);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt::format("{}.{:03}Z", buf, unix_ms % 1000);
}

struct HostLine {
  std::string host;
  control::LogLine line;
};

nlohmann::ordered_json LineJson(const HostLine& l) {
  return {{"time", TimeText(l.line.unix_ms)}, {"host", l.host}, {"unit", l.line.unit}, {"text", l.line.text}};
}

// One line as it comes: a --json-lines object, or the human line.
void Print(const HostLine& l, bool json) {
  if (json) {
    PrintJson(LineJson(l));
  } else {
    // A unit's output is the unit's: it may not drive the operator's terminal.
    std::cout << PrintableText(fmt::format("{} {} {} | {}", TimeText(l.line.unix_ms), l.host, l.line.unit,
                                           l.line.text))
              << "\n";
  }
}

int RunLogs(const LogsFlags& flags, const GlobalOptions& global) {
  if (flags.follow && global.json && !global.json_lines) return JsonLinesRequired("logs --follow");
  auto opened = OpenCluster(flags.lifecycle, global);
  if (auto* code = std::get_if<int>(&opened)) return *code;
  LoadedCluster& cluster = std::get<LoadedCluster>(opened);
  const inventory::Inventory& inv = cluster.inventory();
  auto since = ParseSince(flags.since);
  if (!since.ok()) return ReportError(since.status(), global);

  // Which hosts: --host, or the host that runs --rank, or all.
  std::string only = flags.host;
  if (!only.empty()) {
    bool known = false;
    for (const auto& h : inv.hosts) known = known || h.name == only;
    if (!known) return ReportError(InvalidArgumentError("--host " + only + " is not a host of " + inv.file.string()), global);
  }
  if (flags.rank && only.empty()) {
    auto placement = inventory::PlaceRanks(inv, std::nullopt);
    if (placement.ok()) {
      for (const auto& hp : placement->hosts) {
        for (const auto& r : hp.ranks) {
          if (r.rank == *flags.rank) only = hp.host;
        }
      }
    }
    if (only.empty()) {
      return ReportError(InvalidArgumentError(fmt::format("--rank {}: the deployment has no such rank", *flags.rank)),
                         global);
    }
  }
  control::LogsRequest request;
  request.rank = flags.rank;
  request.since_unix_ms = *since;
  request.tail_lines = flags.tail;
  request.follow = flags.follow;

  std::mutex out;
  std::vector<HostLine> collected;
  std::vector<std::string> errors(inv.hosts.size());
  ForEachHost(inv.hosts.size(), [&](std::size_t i) {
    const auto& host = inv.hosts[i];
    if (!only.empty() && host.name != only) return;
    auto client = cluster.access->Connect(host);
    if (!client.ok()) {
      errors[i] = client.status().message();
      return;
    }
    auto frame = (*client)->Call(request, std::chrono::seconds(60));
    while (frame.ok()) {
      auto batch = control::LogsReplyFromJson(frame->body);
      if (!batch.ok()) {
        errors[i] = batch.status().message();
        return;
      }
      {
        std::lock_guard<std::mutex> lock(out);
        for (auto& l : batch->lines) {
          if (flags.follow) Print({host.name, l}, global.json_lines);
          else collected.push_back({host.name, std::move(l)});
        }
        if (flags.follow) std::cout << std::flush;
      }
      if (!frame->more) return;
      frame = (*client)->Next(std::chrono::seconds(30));
    }
    errors[i] = fmt::format("{}: {}", host.name, frame.status().message());
  });
  std::stable_sort(collected.begin(), collected.end(),
                   [](const HostLine& a, const HostLine& b) { return a.line.unix_ms < b.line.unix_ms; });
  bool ok = true;
  for (const auto& e : errors) ok = ok && e.empty();
  if (global.json && !global.json_lines) {
    nlohmann::ordered_json lines = nlohmann::ordered_json::array();
    for (const auto& l : collected) lines.push_back(LineJson(l));
    nlohmann::ordered_json failures = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < errors.size(); ++i) {
      if (!errors[i].empty()) failures.push_back({{"host", inv.hosts[i].name}, {"message", errors[i]}});
    }
    PrintJson(nlohmann::ordered_json{{"ok", ok}, {"lines", lines}, {"errors", failures}});
    return ok ? kExitOk : kExitFailure;
  }
  for (const auto& l : collected) Print(l, global.json_lines);
  for (const auto& e : errors) {
    if (!e.empty()) std::cerr << "error: " << PrintableText(e) << "\n";
  }
  return ok ? kExitOk : kExitFailure;
}

}  // namespace

void AddLogsCommand(CLI::App& app, const GlobalOptions& global, CommandRunner* run) {
  CLI::App* cmd = app.add_subcommand("logs", "The logs of the ranks or containers, by host and rank");
  auto flags = std::make_shared<LogsFlags>();
  AddLifecycleFlags(cmd, flags->lifecycle);
  cmd->add_option("--host", flags->host, "Only this host")->type_name("HOST");
  cmd->add_option("--rank", flags->rank, "Only this rank (and its host)")->type_name("N");
  cmd->add_option("--since", flags->since, "Only lines after this: 90s, 10m, 2h, 1d, or 2026-11-28T10:00:00Z")
      ->type_name("WHEN");
  cmd->add_option("--tail", flags->tail, "Only the last N lines of each unit")->type_name("N")->check(CLI::NonNegativeNumber);
  cmd->add_flag("-F,--follow", flags->follow, "Keep printing new lines until Ctrl-C");
  cmd->footer(std::string(kFooter) + "\n\n" +
              GlobalFlagsHelp("one document: ok, lines (time, host, unit, text), errors (host, message)",
                              "one object per line of log, as they come with --follow (--follow --json is refused)",
                              ""));
  cmd->callback([flags, &global, run] { *run = [flags, &global] { return RunLogs(*flags, global); }; });
}

}  // namespace cluster::cli
