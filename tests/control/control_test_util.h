// Helpers of the control tests: a private temporary folder and a cluster's
// credentials issued into it.
#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <string>

#include "control/pki.h"

namespace cluster::control::testing {

// A fresh folder removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("control_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// One cluster's CA with an agent (for 127.0.0.1) and the operator.
struct TestCluster {
  explicit TestCluster(const std::string& name = "lab") {
    auto loaded = ClusterCa::LoadOrCreate(dir.path() / "state", name);
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
