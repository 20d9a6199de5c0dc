// CheckModelAgainstRuntime: the semantic checks of an inventory that need the
// facts of the model it serves. Tensor parallelism splits attention heads,
// key/value heads and the MLP's intermediate size evenly across the ranks of
// a stage, so each must be divisible by tensor_parallel; pipeline parallelism
// gives every stage at least one layer.
//
// Problems with the facts themselves (an unknown bundled name, a config.json
// that does not parse) are reported here too, at the model's entry, so that
// `validate` shows them; the loader does not check `config` names itself.
#include <algorithm>
#include <filesystem>
#include <numeric>
#include <string>
#include <system_error>
#include <vector>

#include "common/inventory/model_facts.h"
#include "common/inventory/runtime_definition.h"

namespace cluster::inventory {
namespace {

// "1, 2, 4, 8": the tensor_parallel values that divide every count.
std::string Divisors(int a, int b, int c) {
  const int g = std::gcd(std::gcd(a, b), c);
  std::string out;
  for (int d = 1; d <= g; ++d)
    if (g % d == 0) out += (out.empty() ? "" : ", ") + std::to_string(d);
  return out;
}

Diagnostic Error(const SourceLocation& location, std::string key_path, std::string message,
                 std::string hint) {
  Diagnostic d;
  d.severity = Diagnostic::Severity::kError;
  d.location = location;
  d.key_path = std::move(key_path);
  d.message = std::move(message);
  d.hint = std::move(hint);
  return d;
}

std::string JoinedBundledNames() {
  std::string names;
  for (const std::string& n : BundledModelNames()) names += (names.empty() ? "" : ", ") + n;
  return names;
}

}  // namespace

void CheckModelAgainstRuntime(const Inventory& inventory, std::vector<Diagnostic>* out) {
  const Runtime& runtime = inventory.runtime;
  const Model* model = nullptr;
  std::size_t model_index = 0;
  for (std::size_t i = 0; i < inventory.models.size(); ++i) {
    if (inventory.models[i].name == runtime.model) {
      model = &inventory.models[i];
      model_index = i;
    }
  }
  if (model == nullptr) return;  // an unknown runtime.model is the schema checks' error
  const std::string model_key = "artifacts.models[" + std::to_string(model_index) + "]";

  std::error_code ec;
  const bool own_config =
      !model->source.empty() && std::filesystem::is_regular_file(model->source / "config.json", ec);
  if (!own_config && model->config) {
    const std::vector<std::string> names = BundledModelNames();
    if (std::find(names.begin(), names.end(), *model->config) == names.end()) {
      out->push_back(Error(model->location, model_key + ".config",
                           "\"" + *model->config + "\" is not a bundled model description",
                           "use one of: " + JoinedBundledNames() +
                               "; or put the model's config.json in its source folder"));
      return;
    }
  }

  StatusOr<std::optional<ModelFacts>> found = FindModelFacts(*model);
  if (!found.ok()) {
    out->push_back(Error(model->location, model_key + (own_config ? ".source" : ".config"),
                         found.status().message(), "fix or replace that config.json"));
    return;
  }
  if (!found->has_value()) return;  // no facts at hand: nothing to check
  const ModelFacts& facts = **found;

  const int tp = runtime.tensor_parallel;
  if (tp >= 1) {
    const std::string hint = "use a tensor_parallel that divides " +
                             std::to_string(facts.num_attention_heads) + ", " +
                             std::to_string(facts.num_key_value_heads) + " and " +
                             std::to_string(facts.intermediate_size) + ": " +
                             Divisors(facts.num_attention_heads, facts.num_key_value_heads,
                                      facts.intermediate_size);
    const std::string tail = " divisible by tensor_parallel " + std::to_string(tp);
    const struct {
      int count;
      std::string message;
    } splits[] = {
        {facts.num_attention_heads,
         std::to_string(facts.num_attention_heads) + " attention heads are not" + tail},
        {facts.num_key_value_heads,
         std::to_string(facts.num_key_value_heads) + " key/value heads are not" + tail},
        {facts.intermediate_size, "the MLP intermediate size " +
                                      std::to_string(facts.intermediate_size) + " is not" + tail},
    };
    for (const auto& split : splits) {
      if (split.count % tp != 0)
        out->push_back(Error(runtime.location, "runtime.tensor_parallel", split.message, hint));
    }
  }

  if (runtime.pipeline_parallel > facts.num_layers) {
    out->push_back(Error(runtime.location, "runtime.pipeline_parallel",
                         std::to_string(runtime.pipeline_parallel) + " pipeline stages for " +
                             std::to_string(facts.num_layers) +
                             " layers: each stage needs at least one layer",
                         "use a pipeline_parallel of at most " + std::to_string(facts.num_layers)));
  }

  runtime.Definition().CheckModelFacts(runtime, facts, out);
}

}  // namespace cluster::inventory
