#include "engine/tools/bench_math.h"

namespace engine::tools {
namespace {

// Per layer: q, k, v, o and the gate, up and down projections, two norms.
double LayerWeights(const ModelConfig& c) {
  const double d = static_cast<double>(c.hidden_size), hd = static_cast<double>(c.head_dim);
  const double q = static_cast<double>(c.num_attention_heads) * hd;
  const double kv = static_cast<double>(c.num_key_value_heads) * hd;
  const double f = static_cast<double>(c.intermediate_size);
  return d * (q + 2 * kv) + q * d + 3 * d * f + 2 * d;
}

double LmHead(const ModelConfig& c) { return static_cast<double>(c.vocab_size) * static_cast<double>(c.hidden_size); }

}  // namespace

double MatmulWeights(const ModelConfig& config) {
  return LayerWeights(config) * static_cast<double>(config.num_hidden_layers) + static_cast<double>(config.hidden_size) +
         LmHead(config);
}

double DecodeBytesPerStep(const ModelConfig& config, double weight_bytes, std::int64_t batch, std::int64_t context,
                          double kv_bytes_per_token) {
  return MatmulWeights(config) * weight_bytes +
         static_cast<double>(batch) * static_cast<double>(context) * kv_bytes_per_token;
}

double KvBytesPerToken(const ModelConfig& config, double element_bytes) {
  return 2 * static_cast<double>(config.num_hidden_layers) * static_cast<double>(config.num_key_value_heads) *
         static_cast<double>(config.head_dim) * element_bytes;
}

double PrefillFlops(const ModelConfig& config, std::int64_t tokens) {
  const double n = static_cast<double>(tokens);
  const double layers = static_cast<double>(config.num_hidden_layers);
  const double projections = 2 * n * LayerWeights(config) * layers + 2 * LmHead(config);
  const double attention = layers * static_cast<double>(config.num_attention_heads) * 2 * n * n *
                           static_cast<double>(config.head_dim);
  return projections + attention;
}

}  // namespace engine::tools
