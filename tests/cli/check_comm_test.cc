// `clusterctl check --comm`'s judgement (cli/lifecycle/check_comm.h): what
// bench-comm measured on the placement, against the link speeds the agents
// report, with the fix the operator reads.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "cli/lifecycle/check_comm.h"
#include "common/inventory/loader.h"

using namespace cluster;
using namespace cluster::cli;
using Verdict = CheckRow::Verdict;

namespace {

// Two hosts of two GPUs: TP2 x PP2, stage 0 on gpu1, stage 1 on gpu2.
inventory::Placement TwoByTwo() {
  inventory::LoadOptions options;
  options.require_artifacts = false;
  auto loaded = inventory::LoadInventoryFromString(
      "cluster: {name: lab}\n"
      "hosts:\n"
      "  - {name: gpu1, address: 10.0.0.11, role: head, gpus: 2, gpu_model: T4}\n"
      "  - {name: gpu2, address: 10.0.0.12, gpus: 2, gpu_model: T4}\n"
      "artifacts:\n"
      "  models: [{name: m, source: /m, path: /data/m}]\n"
      "runtime: {model: m, tensor_parallel: 2, pipeline_parallel: 2, dtype: float16}\n",
      "/lab/cluster.yaml", options);
  REQUIRE(loaded.ok());
  auto placement = inventory::PlaceRanks(*loaded.inventory, std::nullopt);
  REQUIRE(placement.ok());
  return *placement;
}

// bench-comm's --json for TP2 x PP2 at 1 MiB and 16 MiB; `pair_gbps` is the
// stage pair's bandwidth at 16 MiB (both tp ranks' pairs).
std::string Measured(double pair_gbps, double stage1_busbw = 9.5) {
  return R"({"world_size": 4, "tensor_parallel": 2, "pipeline_parallel": 2, "device": "cuda", "iterations": 10,
  "all_reduce": [
    {"stage": 0, "ranks": [0, 1], "bytes": 1048576, "seconds": 0.0002, "algbw_gbps": 5.2, "busbw_gbps": 5.2},
    {"stage": 0, "ranks": [0, 1], "bytes": 16777216, "seconds": 0.0018, "algbw_gbps": 9.3, "busbw_gbps": 9.3},
    {"stage": 1, "ranks": [2, 3], "bytes": 1048576, "seconds": 0.0002, "algbw_gbps": 5.1, "busbw_gbps": 5.1},
    {"stage": 1, "ranks": [2, 3], "bytes": 16777216, "seconds": 0.0018, "algbw_gbps": )" +
         std::to_string(stage1_busbw) + R"(, "busbw_gbps": )" + std::to_string(stage1_busbw) + R"(}],
  "send_recv": [
    {"from_rank": 0, "to_rank": 2, "from_stage": 0, "to_stage": 1, "bytes": 1048576, "seconds": 0.001, "gbps": 1.0},
    {"from_rank": 0, "to_rank": 2, "from_stage": 0, "to_stage": 1, "bytes": 16777216, "seconds": 0.014, "gbps": )" +
         std::to_string(pair_gbps) + R"(},
    {"from_rank": 1, "to_rank": 3, "from_stage": 0, "to_stage": 1, "bytes": 16777216, "seconds": 0.014, "gbps": )" +
         std::to_string(pair_gbps) + R"(}]})";
}

std::vector<CheckRow> Judge(const std::string& json, std::optional<int> gpu1_mbps, std::optional<int> gpu2_mbps) {
  auto measured = ParseBenchComm(json);
  INFO(measured.status().ToString());
  REQUIRE(measured.ok());
  return EvaluateComm(TwoByTwo(), *measured, {{"gpu1", gpu1_mbps}, {"gpu2", gpu2_mbps}});
}

const CheckRow& RowOf(const std::vector<CheckRow>& rows, const std::string& item, std::size_t nth = 0) {
  for (const CheckRow& r : rows) {
    if (r.item == item && nth-- == 0) return r;
  }
  FAIL("no row " << item);
  return rows.front();
}

}  // namespace

TEST_CASE("A stage pair near its link's speed passes, with the measurement and the share of the link") {
  const auto rows = Judge(Measured(1.1), 10000, 25000);
  const CheckRow& pair = RowOf(rows, "stage 0 -> 1");
  CHECK(pair.verdict == Verdict::kPass);
  CHECK(pair.host == "gpu2");
  CHECK(pair.area == "comm");
  CHECK(pair.detail == "rank 0 (gpu1) -> rank 2 (gpu2): 1.100 GB/s for 16 MiB messages, 88% of the 10 Gb/s link "
                       "(1.250 GB/s)");
  CHECK(pair.fix.empty());
}

TEST_CASE("A stage pair far below its link's speed fails naming the slow pair and where to look") {
  const auto rows = Judge(Measured(0.1), 100000, 100000);
  const CheckRow& pair = RowOf(rows, "stage 0 -> 1");
  CHECK(pair.verdict == Verdict::kFail);
  CHECK(pair.detail == "rank 0 (gpu1) -> rank 2 (gpu2): 0.100 GB/s for 16 MiB messages, 1% of the 100 Gb/s link "
                       "(12.500 GB/s)");
  CHECK(pair.fix == "the traffic between gpu1 and gpu2 likely takes another interface or a slow hop: check the "
                    "interface in the network settings below (network.interface in the inventory) and the switch "
                    "path between the two hosts");
  CHECK(RowOf(rows, "stage 0 -> 1", 1).detail.rfind("rank 1 (gpu1) -> rank 3 (gpu2)", 0) == 0);
}

TEST_CASE("Between a quarter and a half of the link speed warns") {
  const auto rows = Judge(Measured(0.5), 10000, 10000);
  CHECK(RowOf(rows, "stage 0 -> 1").verdict == Verdict::kWarn);
}

TEST_CASE("The slower of the two hosts' interfaces sets the link speed") {
  const auto rows = Judge(Measured(0.5), 1000, 100000);
  const CheckRow& pair = RowOf(rows, "stage 0 -> 1");
  CHECK(pair.verdict == Verdict::kPass);
  CHECK(pair.detail.find("400% of the 1 Gb/s link (0.125 GB/s)") != std::string::npos);
}

TEST_CASE("An unknown link speed passes with the measurement and says there is nothing to compare") {
  const auto rows = Judge(Measured(0.01), std::nullopt, 10000);
  const CheckRow& pair = RowOf(rows, "stage 0 -> 1");
  CHECK(pair.verdict == Verdict::kPass);
  CHECK(pair.detail == "rank 0 (gpu1) -> rank 2 (gpu2): 0.010 GB/s for 16 MiB messages; link speed unknown, nothing "
                       "to compare");
}

TEST_CASE("Each stage's all-reduce is reported at the largest size, and one far below the best stage warns") {
  const auto fine = Judge(Measured(1.1), 10000, 10000);
  const CheckRow& stage0 = RowOf(fine, "stage 0 all-reduce");
  CHECK(stage0.verdict == Verdict::kPass);
  CHECK(stage0.host == "gpu1");
  CHECK(stage0.detail == "all-reduce of 16 MiB over ranks 0,1 (cuda): bus bandwidth 9.30 GB/s");
  CHECK(RowOf(fine, "stage 1 all-reduce").verdict == Verdict::kPass);

  const auto slow = Judge(Measured(1.1, /*stage1_busbw=*/0.5), 10000, 10000);
  const CheckRow& stage1 = RowOf(slow, "stage 1 all-reduce");
  CHECK(stage1.verdict == Verdict::kWarn);
  CHECK(stage1.host == "gpu2");
  CHECK(stage1.detail ==
        "all-reduce of 16 MiB over ranks 2,3 (cuda): bus bandwidth 0.50 GB/s, below a tenth of the best stage's "
        "9.30 GB/s");
  CHECK(stage1.fix == "look at how gpu2's GPUs are connected (nvidia-smi topo -m): a GPU on a slow PCIe slot or "
                      "across CPU sockets slows every all-reduce of its stage");
}

TEST_CASE("bench-comm output that is not the expected document is refused naming what is wrong") {
  CHECK(ParseBenchComm("not json").status().message() == "bench-comm output is not a JSON object: not json");
  CHECK(ParseBenchComm(R"({"device": "cpu", "all_reduce": []})").status().message() ==
        "bench-comm output: the document needs the arrays \"all_reduce\" and \"send_recv\"");
  CHECK(ParseBenchComm(R"({"device": "cpu", "all_reduce": [{"stage": 0}], "send_recv": []})").status().message() ==
        "bench-comm output: all_reduce[0] has no \"ranks\"");
  CHECK(ParseBenchComm(R"({"device": "cpu", "all_reduce": [], "send_recv": [{"from_rank": "x"}]})")
            .status()
            .message() == "bench-comm output: send_recv[0]'s \"from_rank\" is not a whole number");
}
