// The memory estimate; the arithmetic and conventions are in memory_plan.h.
#include "common/inventory/memory_plan.h"

#include "common/inventory/runtime_definition.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string_view>

namespace cluster::inventory {
namespace {

std::uint64_t CeilDiv(std::uint64_t n, std::uint64_t d) { return (n + d - 1) / d; }

std::string Plural(std::uint64_t n, const char* word) {
  return FormatCount(n) + " " + word + (n == 1 ? "" : "s");
}

const Host* FindHost(const Inventory& inventory, const std::string& name, size_t* index) {
  for (size_t i = 0; i < inventory.hosts.size(); ++i) {
    if (inventory.hosts[i].name == name) {
      *index = i;
      return &inventory.hosts[i];
    }
  }
  return nullptr;
}

// "a T4 (16.11 GB)", "an A100-80GB (85.90 GB)" or "a GPU of 16.00 GB". GPU names
// are read letter by letter, so the article follows the first letter's sound.
std::string GpuPhrase(const StageMemory& s) {
  const std::string size = FormatGigabytes(static_cast<std::int64_t>(*s.gpu.bytes));
  if (s.gpu.label == "GPU") return "a GPU of " + size;
  const bool vowel_sound = std::string_view("AEFHILMNORSXaefhilmnorsx").find(s.gpu.label.front()) !=
                           std::string_view::npos;
  return (vowel_sound ? "an " : "a ") + s.gpu.label + " (" + size + ")";
}

std::string StageName(const StageMemory& s) {
  return "stage " + std::to_string(s.stage) + " (host " + s.host + ")";
}

// How many GPUs of the stage's kind `bytes` (the whole model's weights, and
// KV cache where `what` says so) need at the least, each holding
// usable - reserve of it: "the model's 141.11 GB of weights need at least 11
// T4s (13.42 GB each after the runtime reserve), this plan uses 8". A lower
// bound: the embedding and lm_head shards and the parallel layout add to it.
std::string GpusNeeded(const StageMemory& s, std::uint64_t bytes, const std::string& what, int gpus_in_plan,
                       const std::string& fraction_key) {
  const std::string kind = s.gpu.label == "GPU" ? "GPUs of " + FormatGigabytes(static_cast<std::int64_t>(*s.gpu.bytes))
                                                 : s.gpu.label + "s";
  if (*s.usable_bytes <= s.reserve_bytes) {
    return fmt::format("a {} at this gpu_memory_fraction has no room beyond the runtime reserve; raise {}",
                       s.gpu.label, fraction_key);
  }
  const std::uint64_t room = *s.usable_bytes - s.reserve_bytes;
  return fmt::format("the model's {} need at least {} {} ({} each after the runtime reserve), this plan uses {}",
                     what, FormatCount(CeilDiv(bytes, room)), kind, FormatGigabytes(static_cast<std::int64_t>(room)),
                     gpus_in_plan);
}

}  // namespace

RankParameters RankParameterSplit(const ModelFacts& f, int tensor_parallel, int layers, bool first_stage,
                                  bool last_stage) {
  const std::uint64_t tp = static_cast<std::uint64_t>(tensor_parallel);
  const std::uint64_t hidden = static_cast<std::uint64_t>(f.hidden_size);
  const std::uint64_t head_dim = static_cast<std::uint64_t>(f.head_dim);
  const std::uint64_t heads = CeilDiv(static_cast<std::uint64_t>(f.num_attention_heads), tp);
  const std::uint64_t kv_heads = CeilDiv(static_cast<std::uint64_t>(f.num_key_value_heads), tp);
  const std::uint64_t intermediate = CeilDiv(static_cast<std::uint64_t>(f.intermediate_size), tp);
  const std::uint64_t vocab = CeilDiv(static_cast<std::uint64_t>(f.vocab_size), tp);

  const std::uint64_t linear_per_layer = hidden * heads * head_dim          // q_proj
                                         + 2 * hidden * kv_heads * head_dim  // k_proj, v_proj
                                         + heads * head_dim * hidden         // o_proj
                                         + 3 * hidden * intermediate;        // gate, up, down
  const std::uint64_t other_per_layer = 2 * hidden  // two RMSNorms, replicated
                                        + (f.attention_bias ? (heads + 2 * kv_heads) * head_dim : 0);
  RankParameters p;
  p.linear = linear_per_layer * static_cast<std::uint64_t>(layers);
  p.other = other_per_layer * static_cast<std::uint64_t>(layers);
  if (first_stage) p.other += vocab * hidden;  // embedding, vocab-parallel
  if (last_stage) {
    if (!(f.tie_word_embeddings && first_stage)) p.other += vocab * hidden;  // lm_head
    p.other += hidden;                                                       // final norm
  }
  return p;
}

std::uint64_t RankParameterCount(const ModelFacts& f, int tensor_parallel, int layers, bool first_stage,
                                 bool last_stage) {
  return RankParameterSplit(f, tensor_parallel, layers, first_stage, last_stage).total();
}

MemorySettings RuntimeMemorySettings(const Inventory& inventory, const ModelFacts& facts, Dtype dtype) {
  MemorySettings m;
  m.max_context = facts.max_position_embeddings;
  m.max_context_origin = "the model's max_position_embeddings";
  m.kv_bytes = DtypeBytes(dtype);
  inventory.runtime.Definition().ApplyMemorySettings(inventory.runtime, m);
  return m;
}

std::uint64_t KvBytesPerToken(const ModelFacts& f, int tensor_parallel, int layers, int dtype_bytes) {
  const std::uint64_t kv_heads = CeilDiv(static_cast<std::uint64_t>(f.num_key_value_heads),
                                         static_cast<std::uint64_t>(tensor_parallel));
  return 2 * static_cast<std::uint64_t>(layers) * kv_heads * static_cast<std::uint64_t>(f.head_dim) *
         static_cast<std::uint64_t>(dtype_bytes);
}

GpuMemory HostGpuMemory(const Inventory& inventory, const Host& host) {
  const std::string key = "hosts[" + std::to_string(&host - inventory.hosts.data()) + "]";
  GpuMemory m;
  if (inventory.runtime.RanksOnCpu()) {
    m.label = "cpu";
    m.unknown_reason = "host " + host.name +
                       ": the engine runs on CPU (runtime.engine.device: cpu) and plan does not "
                       "size host memory";
    return m;
  }
  if (host.gpu_memory_bytes) {
    m.bytes = host.gpu_memory_bytes;
    const GpuSpec* spec = host.gpu_model ? FindGpu(*host.gpu_model) : nullptr;
    m.label = spec ? std::string(spec->name) : host.gpu_model.value_or("GPU");
    return m;
  }
  if (host.gpu_model) {
    if (const GpuSpec* spec = FindGpu(*host.gpu_model)) {
      m.bytes = spec->memory_bytes();
      m.label = std::string(spec->name);
      return m;
    }
    m.label = *host.gpu_model;
    m.unknown_reason = "host " + host.name + ": gpu_model \"" + *host.gpu_model +
                       "\" is not a known GPU; set " + key +
                       ".gpu_memory to its memory (e.g. gpu_memory: 16GiB) or use a known gpu_model (" +
                       KnownGpuNames() + ")";
    return m;
  }
  m.label = "?";
  m.unknown_reason = "host " + host.name + ": its GPU memory is not known; set " + key +
                     ".gpu_model (" + KnownGpuNames() + ") or " + key + ".gpu_memory (e.g. 16GiB)";
  return m;
}

const char* FitName(Fit fit) {
  switch (fit) {
    case Fit::kFits: return "fits";
    case Fit::kDoesNotFit: return "does not fit";
    case Fit::kUnknown: return "unknown";
  }
  return "?";
}

StatusOr<MemoryPlan> PlanMemory(const Inventory& inventory, const Placement& placement,
                                const ModelFacts& facts, Dtype dtype) {
  if (dtype == Dtype::kAuto)
    return InvalidArgumentError("PlanMemory needs a decided dtype, not auto");
  const std::uint64_t b = static_cast<std::uint64_t>(DtypeBytes(dtype));
  MemoryPlan plan;
  plan.dtype = dtype;
  plan.settings = RuntimeMemorySettings(inventory, facts, dtype);
  const MemorySettings& settings = plan.settings;
  const auto max_context = static_cast<std::uint64_t>(settings.max_context);
  const std::uint64_t linear_bytes = settings.fp8_weights ? 1 : b;
  auto weight_bytes = [&](const RankParameters& p) { return p.linear * linear_bytes + p.other * b; };
  plan.total_weight_bytes = weight_bytes(RankParameterSplit(facts, 1, facts.num_layers, true, true));

  const int pp = placement.pipeline_parallel;
  const int tp = placement.tensor_parallel;
  const std::string weights_text = FormatGigabytes(static_cast<std::int64_t>(plan.total_weight_bytes)) + " of weights";
  // One sequence of max_context for the whole model: every layer's K and V, unsplit.
  const std::uint64_t sequence_kv_bytes = KvBytesPerToken(facts, 1, facts.num_layers, settings.kv_bytes) * max_context;
  for (int stage = 0; stage < pp; ++stage) {
    const HostPlacement& placed = placement.StageHost(stage);
    size_t host_index = 0;
    const Host* host = FindHost(inventory, placed.host, &host_index);
    if (host == nullptr || placed.ranks.empty() || !placed.ranks.front().layers)
      return InvalidArgumentError("PlanMemory needs a placement with layers for the inventory's hosts");
    const LayerRange layers = *placed.ranks.front().layers;

    StageMemory s;
    s.stage = stage;
    s.host = host->name;
    s.gpu = HostGpuMemory(inventory, *host);
    if (s.gpu.label == "cpu") s.reserve_bytes = 0;  // the reserve is GPU memory; host RAM is not sized
    s.weight_bytes = weight_bytes(RankParameterSplit(facts, tp, layers.count(), stage == 0, stage == pp - 1));
    s.kv_bytes_per_token = KvBytesPerToken(facts, tp, layers.count(), settings.kv_bytes);
    if (!s.gpu.bytes) {
      s.problem = s.gpu.unknown_reason + "; each of its ranks needs " +
                  FormatGigabytes(static_cast<std::int64_t>(s.weight_bytes)) + " of weights";
      plan.stages.push_back(std::move(s));
      continue;
    }
    s.usable_bytes =
        static_cast<std::uint64_t>(std::floor(static_cast<double>(*s.gpu.bytes) * settings.gpu_memory_fraction));
    const std::int64_t budget = static_cast<std::int64_t>(*s.usable_bytes) -
                                static_cast<std::int64_t>(s.weight_bytes) -
                                static_cast<std::int64_t>(s.reserve_bytes);
    s.kv_budget_bytes = budget;
    s.kv_tokens = budget > 0 ? static_cast<std::uint64_t>(budget) / s.kv_bytes_per_token : 0;
    s.sequences_at_max_context = *s.kv_tokens / max_context;
    if (budget <= 0) {
      s.problem = StageName(s) + " needs " + FormatGigabytes(static_cast<std::int64_t>(s.weight_bytes)) +
                  " of weights + " + FormatGigabytes(static_cast<std::int64_t>(s.reserve_bytes)) +
                  " runtime reserve per GPU, but " + GpuPhrase(s) + " at gpu_memory_fraction " +
                  fmt::format("{:.2f}", settings.gpu_memory_fraction) + " gives " +
                  FormatGigabytes(static_cast<std::int64_t>(*s.usable_bytes)) + "; " +
                  GpusNeeded(s, plan.total_weight_bytes, weights_text, tp * pp, settings.fraction_key) +
                  "; spread the model over more GPUs (tensor_parallel, pipeline_parallel) or use a "
                  "smaller model";
    } else if (*s.sequences_at_max_context == 0) {
      s.problem = StageName(s) + " has KV cache room for " + Plural(*s.kv_tokens, "token") +
                  " per GPU (" + FormatGigabytes(budget) + "), fewer than one sequence of max_context " +
                  FormatCount(max_context) + " tokens (" +
                  FormatGigabytes(static_cast<std::int64_t>(s.kv_bytes_per_token * max_context)) + "); set " +
                  settings.max_context_key + " to " + FormatCount(*s.kv_tokens) +
                  " or less, or spread the model over more GPUs: " +
                  GpusNeeded(s, plan.total_weight_bytes + sequence_kv_bytes,
                             weights_text + " and " +
                                 FormatGigabytes(static_cast<std::int64_t>(sequence_kv_bytes)) +
                                 " of KV cache for one sequence",
                             tp * pp, settings.fraction_key);
    }
    plan.stages.push_back(std::move(s));
  }

  // The verdict: a sized stage that fails decides; then an unsized one; else it fits.
  const StageMemory* weights_failure = nullptr;
  const StageMemory* kv_failure = nullptr;
  const StageMemory* unknown = nullptr;
  std::uint64_t max_weights = 0;
  for (const StageMemory& s : plan.stages) {
    max_weights = std::max(max_weights, s.weight_bytes);
    if (!s.gpu.bytes) {
      if (!unknown) unknown = &s;
    } else if (*s.kv_budget_bytes <= 0) {
      if (!weights_failure) weights_failure = &s;
    } else if (*s.sequences_at_max_context == 0) {
      if (!kv_failure) kv_failure = &s;
    }
    if (s.kv_tokens && (!plan.kv_tokens || *s.kv_tokens < *plan.kv_tokens)) plan.kv_tokens = s.kv_tokens;
  }
  if (unknown) plan.kv_tokens.reset();  // the tightest stage may be the unsized one
  if (plan.kv_tokens)
    plan.sequences_at_max_context = *plan.kv_tokens / max_context;

  if (weights_failure || kv_failure) {
    plan.fit = Fit::kDoesNotFit;
    plan.verdict = "does not fit: " + (weights_failure ? weights_failure : kv_failure)->problem;
  } else if (unknown) {
    plan.fit = Fit::kUnknown;
    plan.verdict = "cannot estimate memory: " + unknown->problem;
  } else {
    plan.fit = Fit::kFits;
    plan.verdict = "fits: at most " + FormatGigabytes(static_cast<std::int64_t>(max_weights)) +
                   " of weights per GPU; KV cache room for " + Plural(*plan.kv_tokens, "token") + ", " +
                   Plural(*plan.sequences_at_max_context, "sequence") + " of max_context " +
                   FormatCount(max_context) + " tokens";
  }
  return plan;
}

std::string FormatGigabytes(std::int64_t bytes) {
  // Small models (the CPU demo) would all read "0.02 GB": switch to MB there.
  // By magnitude, so that a negative figure (weights that do not fit) reads
  // in the units of its column: "-4.22 GB", not "-4221.2 MB".
  if (bytes > -100'000'000 && bytes < 100'000'000) return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
  return fmt::format("{:.2f} GB", static_cast<double>(bytes) / 1e9);
}

std::string FormatCount(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace cluster::inventory
