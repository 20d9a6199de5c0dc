// A test double of cli::Runtime: a stand-in for a third runtime (SGLang in
// a container, say), whose needs, rows and units are whatever the test sets.
// It shows that check and up judge and start a runtime through the
// interface alone.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/lifecycle/runtime.h"

namespace cluster::cli {

class FakeRuntime final : public Runtime {
 public:
  HostNeeds needs;
  std::vector<CheckRow> summary_rows;
  std::optional<CheckRow> comm_unsupported;
  // AddUnits gives each host that runs a pipeline stage this container, with
  // the host's network environment (the report's EnvFor).
  control::ContainerSpec container;

  HostNeeds Needs() const override { return needs; }
  std::vector<CheckRow> SummaryRows() const override { return summary_rows; }
  std::optional<CheckRow> CommCheckUnsupported() const override { return comm_unsupported; }
  void AddUnits(const StartPlan& plan, std::vector<control::StartRequest>& requests) const override {
    for (std::size_t i = 0; i < requests.size(); ++i) {
      if (!plan.placement->hosts[i].stage) continue;
      control::ContainerSpec c = container;
      c.env = plan.report->EnvFor(plan.inventory->hosts[i].name);
      requests[i].container = c;
    }
  }
  void Describe(nlohmann::ordered_json& runtime) const override { runtime["image"] = needs.image; }
};

}  // namespace cluster::cli
