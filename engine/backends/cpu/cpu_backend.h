// CpuBackend: the FP32 reference implementation of Backend.
//
// Every tensor lives in host memory (64-byte aligned) and computes in F32:
// weights stored as F16 or BF16 are widened (exactly) when copied in, so the
// model computes in FP32 throughout. This is the backend other backends'
// results are compared with. Every kernel is a single-threaded loop
// (engine/backends/cpu/kernels.h), simple enough to read as the definition of
// the op. Every op is batch invariant: a token's result does not depend, in
// any bit, on the other tokens of the call (linear.cc says why the GEMM is
// ours rather than OpenBLAS's). Ops run synchronously.
//
// Thread safety: one thread at a time, like every Backend.
#pragma once

#include "engine/ops/backend.h"

namespace engine {

class CpuBackend final : public Backend {
 public:
  CpuBackend() = default;

  std::string_view name() const override { return "cpu"; }
  std::string Describe() const override { return "cpu (float32)"; }
  DType compute_dtype() const override { return DType::kF32; }
  std::optional<DeviceMemory> Memory() override { return std::nullopt; }

  StatusOr<Tensor> Allocate(const Shape& shape, DType dtype) override;
  StatusOr<ConversionReport> CopyFromHost(Tensor& dst, const HostMatrix& src) override;
  Status CopyToHost(void* dst, const Tensor& src) override;
  Status Synchronize() override { return Status::Ok(); }

  Status Embedding(Tensor& out, const Tensor& table, const Tensor& ids) override;
  Status RmsNorm(Tensor& out, Tensor& residual, const Tensor& add, const Tensor& weight, float eps) override;
  Status Linear(Tensor& out, const Tensor& x, const Tensor& weight, const Tensor& bias) override;
  Status QkvRope(Tensor& q_out, Tensor& k_cache, Tensor& v_cache, const Tensor& qkv, const Tensor& bias,
                 const Tensor& inv_freq, const StepTensors& step) override;
  Status PagedAttention(Tensor& out, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                        const StepTensors& step, float scale, Tensor& scratch) override;
  std::int64_t AttentionScratchElements(const StepLimits&, std::int64_t, std::int64_t) const override { return 0; }
  Status SiluMul(Tensor& out, const Tensor& gate_up) override;
  Status GatherRows(Tensor& out, const Tensor& x, const Tensor& rows) override;
  Status ArgMax(Tensor& ids, Tensor& values, const Tensor& logits) override;
};

}  // namespace engine
