#include "engine/tools/bench_check.h"

#include <algorithm>

namespace engine::tools {

StatusOr<GreedyTrace> TraceGreedy(LanguageModel& model, KvCache& cache,
                                  const std::vector<std::vector<std::int32_t>>& prompts, int steps,
                                  const GreedyTrace* follow) {
  const std::size_t seqs = prompts.size();
  std::vector<KvBlockTable> tables(seqs);
  const auto release = [&] {
    for (KvBlockTable& t : tables) cache.Release(t);
  };
  for (std::size_t s = 0; s < seqs; ++s) {
    if (Status r = cache.Reserve(tables[s], static_cast<std::int64_t>(prompts[s].size()) + steps); !r.ok()) {
      release();
      return r;
    }
  }
  GreedyTrace trace;
  trace.tokens.resize(seqs);
  trace.margins.resize(seqs);
  // One step: the sequences' tokens `ids[s]` from position `start[s]` on;
  // the last token of each gives the next argmax.
  const auto step = [&](const std::vector<std::vector<std::int32_t>>& ids,
                        const std::vector<std::int32_t>& start, std::size_t t) -> Status {
    ForwardBatch b;
    b.attention.block_size = cache.block_size();
    for (std::size_t s = 0; s < seqs; ++s) {
      b.attention.block_tables.push_back(tables[s].blocks);
      for (std::size_t i = 0; i < ids[s].size(); ++i) {
        b.token_ids.push_back(ids[s][i]);
        b.attention.token_seq.push_back(static_cast<std::int32_t>(s));
        b.attention.positions.push_back(start[s] + static_cast<std::int32_t>(i));
      }
      b.logit_rows.push_back(static_cast<std::int32_t>(b.token_ids.size()) - 1);
    }
    b.full_logits.assign(seqs, follow != nullptr);
    CLUSTER_ASSIGN_OR_RETURN(Logits logits, model.Forward(b, cache));
    for (std::size_t s = 0; s < seqs; ++s) {
      const std::int32_t mine = logits.argmax[s];
      trace.tokens[s].push_back(mine);
      float margin = 0;
      if (follow != nullptr) {
        const auto row = logits.row(static_cast<std::int64_t>(s));
        margin = row[static_cast<std::size_t>(mine)] - row[static_cast<std::size_t>(follow->tokens[s][t])];
      }
      trace.margins[s].push_back(margin);
    }
    return Status::Ok();
  };
  std::vector<std::int32_t> start(seqs, 0);
  Status status = step(prompts, start, 0);
  for (int t = 1; t <= steps && status.ok(); ++t) {
    std::vector<std::vector<std::int32_t>> next(seqs);
    for (std::size_t s = 0; s < seqs; ++s) {
      const GreedyTrace& inputs = follow != nullptr ? *follow : trace;
      next[s] = {inputs.tokens[s][static_cast<std::size_t>(t - 1)]};
      start[s] = static_cast<std::int32_t>(prompts[s].size()) + t - 1;
    }
    status = step(next, start, static_cast<std::size_t>(t));
  }
  release();
  if (!status.ok()) return status;
  return trace;
}

GreedyCheck CompareTraces(const GreedyTrace& timed, const GreedyTrace& reference) {
  GreedyCheck c;
  for (std::size_t s = 0; s < timed.tokens.size(); ++s) {
    for (std::size_t t = 0; t < timed.tokens[s].size(); ++t) {
      ++c.positions;
      if (timed.tokens[s][t] == reference.tokens[s][t]) {
        ++c.same;
      } else {
        c.largest_margin = std::max(c.largest_margin, static_cast<double>(reference.margins[s][t]));
      }
    }
  }
  return c;
}

}  // namespace engine::tools
