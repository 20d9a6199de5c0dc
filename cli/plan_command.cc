// `clusterctl plan [-f FILE] [--json]`: where every rank runs, whether the
// model fits in the GPUs' memory and about how fast one sequence decodes
// (decode_estimate.h), computed from the inventory alone (no SSH, no model
// files needed). The --json object is documented in docs/plan.md; its field
// names are stable.
//
// Exit codes: 0 when it fits (or memory cannot be estimated: the output says
// why), 1 when it does not fit, 2 when the inventory has errors.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/command.h"
#include "cli/diagnostics_output.h"
#include "cli/lifecycle/runtime.h"
#include "cli/table.h"
#include "common/inventory/decode_estimate.h"
#include "common/inventory/loader.h"
#include "common/inventory/memory_plan.h"
#include "common/inventory/model_facts.h"
#include "common/inventory/placement.h"
#include "common/inventory/runtime_definition.h"

namespace cluster::cli {
namespace {

using namespace cluster::inventory;
// ordered_json keeps the fields in the order docs/plan.md lists them.
using json = nlohmann::ordered_json;

constexpr const char* kPlanFooter =
    "Examples:\n"
    "  clusterctl plan -f configs/examples/t4-4x4.yaml\n"
    "  clusterctl plan -f cluster.yaml --json | jq .memory\n"
    "  clusterctl plan -f cluster.yaml --json | jq .batch1_decode_tokens_per_s_estimate\n"
    "\n"
    "The model's shapes come from SOURCE/config.json when the model folder is on this\n"
    "machine, else from the bundled description named by artifacts.models[].config.\n"
    "Missing artifacts are warnings here, not errors. Exit codes: 0 fits (or memory\n"
    "cannot be estimated, with the reason), 1 does not fit, 2 configuration error.\n"
    "The --json fields are described in docs/plan.md.";

// Everything plan found out, for either output.
struct PlanResult {
  const Inventory* inventory = nullptr;
  const cli::Runtime* runtime = nullptr;  // clusterctl's part of the runtime: its own settings
  const Model* model = nullptr;
  std::size_t model_index = 0;
  std::optional<ModelFacts> facts;
  Placement placement;
  DtypeDecision dtype;
  std::optional<MemoryPlan> memory;
  std::string verdict;
  std::optional<bool> fits;  // nullopt: memory could not be estimated
  std::optional<DecodeEstimate> decode;  // with a memory plan
  std::string decode_summary;            // its line, or why there is none
};

std::string NoFactsVerdict(const PlanResult& r) {
  const std::string key = "artifacts.models[" + std::to_string(r.model_index) + "]";
  std::string names;
  for (const std::string& n : BundledModelNames()) names += (names.empty() ? "" : ", ") + n;
  return "cannot estimate memory: no facts for model \"" + r.model->name + "\" (" +
         (r.model->source / "config.json").string() + " is not on this machine and " + key +
         ".config is not set); set " + key + ".config to a bundled description (" + names +
         ") or put the model's config.json in its source folder";
}

template <typename T>
json OrNull(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json PlanJson(const PlanResult& r, const std::vector<Diagnostic>& warnings) {
  const Inventory& inv = *r.inventory;
  const inventory::Runtime& rt = inv.runtime;
  json out;
  out["ok"] = true;
  out["fits"] = OrNull(r.fits);
  out["cluster"] = inv.cluster_name;
  // Without the model's description (no memory estimate) the runtime's own
  // settings, where the file gives them.
  MemorySettings settings;
  if (r.memory) settings = r.memory->settings;
  else rt.Definition().ApplyMemorySettings(rt, settings);
  const bool context_known = r.memory || !settings.max_context_origin.empty();
  out["runtime"] = {{"kind", rt.kind},
                    {"model", rt.model},
                    {"tensor_parallel", rt.tensor_parallel},
                    {"pipeline_parallel", rt.pipeline_parallel},
                    {"world_size", r.placement.world_size()},
                    {"dtype", DtypeName(rt.dtype)},
                    {"device", rt.RanksOnCpu() ? "cpu" : "cuda"},
                    {"max_context", context_known ? json(settings.max_context) : json(nullptr)},
                    {"gpu_memory_fraction", settings.gpu_memory_fraction},
                    {"port", rt.port}};
  r.runtime->Describe(out["runtime"]);  // the runtime's own settings, as validate --json gives them
  json model = {{"name", r.model->name}, {"source", r.model->source.string()}, {"origin", nullptr}};
  if (r.facts) {
    const ModelFacts& f = *r.facts;
    model.update({{"origin", f.origin},
                  {"architecture", f.architecture},
                  {"hidden_size", f.hidden_size},
                  {"num_layers", f.num_layers},
                  {"num_attention_heads", f.num_attention_heads},
                  {"num_key_value_heads", f.num_key_value_heads},
                  {"head_dim", f.head_dim},
                  {"intermediate_size", f.intermediate_size},
                  {"vocab_size", f.vocab_size},
                  {"max_position_embeddings", f.max_position_embeddings},
                  {"tie_word_embeddings", f.tie_word_embeddings},
                  {"attention_bias", f.attention_bias},
                  {"torch_dtype", f.torch_dtype},
                  {"parameter_count", f.ParameterCount()}});
  }
  out["model"] = model;
  out["dtype"] = DtypeName(r.dtype.dtype);
  out["dtype_reason"] = r.dtype.reason;

  json placement = json::array();
  json unused = json::array();
  for (const HostPlacement& h : r.placement.hosts) {
    if (!h.stage) unused.push_back(h.host);
    for (const RankPlacement& rank : h.ranks) {
      placement.push_back({{"host", h.host},
                           {"rank", rank.rank},
                           {"stage", rank.stage},
                           {"tp_rank", rank.tp_rank},
                           {"gpu", rank.gpu ? json(*rank.gpu) : json("cpu")},
                           {"first_layer", rank.layers ? json(rank.layers->first) : json(nullptr)},
                           {"last_layer", rank.layers ? json(rank.layers->last) : json(nullptr)}});
    }
  }
  std::sort(placement.begin(), placement.end(),
            [](const json& a, const json& b) { return a["rank"].get<int>() < b["rank"].get<int>(); });
  out["placement"] = placement;
  out["unused_hosts"] = unused;

  json memory = json::array();
  if (r.memory) {
    for (const StageMemory& s : r.memory->stages) {
      const StageDecode& d = r.decode->stages.at(static_cast<std::size_t>(s.stage));
      memory.push_back({{"stage", s.stage},
                        {"host", s.host},
                        {"gpu", s.gpu.label},
                        {"gpu_memory_bytes", OrNull(s.gpu.bytes)},
                        {"usable_bytes", OrNull(s.usable_bytes)},
                        {"weights_bytes", s.weight_bytes},
                        {"kv_bytes_per_token", s.kv_bytes_per_token},
                        {"reserve_bytes", s.reserve_bytes},
                        {"kv_budget_bytes", OrNull(s.kv_budget_bytes)},
                        {"kv_tokens", OrNull(s.kv_tokens)},
                        {"sequences_at_max_context", OrNull(s.sequences_at_max_context)},
                        {"problem", s.problem},
                        {"decode_bytes_per_token", d.bytes_per_token},
                        {"memory_bandwidth_gb_per_s", OrNull(d.bandwidth_gb_per_s)}});
    }
  }
  out["memory"] = memory;
  out["total_weight_bytes"] = r.memory ? json(r.memory->total_weight_bytes) : json(nullptr);
  out["kv_tokens"] = r.memory ? OrNull(r.memory->kv_tokens) : json(nullptr);
  out["sequences_at_max_context"] = r.memory ? OrNull(r.memory->sequences_at_max_context) : json(nullptr);
  if (r.memory) {
    const MemorySettings& set = r.memory->settings;
    out["memory_settings"] = {{"max_context_origin", set.max_context_origin},
                              {"gpu_memory_fraction_origin", set.fraction_origin},
                              {"kv_cache_bytes_per_element", set.kv_bytes},
                              {"fp8_weights", set.fp8_weights},
                              {"max_sequences", OrNull(set.max_sequences)},
                              {"not_modeled", set.not_modeled}};
  }
  out["batch1_decode_tokens_per_s_estimate"] = r.decode ? OrNull(r.decode->tokens_per_s) : json(nullptr);
  out["batch1_decode_estimate"] = r.decode_summary;
  out["verdict"] = r.verdict;
  json warning_list = json::array();
  for (const Diagnostic& d : warnings) warning_list.push_back(DiagnosticJson(d));
  out["warnings"] = warning_list;
  return out;
}

// "70.55 B", "5.25 M".
std::string ParameterText(std::uint64_t n) {
  if (n >= 1'000'000'000) return fmt::format("{:.2f} B", static_cast<double>(n) / 1e9);
  return fmt::format("{:.2f} M", static_cast<double>(n) / 1e6);
}

std::string LayersText(const RankPlacement& r) {
  return r.layers ? std::to_string(r.layers->first) + "-" + std::to_string(r.layers->last) : "?";
}

template <typename T, typename F>
std::string OrQuestion(const std::optional<T>& v, F format) {
  return v ? format(*v) : "?";
}

void PrintHuman(const PlanResult& r, std::ostream& out) {
  const Inventory& inv = *r.inventory;
  const inventory::Runtime& rt = inv.runtime;
  int used_hosts = 0;
  for (const HostPlacement& h : r.placement.hosts) used_hosts += h.stage ? 1 : 0;
  out << "cluster " << inv.cluster_name << ": " << rt.kind << " runtime, TP "
      << rt.tensor_parallel << " x PP " << rt.pipeline_parallel << " = " << r.placement.world_size()
      << (r.placement.world_size() == 1 ? " rank" : " ranks") << " on " << used_hosts << " of "
      << inv.hosts.size() << (inv.hosts.size() == 1 ? " host" : " hosts") << "\n";
  out << "model " << r.model->name << ": ";
  if (r.facts) {
    out << r.facts->architecture << ", " << r.facts->num_layers << " layers, "
        << ParameterText(r.facts->ParameterCount()) << " parameters (facts from " << r.facts->origin << ")\n";
  } else {
    out << "no facts (no config.json in " << r.model->source.string() << ", no bundled config)\n";
  }
  out << "dtype " << DtypeName(r.dtype.dtype) << " (" << r.dtype.reason << ")\n\n";

  Table placement({"HOST", "RANK", "STAGE", "TP", "GPU", "LAYERS"});
  for (size_t c : {1, 2, 3, 4}) placement.AlignRight(c);
  for (const RankPlacement& rank : r.placement.Ranks()) {
    const HostPlacement& h = r.placement.StageHost(rank.stage);
    placement.AddRow({h.host, std::to_string(rank.rank), std::to_string(rank.stage),
                      std::to_string(rank.tp_rank), rank.gpu ? std::to_string(*rank.gpu) : "cpu",
                      LayersText(rank)});
  }
  for (const HostPlacement& h : r.placement.hosts)
    if (!h.stage) placement.AddRow({h.host, "-", "-", "-", "-", "(unused)"});
  out << placement.Render() << "\n";

  if (r.memory) {
    const MemoryPlan& m = *r.memory;
    auto gb = [](auto bytes) { return FormatGigabytes(static_cast<std::int64_t>(bytes)); };
    auto count = [](std::uint64_t n) { return FormatCount(n); };
    Table memory({"STAGE", "HOST", "GPU", "USABLE", "WEIGHTS", "KV/TOKEN", "RESERVE", "FREE FOR KV",
                  "KV TOKENS", "SEQS@" + std::to_string(m.settings.max_context)});
    for (size_t c : {0, 3, 4, 5, 6, 7, 8, 9}) memory.AlignRight(c);
    for (const StageMemory& s : m.stages) {
      memory.AddRow({std::to_string(s.stage), s.host, s.gpu.label, OrQuestion(s.usable_bytes, gb),
                     gb(s.weight_bytes), FormatCount(s.kv_bytes_per_token) + " B",
                     s.reserve_bytes > 0 ? gb(s.reserve_bytes) : "-",
                     OrQuestion(s.kv_budget_bytes, gb), OrQuestion(s.kv_tokens, count),
                     OrQuestion(s.sequences_at_max_context, count)});
    }
    out << memory.Render() << "\n";
    out << "model weights " << gb(m.total_weight_bytes) << " in all ("
        << FormatCount(r.facts->ParameterCount()) << " parameters x " << DtypeBytes(m.dtype)
        << " bytes)";
    const bool on_gpu = r.placement.Ranks().front().gpu.has_value();
    if (on_gpu)
      out << "; runtime reserve " << gb(kRuntimeReserveBytes)
          << " per GPU (CUDA context, activations and workspace, NCCL buffers)";
    out << "\n";
    const MemorySettings& set = m.settings;
    out << "max_context " << FormatCount(static_cast<std::uint64_t>(set.max_context)) << " ("
        << set.max_context_origin << ")";
    if (on_gpu) {
      out << ", gpu_memory_fraction " << fmt::format("{:.2f}", set.gpu_memory_fraction);
      if (set.fraction_origin != set.fraction_key) out << " (" << set.fraction_origin << ")";
    }
    if (set.kv_bytes != DtypeBytes(m.dtype)) out << ", KV cache in fp8 (--kv-cache-dtype)";
    if (set.fp8_weights) out << ", linear weights in fp8 (--quantization fp8)";
    if (set.max_sequences) out << ", at most " << FormatCount(*set.max_sequences) << " sequences at once (--max-num-seqs)";
    out << "\n";
    if (!set.not_modeled.empty())
      out << "not modeled: " << fmt::format("{}", fmt::join(set.not_modeled, ", "))
          << " (vLLM's memory differs from these figures)\n";
  }
  out << r.decode_summary << "\n";
  for (const std::string& note : r.runtime->PlanNotes()) out << note << "\n";
  out << r.verdict << "\n";
}

int RunPlan(const std::string& file_flag, const GlobalOptions& global) {
  auto inventory_file = InventoryFile(file_flag);
  if (!inventory_file.ok()) return ReportError(inventory_file.status(), global);
  const std::string& file = *inventory_file;
  LoadOptions load_options;
  load_options.require_artifacts = false;  // plan runs before push: the model may not be here yet
  LoadResult loaded = LoadInventory(file, load_options);

  if (!global.json) PrintDiagnostics(loaded);
  if (!loaded.ok()) {
    if (global.json) {
      PrintJson(LoadResultJson(file, loaded));
    } else {
      const int errors = loaded.error_count();
      std::cerr << file << ": invalid: " << errors << (errors == 1 ? " error" : " errors")
                << "; fix the inventory, then run plan again\n";
    }
    return kExitUsageError;
  }

  PlanResult r;
  r.inventory = &*loaded.inventory;
  const Inventory& inv = *r.inventory;
  for (std::size_t i = 0; i < inv.models.size(); ++i) {
    if (inv.models[i].name == inv.runtime.model) {
      r.model = &inv.models[i];
      r.model_index = i;
    }
  }
  if (r.model == nullptr)  // validation guarantees it; a bug if not
    return ReportError(InternalError("runtime.model \"" + inv.runtime.model + "\" is not in artifacts.models"),
                       global);
  StatusOr<std::unique_ptr<cli::Runtime>> runtime = global.runtimes->For(inv);
  if (!runtime.ok()) return ReportError(runtime.status(), global);
  r.runtime = runtime->get();

  StatusOr<std::optional<ModelFacts>> facts = FindModelFacts(*r.model);
  if (!facts.ok()) return ReportError(facts.status(), global);
  r.facts = *facts;

  StatusOr<Placement> placement =
      PlaceRanks(inv, r.facts ? std::optional<int>(r.facts->num_layers) : std::nullopt);
  if (!placement.ok()) return ReportError(placement.status(), global);
  r.placement = std::move(*placement);
  r.dtype = DecideDtype(inv, r.placement, r.facts ? &*r.facts : nullptr);

  if (!r.facts) {
    r.verdict = NoFactsVerdict(r);
    r.decode_summary = CannotEstimateDecode("no facts for model \"" + r.model->name + "\" (below: how to give them)");
  } else if (r.dtype.dtype == Dtype::kAuto) {
    r.verdict = "cannot estimate memory: the dtype is not decided; set runtime.dtype";
    r.decode_summary = CannotEstimateDecode("the dtype is not decided; set runtime.dtype");
  } else {
    StatusOr<MemoryPlan> memory = PlanMemory(inv, r.placement, *r.facts, r.dtype.dtype);
    if (!memory.ok()) return ReportError(memory.status(), global);
    r.memory = std::move(*memory);
    r.verdict = r.memory->verdict;
    if (r.memory->fit != Fit::kUnknown) r.fits = r.memory->fit == Fit::kFits;
    r.decode = EstimateBatch1Decode(inv, r.placement, *r.facts, *r.memory);
    r.decode_summary = r.decode->summary;
  }

  if (global.json) {
    PrintJson(PlanJson(r, loaded.diagnostics));  // the loader's warnings (missing artifacts)
  } else {
    PrintHuman(r, std::cout);
  }
  return r.fits == std::optional<bool>(false) ? kExitFailure : kExitOk;
}

}  // namespace

void AddPlanCommand(CLI::App& app, const GlobalOptions& global, CommandRunner* run) {
  CLI::App* sub = app.add_subcommand(
      "plan", "Rank placement and memory per GPU: will the model fit? How fast may it decode? (no SSH, no model "
              "files needed)");
  sub->footer(std::string(kPlanFooter) + "\n" +
              fmt::format("The batch-1 decode rate is an estimate of a memory-bound decode: the weights read\n"
                          "once per token at {:.0f}% of each GPU's datasheet memory bandwidth; communication\n"
                          "between GPUs and hosts is not counted.",
                          kDecodeBandwidthEfficiency * 100) +
              "\n\n" +
              GlobalFlagsHelp("one document: the placement, memory per stage, decode estimate and verdict (docs/plan.md)",
                              "", ""));
  auto file = std::make_shared<std::string>();
  AddInventoryOption(sub, *file);
  sub->callback([run, file, &global] { *run = [file, &global] { return RunPlan(*file, global); }; });
}

}  // namespace cluster::cli
