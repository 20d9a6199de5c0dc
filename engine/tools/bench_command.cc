// infer-engine bench: the engine's speed on one device against that
// device's limits, measured in one run (docs/benchmarks.md).
//
//   infer-engine bench --model DIR [--device cpu|cuda[:N]] [--dtype ...]
//       [--batch 1,8,32,64,128] [--context 512,4096] [--prefill 512,2048,8192]
//       [--steps 8] [--no-check] [--json]
//       [--world-size N --rank R --tensor-parallel T --pipeline-parallel P --rendezvous ADDRESS:PORT
//        [--collectives auto|nccl|gloo|gloo-through-host] [--join-timeout S]]
//
// It names the device (on a GPU also the NVIDIA driver's version, from
// /proc/driver/nvidia/version). First the roofs, measured here and now with
// the backend's own ops: memory bandwidth by a device-to-device copy of 256
// MiB (GatherRows of every row: read once, written once) and compute by a
// square GEMM (Linear; 8192 on a GPU, 1024 on the CPU) in the compute dtype.
// Then:
//   decode: `batch` sequences each at `context` tokens take `--steps` steps
//     of one token each (after one untimed step); the time per step, tokens
//     per second, and the bytes a step must read (bench_math.h) per second
//     as a share of the measured bandwidth;
//   prefill: one sequence of N tokens in one step (after one untimed run):
//     tokens per second, and its FLOPs per second as a share of the GEMM's.
// The KV cache holds no real context (the keys and values are whatever the
// cache holds): the work and the bytes read are those of real steps, the
// numbers are not. A case the KV cache or the step limits cannot hold is
// listed as skipped, with the reason. A benchmark, never a test: nothing
// here passes or fails on speed. Last, unless --no-check, the check of
// bench_check.h: the timed engine's greedy tokens against an unoptimised
// engine's (--eager --batch-invariant), which is loaded once the timed one
// is gone; on the CPU both are the same batch-invariant code.
//
// In a world of several ranks (started as serve's are, the job's token in
// INFER_ENGINE_RENDEZVOUS_TOKEN) rank 0 runs the cases over the world
// (WorldModel: every rank runs its shard of each step) and reports; the
// other ranks follow and print nothing. Steps go one at a time, so the
// pipeline's stages take turns, as a lone sequence's decode makes them. The
// roofs are rank 0's card's, and a step's bytes and FLOPs count divided by
// the tensor-parallel size: the ranks of a stage share them and the stages
// run one after another, so a world at the roofs takes that long a step.
//
// Exit codes: 0 measured; 1 the engine failed (the message says why); 2 bad flags.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/backends/factory/backend_factory.h"
#include "engine/tools/bench_check.h"
#include "engine/tools/bench_math.h"
#include "engine/tools/command_support.h"
#include "engine/tools/commands.h"
#include "engine/tools/engine_setup.h"
#include "engine/tools/nvidia_driver.h"

namespace engine::tools {
namespace {

using Clock = std::chrono::steady_clock;

struct BenchFlags {
  std::string model;
  EngineOptions engine;
  std::vector<std::int64_t> batches = {1, 8, 32, 64, 128};
  std::vector<std::int64_t> contexts = {512, 4096};
  std::vector<std::int64_t> prefills = {512, 2048, 8192};
  int steps = 8;
  bool check = true;
  bool json = false;
};

// The check's size: a few sequences of a short prompt, some decode steps
// (recorded and replayed on a GPU, since they are few).
constexpr int kCheckSequences = 4;
constexpr int kCheckPromptTokens = 16;
constexpr int kCheckSteps = 32;

double Since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

bool OnCpu(Backend& backend) { return !backend.Memory().has_value(); }

// Runs `op` once untimed, then `repeats` times; the best time in seconds.
StatusOr<double> BestTime(Backend& backend, int repeats, const std::function<Status()>& op) {
  double best = 1e30;
  for (int i = 0; i <= repeats; ++i) {
    const auto start = Clock::now();
    CLUSTER_RETURN_IF_ERROR(op());
    CLUSTER_RETURN_IF_ERROR(backend.Synchronize());
    if (i > 0) best = std::min(best, Since(start));
  }
  return best;
}

// Bytes per second of a 256 MiB device-to-device copy (read + write).
StatusOr<double> CopyBandwidth(Backend& backend) {
  const DType t = backend.compute_dtype();
  const std::int64_t cols = 4096, rows = (std::int64_t{256} << 20) / (cols * static_cast<std::int64_t>(DTypeSize(t)));
  CLUSTER_ASSIGN_OR_RETURN(Tensor x, backend.Allocate({rows, cols}, t));
  CLUSTER_ASSIGN_OR_RETURN(Tensor out, backend.Allocate({rows, cols}, t));
  CLUSTER_ASSIGN_OR_RETURN(Tensor ids, backend.Allocate({rows}, DType::kI32));
  std::vector<std::int32_t> every(static_cast<std::size_t>(rows));
  for (std::int64_t r = 0; r < rows; ++r) every[static_cast<std::size_t>(r)] = static_cast<std::int32_t>(r);
  CLUSTER_RETURN_IF_ERROR(backend.CopyFromHost(ids, HostMatrix{every.data(), DType::kI32, 1, rows, rows}).status());
  CLUSTER_ASSIGN_OR_RETURN(double seconds, BestTime(backend, 5, [&] { return backend.GatherRows(out, x, ids); }));
  return 2.0 * static_cast<double>(x.num_bytes()) / seconds;
}

// FLOPs per second of an n x n x n GEMM in the compute dtype; n in *size.
StatusOr<double> GemmFlops(Backend& backend, std::int64_t* size) {
  const DType t = backend.compute_dtype();
  const std::int64_t n = OnCpu(backend) ? 1024 : 8192;
  *size = n;
  CLUSTER_ASSIGN_OR_RETURN(Tensor x, backend.Allocate({n, n}, t));
  CLUSTER_ASSIGN_OR_RETURN(Tensor w, backend.Allocate({n, n}, t));
  CLUSTER_ASSIGN_OR_RETURN(Tensor out, backend.Allocate({n, n}, t));
  const Tensor no_bias;
  CLUSTER_ASSIGN_OR_RETURN(double seconds,
                           BestTime(backend, OnCpu(backend) ? 1 : 5, [&] { return backend.Linear(out, x, w, no_bias); }));
  return 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n) / seconds;
}

struct DecodeRow {
  std::int64_t batch = 0, context = 0;
  std::string skipped;  // the reason, when not measured
  double step_s = 0, bytes = 0;
};

// How a step's bytes and FLOPs count (above): divided by `tensor_parallel`.
struct Scale {
  double element_bytes = 0;  // of a weight and of a cached key or value
  int tensor_parallel = 1;
};

// `batch` sequences at positions context, context + 1, ...: --steps timed steps.
StatusOr<DecodeRow> Decode(Engine& e, LanguageModel& model, std::int64_t batch, std::int64_t context, int steps,
                           const Scale& scale) {
  DecodeRow row{batch, context};
  KvCache& cache = *e.cache;
  const std::int64_t last = context + steps + 1;  // tokens each sequence holds at the end
  if (batch > e.limits.max_seqs) {
    row.skipped = "more sequences than --max-running-sequences";
    return row;
  }
  if (last > e.context) {
    row.skipped = "longer than the model's context";
    return row;
  }
  const std::int64_t blocks = batch * ((last + cache.block_size() - 1) / cache.block_size());
  if (blocks > cache.num_free_blocks()) {
    row.skipped = "needs " + std::to_string(blocks) + " KV blocks, the cache holds " +
                  std::to_string(cache.num_free_blocks());
    return row;
  }
  std::vector<KvBlockTable> tables(static_cast<std::size_t>(batch));
  for (auto& t : tables) CLUSTER_RETURN_IF_ERROR(cache.Reserve(t, last));
  // One token per sequence; each step moves every position on by one.
  ForwardBatch b;
  b.attention.block_size = cache.block_size();
  for (std::int64_t s = 0; s < batch; ++s) {
    b.token_ids.push_back(static_cast<std::int32_t>((s * 7919) % model.config().vocab_size));
    b.attention.token_seq.push_back(static_cast<std::int32_t>(s));
    b.attention.positions.push_back(static_cast<std::int32_t>(context));
    b.attention.block_tables.push_back(tables[static_cast<std::size_t>(s)].blocks);
    b.logit_rows.push_back(static_cast<std::int32_t>(s));
  }
  b.full_logits.assign(static_cast<std::size_t>(batch), false);  // greedy: the argmax only
  double total = 0;
  for (int step = 0; step <= steps; ++step) {
    for (std::int32_t& p : b.attention.positions) p = static_cast<std::int32_t>(context + step);
    const auto start = Clock::now();
    auto logits = model.Forward(b, cache);  // returns once the argmax is on the host
    if (step > 0) total += Since(start);
    if (!logits.ok()) {
      for (auto& t : tables) cache.Release(t);
      return logits.status();
    }
  }
  for (auto& t : tables) cache.Release(t);
  row.step_s = total / steps;
  const ModelConfig& config = model.config();
  row.bytes = DecodeBytesPerStep(config, scale.element_bytes, batch, context + steps / 2,
                                 KvBytesPerToken(config, scale.element_bytes)) /
              scale.tensor_parallel;
  return row;
}

struct PrefillRow {
  std::int64_t tokens = 0;
  std::string skipped;
  double seconds = 0, flops = 0;
};

StatusOr<PrefillRow> Prefill(Engine& e, LanguageModel& model, std::int64_t tokens, const Scale& scale) {
  PrefillRow row{tokens};
  KvCache& cache = *e.cache;
  if (tokens > e.limits.max_tokens || tokens > e.context) {
    row.skipped = "longer than a step (--max-batch-tokens) or the model's context";
    return row;
  }
  KvBlockTable table;
  if (!cache.Reserve(table, tokens).ok()) {
    row.skipped = "the KV cache cannot hold it";
    return row;
  }
  std::vector<std::int32_t> ids;
  for (std::int64_t i = 0; i < tokens; ++i) ids.push_back(static_cast<std::int32_t>((i * 7919 + 13) % model.config().vocab_size));
  ForwardBatch b = OneSequenceStep(ids, 0, table.blocks, cache.block_size());
  b.logit_rows = {static_cast<std::int32_t>(tokens - 1)};
  b.full_logits = {false};
  auto seconds = BestTime(*e.backend, 2, [&] { return model.Forward(b, cache).status(); });
  cache.Release(table);
  CLUSTER_RETURN_IF_ERROR(seconds.status());
  row.seconds = *seconds;
  row.flops = PrefillFlops(model.config(), tokens) / scale.tensor_parallel;
  return row;
}

struct CheckRow {
  std::string skipped;  // the reason, when not run
  GreedyCheck result;
};

// The check of bench_check.h on `timed`, which it gives back (resets)
// before it loads the unoptimised engine. An exit code (kExitOk: `row` is
// filled in).
int Check(const BenchFlags& f, EngineOptions options, std::unique_ptr<Engine>& timed, CheckRow& row) {
  if (!f.check) {
    row.skipped = "--no-check";
    return kExitOk;
  }
  if (options.world.world_size > 1) {
    row.skipped = "in a world of several ranks (scripts/gpu/scaling compares the layouts' tokens)";
    return kExitOk;
  }
  const std::int64_t vocab = timed->loaded.model->config().vocab_size;
  const int steps = static_cast<int>(std::min<std::int64_t>(kCheckSteps, timed->context - kCheckPromptTokens));
  if (steps < 1) {
    row.skipped = "the model's context is shorter than the check's prompt";
    return kExitOk;
  }
  std::vector<std::vector<std::int32_t>> prompts(kCheckSequences);
  for (int s = 0; s < kCheckSequences; ++s) {
    for (int i = 0; i < kCheckPromptTokens; ++i) {
      prompts[s].push_back(static_cast<std::int32_t>((s * 131 + i * 7919 + 5) % vocab));
    }
  }
  auto trace = TraceGreedy(*timed->loaded.model, *timed->cache, prompts, steps);
  if (!trace.ok()) return Failure(trace.status());
  timed.reset();  // its device memory back before the other engine loads
  options.eager = true;
  options.batch_invariant = true;
  options.max_running_sequences = kCheckSequences;
  options.max_batch_tokens = kCheckSequences * kCheckPromptTokens;
  options.kv_cache_blocks = kCheckSequences * ((kCheckPromptTokens + steps + options.block_size - 1) / options.block_size);
  std::unique_ptr<Engine> reference;
  if (int code = StartEngine(f.model, options, reference); code != kExitOk) return code;
  auto followed = TraceGreedy(*reference->loaded.model, *reference->cache, prompts, steps, &*trace);
  if (!followed.ok()) return Failure(followed.status());
  row.result = CompareTraces(*trace, *followed);
  return kExitOk;
}

std::string Percent(double part, double whole) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f%%", 100.0 * part / whole);
  return text;
}

int RunBench(const BenchFlags& f) {
  EngineOptions options = f.engine;
  options.max_running_sequences = std::max(options.max_running_sequences, *std::max_element(f.batches.begin(), f.batches.end()));
  options.max_batch_tokens = std::max({options.max_batch_tokens, options.max_running_sequences,
                                       *std::max_element(f.prefills.begin(), f.prefills.end())});
  if (options.world.rank != 0) return RunFollowerRank(f.model, options);
  std::unique_ptr<Engine> e;
  if (int code = StartEngine(f.model, options, e); code != kExitOk) return code;
  Backend& backend = *e->backend;
  // The device, and on a GPU the driver's version, which the runtime does not tell.
  std::string device = backend.Describe();
  const std::string driver = OnCpu(backend) ? "" : NvidiaDriverVersion();
  if (!driver.empty()) device += "; NVIDIA driver " + driver;
  const ModelConfig config = e->loaded.model->config();  // a copy: the check gives the engine back
  const WorldFlags& world = options.world;
  const Scale scale{static_cast<double>(DTypeSize(backend.compute_dtype())), world.tensor_parallel};
  std::optional<WorldModel> world_model;
  LanguageModel& model = RankZeroModel(*e, world_model);

  auto bandwidth = CopyBandwidth(backend);
  if (!bandwidth.ok()) return Failure(bandwidth.status());
  std::int64_t gemm_n = 0;
  auto flops = GemmFlops(backend, &gemm_n);
  if (!flops.ok()) return Failure(flops.status());

  std::vector<DecodeRow> decode;
  for (std::int64_t context : f.contexts) {
    for (std::int64_t batch : f.batches) {
      auto row = Decode(*e, model, batch, context, f.steps, scale);
      if (!row.ok()) return Failure(row.status());
      decode.push_back(*row);
    }
  }
  std::vector<PrefillRow> prefill;
  for (std::int64_t tokens : f.prefills) {
    auto row = Prefill(*e, model, tokens, scale);
    if (!row.ok()) return Failure(row.status());
    prefill.push_back(*row);
  }
  if (world_model) {
    if (Status s = world_model->Stop(); !s.ok()) return Failure(s);
  }
  CheckRow check;
  if (int code = Check(f, options, e, check); code != kExitOk) return code;

  if (f.json) {
    nlohmann::json out = {{"device", device},
                          {"model", f.model},
                          {"memory_bandwidth_bytes_per_s", *bandwidth},
                          {"gemm_size", gemm_n},
                          {"gemm_flops_per_s", *flops},
                          {"world",
                           {{"ranks", world.world_size},
                            {"tensor_parallel", world.tensor_parallel},
                            {"pipeline_parallel", world.pipeline_parallel}}},
                          {"decode", nlohmann::json::array()},
                          {"prefill", nlohmann::json::array()}};
    for (const DecodeRow& r : decode) {
      nlohmann::json row = {{"batch", r.batch}, {"context", r.context}};
      if (!r.skipped.empty()) {
        row["skipped"] = r.skipped;
      } else {
        row.update({{"ms_per_step", r.step_s * 1e3},
                    {"tokens_per_s", static_cast<double>(r.batch) / r.step_s},
                    {"bytes_per_step", r.bytes},
                    {"bytes_per_s", r.bytes / r.step_s},
                    {"fraction_of_bandwidth", r.bytes / r.step_s / *bandwidth}});
      }
      out["decode"].push_back(row);
    }
    for (const PrefillRow& r : prefill) {
      nlohmann::json row = {{"tokens", r.tokens}};
      if (!r.skipped.empty()) {
        row["skipped"] = r.skipped;
      } else {
        row.update({{"ms", r.seconds * 1e3},
                    {"tokens_per_s", static_cast<double>(r.tokens) / r.seconds},
                    {"flops_per_s", r.flops / r.seconds},
                    {"fraction_of_gemm", r.flops / r.seconds / *flops}});
      }
      out["prefill"].push_back(row);
    }
    if (!check.skipped.empty()) {
      out["check"] = {{"skipped", check.skipped}};
    } else {
      out["check"] = {{"sequences", kCheckSequences},
                      {"positions", check.result.positions},
                      {"same", check.result.same},
                      {"largest_margin_where_different", check.result.largest_margin}};
    }
    std::printf("%s\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return kExitOk;
  }
  std::printf("device    %s\n", device.c_str());
  std::printf("model     %s: %lld layers, hidden %lld, %lld/%lld heads, vocab %lld; %.2f GB read per decode step "
              "before the KV cache\n",
              f.model.c_str(), static_cast<long long>(config.num_hidden_layers),
              static_cast<long long>(config.hidden_size), static_cast<long long>(config.num_attention_heads),
              static_cast<long long>(config.num_key_value_heads), static_cast<long long>(config.vocab_size),
              MatmulWeights(config) * scale.element_bytes / 1e9);
  if (world.world_size > 1) {
    std::printf("world     %d ranks, tensor parallel %d x pipeline parallel %d: rank 0's roofs; a step's bytes and "
                "FLOPs / %d (a stage's ranks share them, the stages take turns)\n",
                world.world_size, world.tensor_parallel, world.pipeline_parallel, world.tensor_parallel);
  }
  std::printf("roofs     memory %.1f GB/s (copy of 256 MiB), compute %.3g TFLOP/s (%lld^3 GEMM)\n\n", *bandwidth / 1e9,
              *flops / 1e12, static_cast<long long>(gemm_n));
  std::printf("decode  batch  context   ms/step   tokens/s      GB/s  of memory roof\n");
  for (const DecodeRow& r : decode) {
    if (!r.skipped.empty()) {
      std::printf("        %5lld  %7lld   skipped: %s\n", static_cast<long long>(r.batch),
                  static_cast<long long>(r.context), r.skipped.c_str());
      continue;
    }
    std::printf("        %5lld  %7lld  %8.3f  %9.1f  %8.1f  %s\n", static_cast<long long>(r.batch),
                static_cast<long long>(r.context), r.step_s * 1e3, static_cast<double>(r.batch) / r.step_s,
                r.bytes / r.step_s / 1e9, Percent(r.bytes / r.step_s, *bandwidth).c_str());
  }
  std::printf("\nprefill  tokens        ms   tokens/s   TFLOP/s  of compute roof\n");
  for (const PrefillRow& r : prefill) {
    if (!r.skipped.empty()) {
      std::printf("        %7lld   skipped: %s\n", static_cast<long long>(r.tokens), r.skipped.c_str());
      continue;
    }
    std::printf("        %7lld  %8.2f  %9.1f  %8.3g  %s\n", static_cast<long long>(r.tokens), r.seconds * 1e3,
                static_cast<double>(r.tokens) / r.seconds, r.flops / r.seconds / 1e12,
                Percent(r.flops / r.seconds, *flops).c_str());
  }
  if (!check.skipped.empty()) {
    std::printf("\ncheck    skipped: %s\n", check.skipped.c_str());
  } else {
    std::printf("\ncheck    greedy tokens of %d sequences, %lld positions: %lld the same as an unoptimised engine's "
                "(--eager --batch-invariant) fed the same tokens",
                kCheckSequences, static_cast<long long>(check.result.positions),
                static_cast<long long>(check.result.same));
    if (check.result.same < check.result.positions) {
      std::printf("; where they differ, its top logit is at most %.4g above its logit of the timed engine's pick",
                  check.result.largest_margin);
    }
    std::printf("\n");
  }
  return kExitOk;
}

}  // namespace

Subcommand AddBenchCommand(CLI::App& parent) {
  auto f = std::make_shared<BenchFlags>();
  CLI::App* app = parent.add_subcommand("bench", "Measure decode and prefill speed against this device's measured limits");
  app->add_option("--model", f->model, "Model folder (config.json, *.safetensors)")->required()->check(CLI::ExistingDirectory);
  AddEngineFlags(app, f->engine, "Device");
  const char* world = "World (as serve's ranks take it)";
  AddWorldFlags(app, f->engine.world, world);
  app->add_option("--collectives", f->engine.world.collectives,
                  "auto (cpu: gloo, cuda: nccl), nccl, gloo, or gloo-through-host (ranks sharing one GPU)")
      ->group(world)
      ->capture_default_str();
  app->add_option("--batch", f->batches, "Decode batch sizes")->delimiter(',')->check(CLI::Range(1, 4096))->capture_default_str();
  app->add_option("--context", f->contexts, "Decode context lengths (tokens)")
      ->delimiter(',')
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  app->add_option("--prefill", f->prefills, "Prefill lengths (tokens)")
      ->delimiter(',')
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  app->add_option("--steps", f->steps, "Timed decode steps per case")->check(CLI::Range(1, 10000))->capture_default_str();
  app->add_flag("!--no-check", f->check,
                "Skip the check of the greedy tokens against an unoptimised engine (--eager --batch-invariant)");
  app->add_flag("--json", f->json, "Print one JSON object");
  return {app, [f] { return RunBench(*f); }};
}

}  // namespace engine::tools
