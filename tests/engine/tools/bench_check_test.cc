// bench's check (engine/tools/bench_check.h): greedy traces, a trace fed
// another's tokens, and the comparison of the two.
#include <catch2/catch.hpp>

#include "engine/backends/cpu/cpu_backend.h"
#include "engine/comm/local_comm.h"
#include "engine/model/load_model.h"
#include "engine/tools/bench_check.h"
#include "tiny_model.h"

using namespace engine;

namespace {

struct Fixture {
  testing::TempDir dir;
  CpuBackend backend;
  LocalComm comm;
  LoadedModel loaded;
  std::unique_ptr<KvCache> cache;

  Fixture() {
    REQUIRE(testing::WriteTinyModel(dir.path(), testing::TinyModelOptions{}).ok());
    loaded = std::move(*LoadModel(dir.path(), backend, comm));
    cache = std::make_unique<KvCache>(*KvCache::Allocate(backend, loaded.model->CacheShape(32, 4)));
  }
};

const std::vector<std::vector<std::int32_t>> kPrompts = {{3, 9, 27, 5}, {11, 2}, {7}};

}  // namespace

TEST_CASE("A greedy trace holds each sequence's argmax after its prompt and after every decode step") {
  Fixture f;
  auto trace = tools::TraceGreedy(*f.loaded.model, *f.cache, kPrompts, 5);
  REQUIRE(trace.ok());
  REQUIRE(trace->tokens.size() == 3);
  for (const auto& tokens : trace->tokens) CHECK(tokens.size() == 6);
  // The same again: the blocks came back and the steps are deterministic.
  CHECK(f.cache->num_free_blocks() == 32);
  auto again = tools::TraceGreedy(*f.loaded.model, *f.cache, kPrompts, 5);
  REQUIRE(again.ok());
  CHECK(again->tokens == trace->tokens);
  // Fed its own tokens, a model agrees with itself everywhere.
  auto followed = tools::TraceGreedy(*f.loaded.model, *f.cache, kPrompts, 5, &*trace);
  REQUIRE(followed.ok());
  CHECK(followed->tokens == trace->tokens);
  const tools::GreedyCheck check = tools::CompareTraces(*trace, *followed);
  CHECK(check.positions == 18);
  CHECK(check.same == 18);
  CHECK(check.largest_margin == 0);
}

TEST_CASE("Fed another trace's tokens, a model's margins are its top logit less its logit of that token") {
  Fixture f;
  tools::GreedyTrace other;
  for (std::size_t s = 0; s < kPrompts.size(); ++s) other.tokens.push_back(std::vector<std::int32_t>(4, 13));
  auto followed = tools::TraceGreedy(*f.loaded.model, *f.cache, kPrompts, 3, &other);
  REQUIRE(followed.ok());
  const tools::GreedyCheck check = tools::CompareTraces(other, *followed);
  CHECK(check.positions == 12);
  for (std::size_t s = 0; s < kPrompts.size(); ++s) {
    for (std::size_t t = 0; t < 4; ++t) {
      INFO("sequence " << s << ", position " << t);
      if (followed->tokens[s][t] == 13) {
        CHECK(followed->margins[s][t] == 0);
      } else {
        CHECK(followed->margins[s][t] > 0);  // the argmax is the lowest id among the largest: ties go to it
        CHECK(check.largest_margin >= followed->margins[s][t]);
      }
    }
  }
  CHECK(check.same < check.positions);  // a constant token is not this model's greedy choice everywhere
}

TEST_CASE("A trace that cannot get its KV blocks fails, naming the shortage, and holds none") {
  Fixture f;
  const std::vector<std::vector<std::int32_t>> long_prompts = {std::vector<std::int32_t>(40, 3),
                                                               std::vector<std::int32_t>(40, 5),
                                                               std::vector<std::int32_t>(40, 7),
                                                               std::vector<std::int32_t>(40, 9)};
  auto trace = tools::TraceGreedy(*f.loaded.model, *f.cache, long_prompts, 8);
  REQUIRE_FALSE(trace.ok());
  CHECK(trace.status().message() == "kv cache: 48 tokens need 12 more blocks of 4 but only 8 are free");
  CHECK(f.cache->num_free_blocks() == 32);
}
