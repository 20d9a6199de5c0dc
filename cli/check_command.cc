// clusterctl check [-f FILE] [--json] [--no-hash] [--comm [--comm-sizes 64K,1M,16M]]
//
// Starts (or upgrades) the agent on every host, asks each for its facts
// (GPUs, interfaces, shm, disk, ports, clock, model hash, Docker) and each
// non-head agent to reach the head's agent, then prints pass / warn / fail
// per host and across hosts, with the fix for every failure, and the network
// settings `up` will use. Exit 0 when nothing fails, 1 otherwise, 2 for an
// invalid inventory.
#include <iostream>

#include "cli/command.h"
#include "cli/lifecycle/check_run.h"
#include "cli/lifecycle_support.h"

namespace cluster::cli {
namespace {

constexpr const char* kFooter =
    "Checks GPUs (count, model, memory, compute capability against the dtype, driver), the\n"
    "network (the interface that carries each host's address, subnet, MTU, link speed,\n"
    "agent-to-agent reachability to the head), /dev/shm, free disk, free ports, clock skew,\n"
    "the model at the same path with the same manifest hash on every host, and Docker with\n"
    "the image for runtime vllm-docker. Starts the agents if they do not run. With --comm,\n"
    "the agents then run the engine's collectives on the placement (all-reduce within each\n"
    "stage, send/recv between stages) and the stage pairs are judged against the link speed.\n"
    "\n"
    "Examples:\n"
    "  clusterctl check -f cluster.yaml\n"
    "  clusterctl check -f cluster.yaml --comm\n"
    "  clusterctl check -f cluster.yaml --json | jq '.rows[] | select(.verdict==\"fail\")'\n"
    "\n"
    "Exit codes: 0 nothing fails, 1 a check failed, 2 usage or inventory error.";

struct CheckFlags {
  LifecycleFlags lifecycle;
  bool no_hash = false;
  bool comm = false;
  std::string comm_sizes = "64K,1M,16M";
};

int RunCheckCommand(const CheckFlags& flags, const GlobalOptions& global) {
  auto opened = OpenCluster(flags.lifecycle, global);
  if (auto* code = std::get_if<int>(&opened)) return *code;
  LoadedCluster& cluster = std::get<LoadedCluster>(opened);
  CheckRunOptions options;
  options.hash_model = !flags.no_hash;
  options.comm = flags.comm;
  options.comm_sizes = flags.comm_sizes;
  auto runtime = global.runtimes->For(cluster.inventory());
  if (!runtime.ok()) return ReportError(runtime.status(), global);
  const CheckReport report = RunCheck(*cluster.access, **runtime, options);
  if (global.json) PrintJson(CheckReportJson(report));
  else PrintCheckTable(report, std::cout);
  return report.failed() ? kExitFailure : kExitOk;
}

}  // namespace

void AddCheckCommand(CLI::App& app, const GlobalOptions& global, CommandRunner* run) {
  CLI::App* cmd = app.add_subcommand("check", "Check every host: GPUs, network, disk, ports, clock, model, Docker");
  auto flags = std::make_shared<CheckFlags>();
  AddLifecycleFlags(cmd, flags->lifecycle);
  cmd->add_flag("--no-hash", flags->no_hash, "Do not hash the model on the hosts (faster; no equality check)");
  cmd->add_flag("--comm", flags->comm,
                "Then measure the engine's collectives on the placement (infer-engine bench-comm on every rank): "
                "all-reduce per stage, send/recv between stages against the link speed");
  cmd->add_option("--comm-sizes", flags->comm_sizes, "Message sizes for --comm")->capture_default_str();
  cmd->footer(std::string(kFooter) + "\n\n" +
              GlobalFlagsHelp("one document: ok, rows (host, area, item, verdict, detail, fix), network "
                              "(docs/lifecycle.md)",
                              "",
                              "progress detail on stderr: each host's agent, its facts and how long they took, the "
                              "probe of the head's agent"));
  cmd->callback([flags, &global, run] { *run = [flags, &global] { return RunCheckCommand(*flags, global); }; });
}

}  // namespace cluster::cli
