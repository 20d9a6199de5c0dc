#include "tiny_model.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <fstream>
#include <random>
#include <unistd.h>

#include "engine/ops/float16.h"
#include "engine/model/safetensors_writer.h"
#include "engine/ops/rope_frequencies.h"

namespace engine::testing {
namespace {

using Json = nlohmann::json;

float StoredValue(float v, DType dtype) {
  if (dtype == DType::kF16) return HalfToFloat(FloatToHalf(v));
  if (dtype == DType::kBF16) return BFloat16ToFloat(FloatToBFloat16(v));
  return v;
}

Status WriteText(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) return cluster::InternalError("cannot write " + path.string());
  return Status::Ok();
}

Json ConfigJson(const TinyModelOptions& o) {
  Json c;
  c["architectures"] = {o.qwen2 ? "Qwen2ForCausalLM" : "LlamaForCausalLM"};
  c["model_type"] = o.qwen2 ? "qwen2" : "llama";
  c["vocab_size"] = o.vocab_size;
  c["hidden_size"] = o.hidden_size;
  c["num_hidden_layers"] = o.num_layers;
  c["num_attention_heads"] = o.num_heads;
  c["num_key_value_heads"] = o.num_kv_heads;
  c["intermediate_size"] = o.intermediate_size;
  c["max_position_embeddings"] = o.max_position_embeddings;
  c["rms_norm_eps"] = 1e-5;
  c["hidden_act"] = "silu";
  c["tie_word_embeddings"] = o.tie_word_embeddings;
  c["bos_token_id"] = 0;
  c["eos_token_id"] = o.eos_token_ids.size() == 1 ? Json(o.eos_token_ids[0]) : Json(o.eos_token_ids);
  const char* dtype = o.dtype == DType::kF16 ? "float16" : o.dtype == DType::kBF16 ? "bfloat16" : "float32";
  Json scaling = nullptr;
  if (o.llama3_rope) {
    scaling = {{"rope_type", "llama3"},
               {"factor", 8.0},
               {"low_freq_factor", 1.0},
               {"high_freq_factor", 4.0},
               {"original_max_position_embeddings", 16}};
  }
  if (o.transformers5_config) {
    Json params = o.llama3_rope ? scaling : Json{{"rope_type", "default"}};
    params["rope_theta"] = o.rope_theta;
    c["rope_parameters"] = params;
    c["dtype"] = dtype;
  } else {
    c["rope_theta"] = o.rope_theta;
    c["rope_scaling"] = scaling;
    c["torch_dtype"] = dtype;
  }
  return c;
}

}  // namespace

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = std::filesystem::temp_directory_path() /
          ("engine_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

StatusOr<TinyModel> WriteTinyModel(const std::filesystem::path& dir, const TinyModelOptions& o) {
  std::filesystem::create_directories(dir);
  TinyModel model;
  model.options = o;
  std::mt19937 rng(o.seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<SafetensorsEntry> entries;
  auto add = [&](const std::string& name, Shape shape, float scale, float offset) {
    SafetensorsEntry e;
    e.name = name;
    e.dtype = o.dtype;
    e.shape = shape;
    for (std::int64_t i = 0; i < NumElements(shape); ++i) {
      e.values.push_back(StoredValue(offset + scale * uniform(rng), o.dtype));
    }
    model.weights[name] = e.values;
    entries.push_back(std::move(e));
  };
  const std::int64_t d = o.hidden_size, hd = d / o.num_heads, F = o.intermediate_size, V = o.vocab_size;
  const std::int64_t qd = o.num_heads * hd, kvd = o.num_kv_heads * hd;
  add("model.embed_tokens.weight", {V, d}, 1.0f, 0.0f);
  for (std::int64_t l = 0; l < o.num_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", {d}, 0.2f, 1.0f);
    add(p + "self_attn.q_proj.weight", {qd, d}, 0.4f, 0.0f);
    add(p + "self_attn.k_proj.weight", {kvd, d}, 0.4f, 0.0f);
    add(p + "self_attn.v_proj.weight", {kvd, d}, 0.4f, 0.0f);
    if (o.qwen2) {
      add(p + "self_attn.q_proj.bias", {qd}, 0.3f, 0.0f);
      add(p + "self_attn.k_proj.bias", {kvd}, 0.3f, 0.0f);
      add(p + "self_attn.v_proj.bias", {kvd}, 0.3f, 0.0f);
    }
    add(p + "self_attn.o_proj.weight", {d, qd}, 0.4f, 0.0f);
    add(p + "post_attention_layernorm.weight", {d}, 0.2f, 1.0f);
    add(p + "mlp.gate_proj.weight", {F, d}, 0.4f, 0.0f);
    add(p + "mlp.up_proj.weight", {F, d}, 0.4f, 0.0f);
    add(p + "mlp.down_proj.weight", {d, F}, 0.4f, 0.0f);
  }
  add("model.norm.weight", {d}, 0.2f, 1.0f);
  if (!o.tie_word_embeddings) add("lm_head.weight", {V, d}, 0.5f, 0.0f);

  if (o.shards <= 1) {
    CLUSTER_RETURN_IF_ERROR(WriteSafetensors(dir / "model.safetensors", entries));
  } else {
    Json index;
    index["metadata"] = {{"total_size", 0}};
    std::vector<std::vector<SafetensorsEntry>> shards(static_cast<std::size_t>(o.shards));
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const std::size_t s = i * shards.size() / entries.size();  // contiguous runs, like HF's sharding
      char name[64];
      std::snprintf(name, sizeof(name), "model-%05zu-of-%05d.safetensors", s + 1, o.shards);
      index["weight_map"][entries[i].name] = name;
      shards[s].push_back(entries[i]);
    }
    for (std::size_t s = 0; s < shards.size(); ++s) {
      char name[64];
      std::snprintf(name, sizeof(name), "model-%05zu-of-%05d.safetensors", s + 1, o.shards);
      CLUSTER_RETURN_IF_ERROR(WriteSafetensors(dir / name, shards[s]));
    }
    CLUSTER_RETURN_IF_ERROR(WriteText(dir / "model.safetensors.index.json", index.dump(2)));
  }
  CLUSTER_RETURN_IF_ERROR(WriteText(dir / "config.json", ConfigJson(o).dump(2)));
  Json generation = {{"bos_token_id", 0}, {"do_sample", false}};
  generation["eos_token_id"] = o.eos_token_ids;
  CLUSTER_RETURN_IF_ERROR(WriteText(dir / "generation_config.json", generation.dump(2)));
  return model;
}

namespace {

using Matrix = std::vector<std::vector<double>>;  // [rows][cols]

// y[n][out] = x[n][in] . W[out][in]^T (+ b)
Matrix LinearRef(const Matrix& x, const std::vector<float>& w, std::int64_t out, const std::vector<float>* b) {
  Matrix y(x.size(), std::vector<double>(static_cast<std::size_t>(out)));
  const std::size_t in = x.empty() ? 0 : x[0].size();
  for (std::size_t i = 0; i < x.size(); ++i) {
    for (std::size_t o = 0; o < static_cast<std::size_t>(out); ++o) {
      double s = b ? (*b)[o] : 0.0;
      for (std::size_t k = 0; k < in; ++k) s += x[i][k] * w[o * in + k];
      y[i][o] = s;
    }
  }
  return y;
}

Matrix RmsNormRef(const Matrix& x, const std::vector<float>& w, double eps) {
  Matrix y = x;
  for (auto& row : y) {
    double ms = 0;
    for (double v : row) ms += v * v;
    ms /= static_cast<double>(row.size());
    for (std::size_t j = 0; j < row.size(); ++j) row[j] = row[j] / std::sqrt(ms + eps) * w[j];
  }
  return y;
}

void RopeRef(Matrix& x, std::int64_t heads, std::int64_t hd, const std::vector<float>& inv_freq) {
  for (std::size_t p = 0; p < x.size(); ++p) {
    for (std::int64_t h = 0; h < heads; ++h) {
      double* v = x[p].data() + h * hd;
      for (std::int64_t j = 0; j < hd / 2; ++j) {
        const double a = static_cast<double>(p) * inv_freq[static_cast<std::size_t>(j)];
        const double x0 = v[j], x1 = v[j + hd / 2];
        v[j] = x0 * std::cos(a) - x1 * std::sin(a);
        v[j + hd / 2] = x1 * std::cos(a) + x0 * std::sin(a);
      }
    }
  }
}

}  // namespace

std::vector<std::vector<double>> ReferenceLogits(const TinyModel& model, const std::vector<std::int32_t>& ids) {
  const TinyModelOptions& o = model.options;
  const auto& W = model.weights;
  const std::int64_t d = o.hidden_size, hd = d / o.num_heads, H = o.num_heads, K = o.num_kv_heads;
  const double eps = 1e-5;
  RopeParameters rope;
  rope.theta = o.rope_theta;
  if (o.llama3_rope) {
    rope.type = RopeType::kLlama3;
    rope.original_max_position_embeddings = 16;
  }
  const std::vector<float> inv_freq = *RopeInverseFrequencies(static_cast<int>(hd), rope);
  const std::size_t n = ids.size();

  Matrix h(n, std::vector<double>(static_cast<std::size_t>(d)));
  for (std::size_t i = 0; i < n; ++i) {
    for (std::int64_t j = 0; j < d; ++j) h[i][j] = W.at("model.embed_tokens.weight")[ids[i] * d + j];
  }
  for (std::int64_t l = 0; l < o.num_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    auto bias = [&](const std::string& name) { return o.qwen2 ? &W.at(p + name) : nullptr; };
    Matrix x = RmsNormRef(h, W.at(p + "input_layernorm.weight"), eps);
    Matrix q = LinearRef(x, W.at(p + "self_attn.q_proj.weight"), H * hd, bias("self_attn.q_proj.bias"));
    Matrix k = LinearRef(x, W.at(p + "self_attn.k_proj.weight"), K * hd, bias("self_attn.k_proj.bias"));
    Matrix v = LinearRef(x, W.at(p + "self_attn.v_proj.weight"), K * hd, bias("self_attn.v_proj.bias"));
    RopeRef(q, H, hd, inv_freq);
    RopeRef(k, K, hd, inv_freq);
    Matrix attn(n, std::vector<double>(static_cast<std::size_t>(H * hd), 0.0));
    for (std::size_t i = 0; i < n; ++i) {
      for (std::int64_t hh = 0; hh < H; ++hh) {
        const std::int64_t g = hh / (H / K);
        std::vector<double> w;
        double total = 0;
        for (std::size_t j = 0; j <= i; ++j) {
          double dot = 0;
          for (std::int64_t e = 0; e < hd; ++e) dot += q[i][hh * hd + e] * k[j][g * hd + e];
          w.push_back(std::exp(dot / std::sqrt(static_cast<double>(hd))));
          total += w.back();
        }
        for (std::size_t j = 0; j <= i; ++j) {
          for (std::int64_t e = 0; e < hd; ++e) attn[i][hh * hd + e] += w[j] / total * v[j][g * hd + e];
        }
      }
    }
    Matrix o_out = LinearRef(attn, W.at(p + "self_attn.o_proj.weight"), d, nullptr);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::int64_t j = 0; j < d; ++j) h[i][j] += o_out[i][j];
    }
    Matrix y = RmsNormRef(h, W.at(p + "post_attention_layernorm.weight"), eps);
    Matrix gate = LinearRef(y, W.at(p + "mlp.gate_proj.weight"), o.intermediate_size, nullptr);
    Matrix up = LinearRef(y, W.at(p + "mlp.up_proj.weight"), o.intermediate_size, nullptr);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < gate[i].size(); ++j) gate[i][j] = gate[i][j] / (1 + std::exp(-gate[i][j])) * up[i][j];
    }
    Matrix down = LinearRef(gate, W.at(p + "mlp.down_proj.weight"), d, nullptr);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::int64_t j = 0; j < d; ++j) h[i][j] += down[i][j];
    }
  }
  Matrix normed = RmsNormRef(h, W.at("model.norm.weight"), eps);
  const std::string head = o.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight";
  return LinearRef(normed, W.at(head), o.vocab_size, nullptr);
}

std::vector<std::int32_t> ReferenceGreedy(const TinyModel& model, const std::vector<std::int32_t>& prompt,
                                          int max_new) {
  std::vector<std::int32_t> ids = prompt, generated;
  for (int step = 0; step < max_new; ++step) {
    const std::vector<double> last = ReferenceLogits(model, ids).back();
    std::int32_t best = 0;
    for (std::size_t t = 1; t < last.size(); ++t) {
      if (last[t] > last[static_cast<std::size_t>(best)]) best = static_cast<std::int32_t>(t);
    }
    generated.push_back(best);
    ids.push_back(best);
    bool eos = false;
    for (std::int32_t e : model.options.eos_token_ids) eos = eos || e == best;
    if (eos) break;
  }
  return generated;
}

}  // namespace engine::testing
