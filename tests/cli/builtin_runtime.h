// The inventory's runtime among clusterctl's built-in ones
// (runtimes/deployments.h), as `check` and `up` get it, for tests that judge
// or start a loaded inventory.
#pragma once

#include <catch2/catch.hpp>

#include <memory>
#include <vector>

#include "cli/lifecycle/check_report.h"
#include "cli/lifecycle/runtime.h"
#include "runtimes/deployments.h"

namespace cluster::cli {

inline std::unique_ptr<Runtime> RuntimeFor(const inventory::Inventory& inventory) {
  auto runtime = runtimes::BuiltinRuntimes().For(inventory);
  REQUIRE(runtime.ok());
  return std::move(*runtime);
}

// check's judgement of `hosts` for the inventory's own runtime.
inline CheckReport EvaluateCheck(const inventory::Inventory& inventory, const std::vector<HostObservation>& hosts) {
  return EvaluateCheck(inventory, *RuntimeFor(inventory), hosts);
}

}  // namespace cluster::cli
