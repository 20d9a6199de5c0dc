#include "engine/model/llama_weights.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace engine {
namespace {

// Allocates weights in the backend's compute dtype and fills them, part by
// part, from checkpoint views; keeps the conversion report and the bytes held.
class WeightLoader {
 public:
  WeightLoader(const Checkpoint& checkpoint, Backend& backend, LlamaWeights& out)
      : checkpoint_(checkpoint), backend_(backend), out_(out) {}

  StatusOr<Tensor> New(const Shape& shape) {
    CLUSTER_ASSIGN_OR_RETURN(Tensor t, backend_.Allocate(shape, backend_.compute_dtype()));
    out_.num_bytes += t.num_bytes();
    return t;
  }

  // Copies `source` (a view of checkpoint tensor `name`) into rows [row, row + its rows) of `dst`.
  Status Fill(Tensor& dst, std::int64_t row, const std::string& name, StatusOr<HostMatrix> source) {
    CLUSTER_RETURN_IF_ERROR(source.status());
    const std::int64_t row_elements = dst.dim(0) == 0 ? 0 : dst.num_elements() / dst.dim(0);
    const std::int64_t rows = row_elements == 0 ? 0 : source->num_elements() / row_elements;
    CLUSTER_ASSIGN_OR_RETURN(Tensor part, dst.Rows(row, row + rows));
    CLUSTER_ASSIGN_OR_RETURN(ConversionReport report, backend_.CopyFromHost(part, *source));
    if (report.out_of_range > 0) {
      out_.conversion.total.Merge(report);
      out_.conversion.tensors.emplace_back(name, report);
    }
    return Status::Ok();
  }

  // A whole checkpoint tensor of `shape`.
  StatusOr<Tensor> Whole(const std::string& name, const Shape& shape) {
    CLUSTER_ASSIGN_OR_RETURN(Tensor t, New(shape));
    CLUSTER_RETURN_IF_ERROR(Fill(t, 0, name, checkpoint_.WholeView(name, shape)));
    return t;
  }

  // Columns [begin, end) of a 2-D checkpoint tensor of full shape `shape`.
  StatusOr<Tensor> Columns(const std::string& name, const Shape& shape, std::int64_t begin, std::int64_t end) {
    CLUSTER_ASSIGN_OR_RETURN(Tensor t, New({shape[0], end - begin}));
    CLUSTER_RETURN_IF_ERROR(Fill(t, 0, name, checkpoint_.ColumnsView(name, shape, begin, end)));
    return t;
  }

  // Row slices of several checkpoint tensors stacked into one tensor, in order:
  // parts {name, full shape, begin, end}; the result has `cols` columns
  // (1-D tensors when cols == 0).
  struct Part {
    std::string name;
    Shape shape;
    std::int64_t begin, end;
  };
  StatusOr<Tensor> Stacked(const std::vector<Part>& parts, std::int64_t cols) {
    std::int64_t rows = 0;
    for (const Part& p : parts) rows += p.end - p.begin;
    CLUSTER_ASSIGN_OR_RETURN(Tensor t, New(cols == 0 ? Shape{rows} : Shape{rows, cols}));
    std::int64_t at = 0;
    for (const Part& p : parts) {
      CLUSTER_RETURN_IF_ERROR(Fill(t, at, p.name, checkpoint_.RowsView(p.name, p.shape, p.begin, p.end)));
      at += p.end - p.begin;
    }
    return t;
  }

 private:
  const Checkpoint& checkpoint_;
  Backend& backend_;
  LlamaWeights& out_;
};

Status CheckDivisible(std::int64_t value, const char* what, int world_size) {
  if (value % world_size != 0) {
    return cluster::InvalidArgumentError(std::string(what) + " (" + std::to_string(value) +
                                         ") does not divide by the tensor-parallel size " +
                                         std::to_string(world_size));
  }
  return Status::Ok();
}

std::string Scientific(float value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", static_cast<double>(value));
  return text;
}

}  // namespace

std::string WeightConversion::Summary(DType dtype) const {
  if (total.out_of_range == 0) return "";
  const std::pair<std::string, ConversionReport>* largest = &tensors.front();
  for (const auto& t : tensors) {
    if (t.second.largest_magnitude > largest->second.largest_magnitude || std::isnan(t.second.largest_magnitude)) {
      largest = &t;
    }
  }
  const std::string limit = dtype == DType::kF16 ? "+-65504" : "the largest finite value";
  return std::to_string(total.out_of_range) + " weights of " + std::to_string(tensors.size()) +
         " tensors are outside the " + std::string(DTypeLongName(dtype)) + " range and were clamped to " + limit +
         " (largest |w| " + Scientific(largest->second.largest_magnitude) + " in " + largest->first + ")";
}

StatusOr<LlamaWeights> LoadLlamaWeights(const ModelConfig& c, const Checkpoint& checkpoint, Backend& backend,
                                        const ModelShard& shard) {
  const int world = shard.tp_size;
  const int rank = shard.tp_rank;
  if (world <= 0 || rank < 0 || rank >= world) {
    return cluster::InvalidArgumentError("tensor-parallel rank " + std::to_string(rank) + " of " +
                                         std::to_string(world) + " is not a valid rank");
  }
  if (shard.first_layer < 0 || shard.end_layer > c.num_hidden_layers || shard.first_layer >= shard.end_layer) {
    return cluster::InvalidArgumentError("layers [" + std::to_string(shard.first_layer) + ", " +
                                         std::to_string(shard.end_layer) + ") are not a range of the model's " +
                                         std::to_string(c.num_hidden_layers));
  }
  CLUSTER_RETURN_IF_ERROR(CheckDivisible(c.num_attention_heads, "num_attention_heads", world));
  CLUSTER_RETURN_IF_ERROR(CheckDivisible(c.intermediate_size, "intermediate_size", world));
  const std::int64_t K = c.num_key_value_heads;
  if (K % world != 0 && world % K != 0) {
    return cluster::InvalidArgumentError("num_key_value_heads (" + std::to_string(K) +
                                         ") and the tensor-parallel size " + std::to_string(world) +
                                         " must divide one another (split or replicate the kv heads)");
  }
  if (world > 1) CLUSTER_RETURN_IF_ERROR(CheckDivisible(c.vocab_size, "vocab_size", world));

  const std::int64_t d = c.hidden_size, h = c.head_dim, V = c.vocab_size;
  const std::int64_t H = c.num_attention_heads, F = c.intermediate_size;
  // This rank's ranges: query features, kv features, intermediate features, vocabulary rows.
  const std::int64_t q0 = rank * (H / world) * h, q1 = (rank + 1) * (H / world) * h;
  const std::int64_t kv_heads = K >= world ? K / world : 1;
  const std::int64_t kv_first = K >= world ? rank * kv_heads : rank / (world / K);
  const std::int64_t kv0 = kv_first * h, kv1 = (kv_first + kv_heads) * h;
  const std::int64_t f0 = rank * (F / world), f1 = (rank + 1) * (F / world);
  const std::int64_t v0 = rank * (V / world), v1 = (rank + 1) * (V / world);
  const bool owns_row_parallel_bias = rank == 0;

  LlamaWeights w;
  WeightLoader load(checkpoint, backend, w);
  w.local_heads = H / world;
  w.local_kv_heads = kv_heads;
  w.local_intermediate = F / world;
  if (shard.first_stage()) {
    CLUSTER_ASSIGN_OR_RETURN(w.embed_tokens, load.Whole("model.embed_tokens.weight", {V, d}));
  }
  for (std::int64_t i = shard.first_layer; i < shard.end_layer; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    LlamaLayerWeights l;
    CLUSTER_ASSIGN_OR_RETURN(l.input_layernorm, load.Whole(p + "input_layernorm.weight", {d}));
    CLUSTER_ASSIGN_OR_RETURN(l.qkv_proj, load.Stacked({{p + "self_attn.q_proj.weight", {H * h, d}, q0, q1},
                                                       {p + "self_attn.k_proj.weight", {K * h, d}, kv0, kv1},
                                                       {p + "self_attn.v_proj.weight", {K * h, d}, kv0, kv1}},
                                                      d));
    if (c.qkv_bias) {
      CLUSTER_ASSIGN_OR_RETURN(l.qkv_bias, load.Stacked({{p + "self_attn.q_proj.bias", {H * h}, q0, q1},
                                                         {p + "self_attn.k_proj.bias", {K * h}, kv0, kv1},
                                                         {p + "self_attn.v_proj.bias", {K * h}, kv0, kv1}},
                                                        0));
    }
    CLUSTER_ASSIGN_OR_RETURN(l.o_proj, load.Columns(p + "self_attn.o_proj.weight", {d, H * h}, q0, q1));
    if (c.o_bias && owns_row_parallel_bias) {
      CLUSTER_ASSIGN_OR_RETURN(l.o_bias, load.Whole(p + "self_attn.o_proj.bias", {d}));
    }
    CLUSTER_ASSIGN_OR_RETURN(l.post_attention_layernorm, load.Whole(p + "post_attention_layernorm.weight", {d}));
    CLUSTER_ASSIGN_OR_RETURN(l.gate_up_proj, load.Stacked({{p + "mlp.gate_proj.weight", {F, d}, f0, f1},
                                                           {p + "mlp.up_proj.weight", {F, d}, f0, f1}},
                                                          d));
    CLUSTER_ASSIGN_OR_RETURN(l.down_proj, load.Columns(p + "mlp.down_proj.weight", {d, F}, f0, f1));
    if (c.mlp_bias) {
      CLUSTER_ASSIGN_OR_RETURN(l.gate_up_bias, load.Stacked({{p + "mlp.gate_proj.bias", {F}, f0, f1},
                                                             {p + "mlp.up_proj.bias", {F}, f0, f1}},
                                                            0));
      if (owns_row_parallel_bias) {
        CLUSTER_ASSIGN_OR_RETURN(l.down_bias, load.Whole(p + "mlp.down_proj.bias", {d}));
      }
    }
    w.layers.push_back(std::move(l));
  }
  if (shard.last_stage()) {
    CLUSTER_ASSIGN_OR_RETURN(w.norm, load.Whole("model.norm.weight", {d}));
    // HF ties the two parameters: any stored lm_head.weight is then ignored.
    const std::string head = c.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight";
    if (c.tie_word_embeddings && !w.embed_tokens.empty()) {
      CLUSTER_ASSIGN_OR_RETURN(w.lm_head, w.embed_tokens.Rows(v0, v1));  // the first stage's table: no copy
    } else {
      CLUSTER_ASSIGN_OR_RETURN(w.lm_head, load.Stacked({{head, {V, d}, v0, v1}}, d));
    }
  }
  return w;
}

}  // namespace engine
