// Backend: allocates tensors and runs the ops a transformer needs.
//
// The model (engine/model) is written against this interface only; CpuBackend
// (engine/backends/cpu, FP32) is the reference every other backend is tested
// against, and a CUDA backend (FP16) implements the same calls.
//
// Conventions for every op:
//   - Shapes are row-major; n is the number of tokens in the step, d the
//     hidden size, heads/kv_heads/head_dim as in the model config.
//   - Ops check the shapes and dtypes of their arguments and return
//     InvalidArgument naming the op and the offending shapes; they never abort.
//   - Ops return a new tensor unless documented as in-place. Arguments are
//     never modified unless documented.
//   - Activations are F32 on CpuBackend; a backend may keep weights and
//     activations in another float dtype (F16 on CUDA).
//   - Host-side index data (token ids, positions, KV slots) is passed as spans
//     of host memory; a device backend uploads it.
//
// Thread safety: a Backend is used by one thread at a time.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "engine/ops/attention_batch.h"
#include "engine/status.h"
#include "engine/tensor.h"

namespace engine {

class Backend {
 public:
  virtual ~Backend() = default;

  // "cpu", "cuda:0", ...
  virtual std::string_view name() const = 0;

  // A zero-filled tensor of `shape` in the backend's activation dtype.
  virtual StatusOr<Tensor> Allocate(const Shape& shape) = 0;

  // A tensor of `shape` holding `values` (row-major), in the backend's
  // weight dtype. InvalidArgument if values.size() != NumElements(shape).
  virtual StatusOr<Tensor> Upload(std::span<const float> values, const Shape& shape) = 0;

  // The tensor's values as host floats, row-major.
  virtual StatusOr<std::vector<float>> Download(const Tensor& tensor) = 0;

  // HF Linear: out[n, out_features] = x[n, in] . weight[out_features, in]^T + bias[out_features].
  // The weight is stored as HF stores it, [out, in]. `bias` may be empty (no bias).
  virtual StatusOr<Tensor> Linear(const Tensor& x, const Tensor& weight, const Tensor& bias) = 0;

  // RMSNorm over the last dimension:
  //   out[i, :] = x[i, :] / sqrt(mean_j(x[i, j]^2) + eps) * weight[:]
  // x: [n, d], weight: [d].
  virtual StatusOr<Tensor> RmsNorm(const Tensor& x, const Tensor& weight, float eps) = 0;

  // In place, on x: [n, heads, head_dim], rotates token i by positions[i]
  // with inv_freq: [head_dim / 2], in the "rotate half" layout HF Llama uses:
  // element j pairs with j + head_dim/2, and with a = positions[i] * inv_freq[j]:
  //   x'[j]            = x[j] cos a - x[j + head_dim/2] sin a
  //   x'[j + head_dim/2] = x[j + head_dim/2] cos a + x[j] sin a
  virtual Status Rope(Tensor& x, std::span<const std::int32_t> positions, const Tensor& inv_freq) = 0;

  // The SwiGLU gate: out = silu(gate) * up, elementwise, silu(g) = g / (1 + e^-g).
  // gate, up: the same shape.
  virtual StatusOr<Tensor> SiluMul(const Tensor& gate, const Tensor& up) = 0;

  // out = a + b, elementwise; a and b have the same shape.
  virtual StatusOr<Tensor> Add(const Tensor& a, const Tensor& b) = 0;

  // out[i, :] = table[ids[i], :]. table: [vocab, d]; InvalidArgument if an id
  // is outside [0, vocab).
  virtual StatusOr<Tensor> Embedding(const Tensor& table, std::span<const std::int32_t> ids) = 0;

  // out[i, :] = x[rows[i], :] for x: [n, d]. Used to keep only the rows whose
  // logits are wanted before the (large) LM head.
  virtual StatusOr<Tensor> GatherRows(const Tensor& x, std::span<const std::int32_t> rows) = 0;

  // Writes keys and values of n tokens into their cache slots:
  //   k_cache[slots[i]] = k[i], v_cache[slots[i]] = v[i]
  // k, v: [n, kv_heads, head_dim]; caches: [num_blocks, block_size, kv_heads,
  // head_dim] seen as [num_blocks * block_size, kv_heads, head_dim].
  virtual Status WriteKv(const Tensor& k, const Tensor& v, std::span<const std::int64_t> slots, Tensor& k_cache,
                         Tensor& v_cache) = 0;

  // Causal attention over the paged cache (see attention_batch.h). For token
  // i of sequence s = batch.token_seq[i] and query head h, with kv head
  // g = h / (heads / kv_heads) (grouped-query attention):
  //   score[j] = scale * q[i, h, :] . K_s[j, g, :]     for j in [0, positions[i]]
  //   out[i, h, :] = sum_j softmax(score)[j] * V_s[j, g, :]
  // where K_s[j] is k_cache at slot(s, j). q: [n, heads, head_dim]; returns
  // [n, heads, head_dim]. REQUIRES: heads is a multiple of kv_heads.
  virtual StatusOr<Tensor> PagedAttention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                                          const AttentionBatch& batch, float scale) = 0;
};

}  // namespace engine
