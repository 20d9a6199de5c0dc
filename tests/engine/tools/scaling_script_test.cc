// scripts/gpu/scaling, the multi-GPU runs, as its header says a person
// checks it without GPUs: four CPU ranks talking through Gloo, the demo
// model, small cases. A machine with several GPUs runs this same flow with
// NCCL and real shapes, so here every layout must give one rank's greedy
// completions, a killed rank must end the world, bench-comm and every bench
// world and serve layout must run and report, and the summary must give
// each goal's ratio.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "common/subprocess.h"
#include "temp_dir.h"

using Catch::Matchers::Contains;

namespace {

const std::string kSource = CLUSTER_SOURCE_DIR;

std::string ReadFile(const std::filesystem::path& path) {
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("scripts/gpu/scaling on four CPU ranks: every layout gives one rank's completions, a killed rank ends the world, every bench and serve run reports") {
  cluster::testing::TempDir out("scaling");
  // The script's 200 ports lie below the kernel's ephemeral range
  // (32768 and up), where the connections of this test's own ranks and
  // clients, and of the tests beside it, take their local ports.
  const int base = 20000 + static_cast<int>(::getpid() % 60) * 200;
  const std::map<std::string, std::string> env = {
      {"DEVICE", "cpu"},
      {"GPUS", "4"},
      {"BENCH_MODEL", kSource + "/models/demo"},
      {"BENCH_SLICE_MODEL", kSource + "/models/demo"},
      {"ENGINE", INFER_ENGINE_BIN},
      {"SERVE_BENCH", SERVE_BENCH_BIN},
      {"BENCH_ARGS", "--batch 1,4 --context 64 --prefill 128 --steps 2"},
      {"SERVE_ARGS", "--prompt-tokens 32 --max-tokens 16"},
      {"OUT", out.path.string()},
      {"PORT_BASE", std::to_string(base)},
  };
  auto run = cluster::RunProcessWithin({kSource + "/scripts/gpu/scaling"}, 600'000, "", env);
  REQUIRE(run.ok());
  INFO("stdout: " << run->out << "\nstderr: " << run->err << "\nranks: " << ReadFile(out.path / "scaling-ranks.log"));
  CHECK(run->exit_code == 0);
  const std::string summary = ReadFile(out.path / "scaling-summary.log");
  // Correctness: every layout, over Gloo here, gives one rank's greedy completions.
  const std::string served = out.path.string() + "/fixture-";
  for (const std::string& model :
       {std::string("models/demo"), served + "llama-gqa-llama3rope", served + "qwen2-bias"}) {
    for (const char* layout : {"TP2 x PP1", "TP1 x PP2", "TP4 x PP1", "TP2 x PP2", "TP1 x PP2 (sockets only)"}) {
      CHECK_THAT(summary, Contains(model + " " + layout + ": the same as TP1\n"));
    }
  }
  CHECK_THAT(summary, !Contains("DIFFERENT"));
  CHECK_THAT(summary, Contains("rank 1 killed: rank 0 ended after "));
  CHECK_THAT(summary, Contains(" s, naming rank 1 (scaling-kill-rank0.log)\n"));
  for (const char* world : {"8b TP1", "8b TP2", "8b TP4", "70b-slice TP1", "70b-slice TP2", "70b-slice TP4"}) {
    CHECK_THAT(summary, Contains(std::string(world) + ": batch 1 "));
  }
  CHECK_THAT(summary, Contains("70b-slice: batch-1 decode TP2 -> TP4 speed-up "));
  for (const char* layout : {"TP4", "TP2 x PP2", "TP1 x 4 replicas", "PP2", "PP2 sockets only"}) {
    CHECK_THAT(summary, Contains("serve " + std::string(layout) + ": "));
  }
  CHECK_THAT(summary, Contains("saturated TP2 x PP2 / TP4: "));
  CHECK_THAT(summary, Contains("saturated TP1 x 4 replicas / TP4: "));
  CHECK_THAT(summary, Contains("saturated PP2 sockets only / PP2: "));
  const std::string comm = ReadFile(out.path / "scaling-comm.log");
  CHECK_THAT(comm, Contains("=== bench-comm TP4\nbench-comm: 4 ranks (tensor_parallel 4 x pipeline_parallel 1)"));
  CHECK_THAT(comm, Contains("=== bench-comm PP2 sockets only\nbench-comm: 2 ranks (tensor_parallel 1 x "
                            "pipeline_parallel 2)"));
  // Every rank of every world was stopped by rank 0, none killed.
  CHECK_THAT(ReadFile(out.path / "scaling-ranks.log"), !Contains("error"));
}

TEST_CASE("scripts/gpu/scaling on a machine with fewer than two GPUs says skipped, with the reason, and exits 0") {
  cluster::testing::TempDir out("scaling");
  auto run = cluster::RunProcessWithin({kSource + "/scripts/gpu/scaling"}, 60'000, "",
                                       {{"GPUS", "1"}, {"OUT", out.path.string()}});
  REQUIRE(run.ok());
  CHECK(run->exit_code == 0);
  CHECK(run->out == "skipped: the multi-GPU runs need 2 GPUs, this machine has 1\n");
}
