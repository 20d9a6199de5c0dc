// infer-engine probe: can this engine open a GPU? What `clusterctl check`
// runs on each host before `up` (through the host's agent), so a driver too
// old for the engine's CUDA runtime, or a GPU the engine cannot initialise,
// is found before any rank starts.
//
//   infer-engine probe [--device cuda[:N]] [--json]
//
// Prints the device (name, compute capability, memory, the driver's and the
// runtime's CUDA versions) and exits 0; otherwise prints why not, with the
// fix, and exits 1 (2 for a bad --device). --json prints one object:
//   {"ok": true, "device": "cuda:0", "name": ..., "compute_capability": "9.0",
//    "memory_bytes": ..., "driver_cuda": "13.0", "runtime_cuda": "13.0", "bfloat16": true}
//   {"ok": false, "error": "..."}
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "engine/backends/factory/backend_factory.h"
#include "engine/tools/command_support.h"
#include "engine/tools/commands.h"

namespace engine::tools {
namespace {

struct ProbeFlags {
  std::string device = "cuda";
  bool json = false;
};

int RunProbe(const ProbeFlags& f) {
  StatusOr<DeviceReport> report = ProbeDevice(f.device);
  if (f.json) {
    nlohmann::json out;
    if (report.ok()) {
      out = {{"ok", true},
             {"device", report->device},
             {"name", report->name},
             {"compute_capability", report->compute_capability},
             {"memory_bytes", report->memory_bytes},
             {"driver_cuda", report->driver_cuda},
             {"runtime_cuda", report->runtime_cuda},
             {"bfloat16", report->bfloat16}};
    } else {
      out = {{"ok", false}, {"error", report.status().message()}};
    }
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else if (report.ok()) {
    std::printf("%s: %s, compute capability %s, %.1f GiB, driver CUDA %s, engine runtime CUDA %s%s\n",
                report->device.c_str(), report->name.c_str(), report->compute_capability.c_str(),
                static_cast<double>(report->memory_bytes) / (1u << 30), report->driver_cuda.c_str(),
                report->runtime_cuda.c_str(), report->bfloat16 ? ", bfloat16" : ", no bfloat16");
  }
  if (report.ok()) return kExitOk;
  if (report.status().code() == cluster::StatusCode::kInvalidArgument) {
    return f.json ? kExitUsage : UsageError(report.status().message());
  }
  return f.json ? kExitFailure : Failure(report.status());
}

}  // namespace

Subcommand AddProbeCommand(CLI::App& parent) {
  auto flags = std::make_shared<ProbeFlags>();
  CLI::App* app = parent.add_subcommand("probe", "Check that the engine can open a GPU (what clusterctl check runs)");
  app->add_option("--device", flags->device, "cuda or cuda:N")->capture_default_str();
  app->add_flag("--json", flags->json, "Print one JSON object");
  return {app, [flags] { return RunProbe(*flags); }};
}

}  // namespace engine::tools
