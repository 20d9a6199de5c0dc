// infer-engine bench-comm as an operator runs it: one process per rank, the
// job's token in the environment (this test plays clusterd and sets it),
// rank 0's report on stdout.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <string>
#include <vector>

#include "common/subprocess.h"
#include "comm_test_support.h"

using nlohmann::json;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

// Runs every rank of a TP x PP world of bench-comm with `extra` flags, each
// bounded to 60 s.
std::vector<cluster::ProcessResult> RunWorld(int tp, int pp, const std::vector<std::string>& extra) {
  ::setenv("INFER_ENGINE_RENDEZVOUS_TOKEN", "bench-comm-test-token", 1);
  ::unsetenv("GLOO_SOCKET_IFNAME");
  const std::string address = engine::testing::FreeAddress();
  auto runs = engine::testing::RunRanksWithin(
      tp * pp,
      [&](int rank) {
        std::vector<std::string> argv = {INFER_ENGINE_BIN, "bench-comm", "--world-size", std::to_string(tp * pp),
                                         "--rank", std::to_string(rank), "--tensor-parallel", std::to_string(tp),
                                         "--pipeline-parallel", std::to_string(pp), "--rendezvous", address,
                                         "--join-timeout", "30"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        return argv;
      },
      60'000);
  REQUIRE(runs.ok());
  return *runs;
}

}  // namespace

TEST_CASE("bench-comm on four CPU ranks (TP2 x PP2): rank 0 reports every tensor group and stage pair as JSON") {
  const auto runs = RunWorld(2, 2, {"--sizes", "4K,64K", "--iterations", "3", "--warmup", "1", "--json"});
  for (std::size_t rank = 0; rank < runs.size(); ++rank) {
    INFO("rank " << rank << " stderr: " << runs[rank].err);
    CHECK(runs[rank].exit_code == 0);
    if (rank > 0) CHECK(runs[rank].out.empty());
  }
  const json report = json::parse(runs[0].out);
  CHECK(report["world_size"] == 4);
  CHECK(report["tensor_parallel"] == 2);
  CHECK(report["pipeline_parallel"] == 2);
  CHECK(report["device"] == "cpu");
  REQUIRE(report["all_reduce"].size() == 4);  // 2 stages x 2 sizes
  for (const json& a : report["all_reduce"]) {
    const int stage = a["stage"];
    CHECK(a["ranks"] == json::array({2 * stage, 2 * stage + 1}));
    CHECK(a["seconds"].get<double>() > 0);
    // busbw = algbw x 2(n-1)/n: equal for n = 2.
    CHECK(a["busbw_gbps"].get<double>() == Approx(a["algbw_gbps"].get<double>()));
    CHECK(a["algbw_gbps"].get<double>() == Approx(a["bytes"].get<double>() / a["seconds"].get<double>() / 1e9));
  }
  CHECK(report["all_reduce"][0]["bytes"] == 4096);
  CHECK(report["all_reduce"][1]["bytes"] == 65536);
  REQUIRE(report["send_recv"].size() == 4);  // ranks 0 -> 2 and 1 -> 3, 2 sizes
  for (const json& s : report["send_recv"]) {
    CHECK(s["from_stage"] == 0);
    CHECK(s["to_stage"] == 1);
    CHECK(s["to_rank"].get<int>() == s["from_rank"].get<int>() + 2);
    CHECK(s["gbps"].get<double>() > 0);
  }
}

TEST_CASE("bench-comm on a TP4 world prints the table, with busbw = algbw x 2(n-1)/n") {
  const auto runs = RunWorld(4, 1, {"--sizes", "64K", "--iterations", "2", "--warmup", "1"});
  for (const auto& run : runs) CHECK(run.exit_code == 0);
  const std::string& table = runs[0].out;
  CHECK_THAT(table, StartsWith("bench-comm: 4 ranks (tensor_parallel 4 x pipeline_parallel 1), cpu (Gloo over TCP), 2 "
                               "iterations per size\n"));
  CHECK_THAT(table, Contains("all-reduce (sum, float32) in each tensor group; busbw = algbw x 2(n-1)/n, as nccl-tests\n"));
  CHECK_THAT(table, Contains("  0         0,1,2,3          64 KiB "));
  CHECK_THAT(table, Contains("send/recv (float32) to the next stage\n  none: pipeline_parallel is 1\n"));
}

TEST_CASE("bench-comm without the job's token refuses to start, naming the variable") {
  ::unsetenv("INFER_ENGINE_RENDEZVOUS_TOKEN");
  auto run = cluster::RunProcessWithin({INFER_ENGINE_BIN, "bench-comm", "--world-size", "2", "--rank", "1",
                                        "--tensor-parallel", "2", "--rendezvous", "127.0.0.1:1"},
                                       20'000);
  REQUIRE(run.ok());
  CHECK(run->exit_code == 2);
  CHECK(run->err ==
        "infer-engine: bench-comm: INFER_ENGINE_RENDEZVOUS_TOKEN is not set: a world of several ranks needs the job's "
        "rendezvous token in the environment of every rank (clusterd sets it; never pass it on the command line)\n");
}
