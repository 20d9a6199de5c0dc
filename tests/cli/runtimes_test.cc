// The runtimes clusterctl and clusterd know by name (runtimes/): every
// runtime the inventory may name has its part in both programs, a third
// runtime plugs into clusterctl as one Runtime under its name, and a name
// clusterctl has no part for is refused with the ones it knows.
#include "cli/lifecycle/runtime.h"

#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "common/inventory/runtime_definition.h"
#include "fake_runtime.h"
#include "runtimes/deployments.h"
#include "runtimes/launchers.h"

using namespace cluster;
using namespace cluster::cli;

namespace {

inventory::Inventory OfKind(const std::string& kind) {
  inventory::Inventory inventory;
  inventory.runtime.kind = kind;
  return inventory;
}

std::unique_ptr<Runtime> MakeFake(const inventory::Inventory&) { return std::make_unique<FakeRuntime>(); }

}  // namespace

TEST_CASE("Every runtime an inventory may name has its part in clusterctl and in clusterd") {
  const Runtimes deployments = runtimes::BuiltinRuntimes();
  const agent::Launchers launchers = runtimes::BuiltinLaunchers();
  for (const auto& definition : inventory::BuiltinRuntimeDefinitions().all()) {
    const std::string name(definition->name());
    INFO(name);
    CHECK(deployments.For(OfKind(name)).ok());
    CHECK(launchers.For(name).ok());
  }
}

TEST_CASE("A third runtime plugs into clusterctl as one Runtime under its name") {
  Runtimes runtimes = runtimes::BuiltinRuntimes();
  runtimes.Add("fake", MakeFake);
  const inventory::Inventory inventory = OfKind("fake");
  auto runtime = runtimes.For(inventory);
  REQUIRE(runtime.ok());
  CHECK(dynamic_cast<FakeRuntime*>(runtime->get()) != nullptr);
  CHECK(runtimes.For(OfKind("engine")).ok());
}

TEST_CASE("clusterctl refuses a runtime it has no part for and names the ones it knows") {
  // An inventory loaded with runtime definitions of its own.
  const auto runtime = runtimes::BuiltinRuntimes().For(OfKind("fake"));
  REQUIRE_FALSE(runtime.ok());
  CHECK(runtime.status().code() == StatusCode::kInvalidArgument);
  CHECK(runtime.status().message() == "runtime.kind: clusterctl cannot start runtime fake; it knows engine, vllm-docker");
}
