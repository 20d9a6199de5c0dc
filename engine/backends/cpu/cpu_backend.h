// CpuBackend: the FP32 reference implementation of Backend.
//
// Every tensor is F32 in host memory (64-byte aligned). Weights uploaded as
// floats are stored as they are, so the model computes in FP32 throughout:
// this is the backend other backends' results are compared with. Every
// kernel is a single-threaded loop (engine/backends/cpu/kernels.h), simple
// enough to read as the definition of the op. Every op is batch invariant:
// a token's result does not depend, in any bit, on the other tokens of the
// call (linear.cc says why the GEMM is ours rather than OpenBLAS's).
//
// Thread safety: one thread at a time, like every Backend.
#pragma once

#include "engine/ops/backend.h"

namespace engine {

class CpuBackend final : public Backend {
 public:
  CpuBackend() = default;

  std::string_view name() const override { return "cpu"; }

  StatusOr<Tensor> Allocate(const Shape& shape) override;
  StatusOr<Tensor> Upload(std::span<const float> values, const Shape& shape) override;
  StatusOr<std::vector<float>> Download(const Tensor& tensor) override;

  StatusOr<Tensor> Linear(const Tensor& x, const Tensor& weight, const Tensor& bias) override;
  StatusOr<Tensor> RmsNorm(const Tensor& x, const Tensor& weight, float eps) override;
  Status Rope(Tensor& x, std::span<const std::int32_t> positions, const Tensor& inv_freq) override;
  StatusOr<Tensor> SiluMul(const Tensor& gate, const Tensor& up) override;
  StatusOr<Tensor> Add(const Tensor& a, const Tensor& b) override;
  StatusOr<Tensor> Embedding(const Tensor& table, std::span<const std::int32_t> ids) override;
  StatusOr<Tensor> GatherRows(const Tensor& x, std::span<const std::int32_t> rows) override;
  Status WriteKv(const Tensor& k, const Tensor& v, std::span<const std::int64_t> slots, Tensor& k_cache,
                 Tensor& v_cache) override;
  StatusOr<Tensor> PagedAttention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                                  const AttentionBatch& batch, float scale) override;
};

}  // namespace engine
