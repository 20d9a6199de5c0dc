// `up`'s phases: agents started or upgraded on every host; an unchanged
// cluster that already serves left as it is; whatever ran before stopped;
// `check` (a failure stops `up` unless forced); the placement of `plan`; the
// runtime's units started on every host; then the wait until the endpoint
// answers /health and /v1/models, watching every host for a failure. Gang
// semantics: when a unit fails while starting, or an agent goes away, or the
// endpoint does not serve in time, every host stops everything.
// up_command.cc prints the result.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/lifecycle/check_report.h"
#include "cli/lifecycle/cluster_access.h"
#include "cli/lifecycle/runtime.h"
#include "common/status.h"
#include "control/messages.h"

namespace cluster::cli {

struct UpOptions {
  bool force = false;  // start even when check fails
  int timeout_s = 600;  // for the endpoint to serve
  std::string api_key;  // runtime.api_key_file's key, for probing the endpoint
  std::string file;     // the inventory file, for the hints of failures
};

// What `up` tells the operator while it runs.
struct UpProgress {
  std::function<void(const std::string& line)> say = [](const std::string&) {};
  // The failing report, before `up` stops or goes on (--force).
  std::function<void(const CheckReport& report)> check_failed = [](const CheckReport&) {};
};

struct UpResult {
  // Each host's agent in inventory order: what was done to it ("running",
  // "started", "upgraded"...) or "unreachable".
  std::vector<std::pair<std::string, std::string>> agents;
  std::optional<CheckReport> check;
  std::string deployment;  // "" until one was started
  bool already_up = false;  // the unchanged cluster already served: nothing was done
  std::string url;  // the endpoint ("http://HOST:PORT") once it serves
  std::optional<control::GangFailure> failure;  // the unit that failed, when one did
  // Why `up` failed, for the operator ("" when serving); everything that
  // had started was stopped.
  std::string error;
  // An error of the inventory or of this machine (the placement, the state
  // folder), reported as such; nothing was started.
  Status invalid;

  bool ok() const { return error.empty() && invalid.ok(); }
};

// REQUIRES: `runtime` is the runtime of access.inventory().
UpResult RunUp(const ClusterAccess& access, const Runtime& runtime, const UpOptions& options,
               const UpProgress& progress);

}  // namespace cluster::cli
