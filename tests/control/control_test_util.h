// Helpers of the control tests: a private temporary folder and a cluster's
// credentials issued into it.
#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "control/pki.h"
#include "temp_dir.h"

namespace cluster::control::testing {

using cluster::testing::TempDir;

// One cluster's CA with an agent (for 127.0.0.1) and the operator.
struct TestCluster {
  explicit TestCluster(const std::string& name = "lab") {
    auto loaded = ClusterCa::LoadOrCreate(dir.path / "state", name);
    REQUIRE(loaded.ok());
    ca = std::make_unique<ClusterCa>(std::move(*loaded));
    auto issued_agent = ca->IssueAgent("h1", {"127.0.0.1"});
    REQUIRE(issued_agent.ok());
    agent = *issued_agent;
    auto issued_operator = ca->IssueOperator();
    REQUIRE(issued_operator.ok());
    operator_credentials = *issued_operator;
  }

  TempDir dir;
  std::unique_ptr<ClusterCa> ca;
  Credentials agent;
  Credentials operator_credentials;
};

}  // namespace cluster::control::testing
