// Reading the `vllm serve` arguments that size memory: both spellings of a
// flag, the last one winning, and the value vLLM would refuse named exactly.
#include "runtimes/vllm_docker/vllm_serve_args.h"

#include <catch2/catch.hpp>

using namespace cluster;
using namespace cluster::inventory;

namespace {

std::string ErrorOf(const std::vector<std::string>& args, std::size_t* index = nullptr) {
  VllmArgError error;
  const auto read = ReadVllmServeMemoryArgs(args, &error);
  REQUIRE_FALSE(read.ok());
  CHECK(read.status().message() == error.message);
  if (index) *index = error.index;
  return error.message;
}

}  // namespace

TEST_CASE("The memory flags are read as --flag VALUE or --flag=VALUE, other flags are vLLM's") {
  const auto read = ReadVllmServeMemoryArgs({"--enforce-eager", "--max-model-len", "8192",
                                             "--gpu-memory-utilization=0.85", "--kv-cache-dtype", "fp8_e5m2",
                                             "--max-num-seqs=32", "-q", "fp8", "--trust-remote-code"});
  REQUIRE(read.ok());
  CHECK(read->max_model_len == 8192);
  CHECK(read->gpu_memory_utilization == 0.85);
  CHECK(read->kv_cache_dtype == "fp8_e5m2");
  CHECK(read->fp8_kv_cache());
  CHECK(read->max_num_seqs == 32);
  CHECK(read->fp8_weights());
  CHECK(read->not_modeled.empty());

  const auto none = ReadVllmServeMemoryArgs({});
  REQUIRE(none.ok());
  CHECK_FALSE(none->max_model_len);
  CHECK_FALSE(none->fp8_kv_cache());
}

TEST_CASE("Flags that change memory in ways plan does not model are listed") {
  const auto read = ReadVllmServeMemoryArgs({"--speculative-config", "{}", "--quantization=gptq",
                                             "--num-gpu-blocks-override", "100"});
  REQUIRE(read.ok());
  CHECK(read->not_modeled ==
        std::vector<std::string>{"--speculative-config", "--num-gpu-blocks-override", "--quantization gptq"});
}

TEST_CASE("A value vLLM would refuse is an error naming the flag, its index and what it needs") {
  std::size_t index = 99;
  CHECK(ErrorOf({"--enforce-eager", "--max-model-len", "8k"}, &index) ==
        "--max-model-len needs a whole number of tokens >= 1, found \"8k\"");
  CHECK(index == 1);
  CHECK(ErrorOf({"--gpu-memory-utilization=90"}, &index) ==
        "--gpu-memory-utilization needs a fraction greater than 0 and at most 1 (0.9 for 90%), found \"90\"");
  CHECK(index == 0);
  CHECK(ErrorOf({"--kv-cache-dtype", "int8"}) == "--kv-cache-dtype needs auto, fp8, fp8_e4m3 or fp8_e5m2, found \"int8\"");
  CHECK(ErrorOf({"--max-num-seqs", "0"}) == "--max-num-seqs needs a whole number of sequences >= 1, found \"0\"");
  CHECK(ErrorOf({"--max-model-len", "--enforce-eager"}, &index) == "--max-model-len needs a value");
  CHECK(index == 0);
  CHECK(ErrorOf({"--max-num-seqs"}) == "--max-num-seqs needs a value");
}
