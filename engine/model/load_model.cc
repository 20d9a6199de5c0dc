#include "engine/model/load_model.h"

#include "engine/model/checkpoint.h"
#include "engine/model/llama_model.h"

namespace engine {

StatusOr<LoadedModel> LoadModel(const std::filesystem::path& model_dir, Backend& backend, Comm& local,
                                const StepLimits& limits) {
  CLUSTER_ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(model_dir));
  return LoadModel(model_dir, backend, SingleProcess(local, static_cast<int>(config.num_hidden_layers)), limits);
}

StatusOr<LoadedModel> LoadModel(const std::filesystem::path& model_dir, Backend& backend,
                                const ModelParallelism& parallel, const StepLimits& limits) {
  CLUSTER_ASSIGN_OR_RETURN(ModelConfig config, LoadModelConfig(model_dir));
  LoadedModel loaded;
  CLUSTER_ASSIGN_OR_RETURN(loaded.generation, LoadGenerationConfig(model_dir));
  CLUSTER_ASSIGN_OR_RETURN(loaded.tokenizer, LoadTokenizerConfig(model_dir));
  loaded.eos_token_ids = EosTokenIds(config, loaded.generation);
  CLUSTER_ASSIGN_OR_RETURN(Checkpoint checkpoint, Checkpoint::Open(model_dir));
  // Llama and Qwen2 share one implementation; ModelConfig carries the differences.
  CLUSTER_ASSIGN_OR_RETURN(std::unique_ptr<LlamaModel> model, LlamaModel::Load(config, checkpoint, backend, parallel));
  loaded.weight_conversion = model->conversion().Summary(backend.compute_dtype());
  CLUSTER_RETURN_IF_ERROR(model->Prepare(limits));
  loaded.model = std::move(model);
  return loaded;
}

}  // namespace engine
