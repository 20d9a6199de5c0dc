// clusterctl validate [-f FILE] [--skip-artifacts] [--json]
//
// Loads an inventory and reports every problem of it: as compiler-style
// lines on stderr with a one-line summary, or as one JSON document on stdout
// (its fields are documented in docs/inventory.md and are stable). Exit 0
// when the file is valid (warnings allowed), 2 when it has any error.
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/diagnostics_output.h"
#include "cli/lifecycle/runtime.h"
#include "common/build_info.h"
#include "common/inventory/loader.h"

namespace cluster::cli {
namespace {

using inventory::Diagnostic;
using inventory::Inventory;
using inventory::LoadResult;

constexpr const char* kFooter =
    "Checks the schema (types, unknown keys, required keys), references between keys,\n"
    "parallelism against hosts and GPUs, and that artifacts exist on this machine.\n"
    "Every problem is reported at once, as FILE:LINE:COL: error: KEY: MESSAGE (HINT).\n"
    "\n"
    "Examples:\n"
    "  clusterctl validate -f cluster.yaml\n"
    "  clusterctl validate -f cluster.yaml --skip-artifacts   # before the model is copied here\n"
    "  clusterctl validate -f cluster.yaml --json | jq '.errors[].message'\n"
    "\n"
    "Exit codes: 0 valid (warnings allowed), 2 any error.";

struct ValidateFlags {
  std::string file;
  bool skip_artifacts = false;
};

std::string Plural(long long n, const char* word) { return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s"); }

// "16 GPUs", "GPUs auto", or "12 GPUs and auto on 1 host".
std::string GpuSummary(const Inventory& inv) {
  long long known = 0;
  int automatic = 0;
  for (const auto& h : inv.hosts) {
    if (h.gpus) {
      known += *h.gpus;
    } else {
      ++automatic;
    }
  }
  if (automatic == 0) return Plural(known, "GPU");
  if (automatic == static_cast<int>(inv.hosts.size())) return "GPUs auto";
  return fmt::format("{} and auto on {}", Plural(known, "GPU"), Plural(automatic, "host"));
}

// "cluster t4-lab: 4 hosts, 16 GPUs; runtime engine, TP4 x PP4, float16"
std::string Summary(const Inventory& inv) {
  const auto& r = inv.runtime;
  std::string runtime = r.kind;
  if (r.RanksOnCpu()) runtime += " on cpu";
  const std::string dtype =
      r.dtype == inventory::Dtype::kAuto ? "dtype auto" : inventory::DtypeName(r.dtype);
  return fmt::format("cluster {}: {}, {}; runtime {}, TP{} x PP{}, {}", inv.cluster_name,
                     Plural(static_cast<int>(inv.hosts.size()), "host"), GpuSummary(inv), runtime,
                     r.tensor_parallel, r.pipeline_parallel, dtype);
}

nlohmann::ordered_json ClusterJson(const Inventory& inv, const Runtime& described) {
  const auto& r = inv.runtime;
  nlohmann::ordered_json gpus = nullptr;  // null while any host says gpus: auto
  bool all_known = true;
  long long total = 0;
  for (const auto& h : inv.hosts) {
    all_known = all_known && h.gpus.has_value();
    total += h.gpus.value_or(0);
  }
  if (all_known) gpus = total;
  nlohmann::ordered_json runtime = {{"kind", r.kind},
                            {"model", r.model},
                            {"tensor_parallel", r.tensor_parallel},
                            {"pipeline_parallel", r.pipeline_parallel},
                            {"dtype", inventory::DtypeName(r.dtype)},
                            {"port", r.port}};
  described.Describe(runtime);
  const inventory::Host* head = inv.Head();
  return {{"name", inv.cluster_name},
          {"hosts", inv.hosts.size()},
          {"gpus", gpus},
          {"head", head ? nlohmann::ordered_json(head->name) : nlohmann::ordered_json(nullptr)},
          {"runtime", runtime}};
}

int PrintJsonResult(const std::string& file, const LoadResult& result, const GlobalOptions& global) {
  nlohmann::ordered_json out = LoadResultJson(file, result);
  out["cluster"] = nullptr;
  if (result.ok()) {
    auto runtime = global.runtimes->For(*result.inventory);
    if (!runtime.ok()) return ReportError(runtime.status(), global);
    out["cluster"] = ClusterJson(*result.inventory, **runtime);
  }
  PrintJson(out);
  return result.ok() ? kExitOk : kExitUsageError;
}

int PrintHuman(const std::string& file, const LoadResult& result) {
  PrintDiagnostics(result);
  const int warnings = result.warning_count();
  if (!result.ok()) {
    std::cerr << fmt::format("{}: invalid: {}{}\n", file, Plural(result.error_count(), "error"),
                             warnings > 0 ? ", " + Plural(warnings, "warning") : "");
    return kExitUsageError;
  }
  std::cout << fmt::format("{}: valid{} ({})\n", file, warnings > 0 ? " with " + Plural(warnings, "warning") : "",
                           Summary(*result.inventory));
  return kExitOk;
}

int RunValidate(const ValidateFlags& flags, const GlobalOptions& global) {
  auto file = InventoryFile(flags.file);
  if (!file.ok()) return ReportError(file.status(), global);
  inventory::LoadOptions options;
  options.require_artifacts = !flags.skip_artifacts;
  options.engine_has_cuda = *GetBuildInfo().cuda != '\0';
  const LoadResult result = inventory::LoadInventory(*file, options);
  return global.json ? PrintJsonResult(*file, result, global) : PrintHuman(*file, result);
}

}  // namespace

void AddValidateCommand(CLI::App& app, const GlobalOptions& global, CommandRunner* run) {
  CLI::App* cmd = app.add_subcommand("validate", "Check an inventory file and report every problem in it");
  auto flags = std::make_shared<ValidateFlags>();
  AddInventoryOption(cmd, flags->file);
  cmd->add_flag("--skip-artifacts", flags->skip_artifacts,
                "Missing image tarballs, model folders and key files are warnings, not errors");
  cmd->footer(std::string(kFooter) + "\n\n" +
              GlobalFlagsHelp("one document: ok, file, errors, warnings, cluster (docs/inventory.md)", "", ""));
  cmd->callback([flags, &global, run] { *run = [flags, &global] { return RunValidate(*flags, global); }; });
}

}  // namespace cluster::cli
