// CudaBackend: the Backend on one NVIDIA GPU, computing in FP16, BF16 or FP32.
//
// Work is queued on one stream and runs asynchronously; CopyToHost and
// Synchronize wait for it. Every op is a kernel of this folder (one per file,
// each beside its CPU reference, engine/backends/cpu/) or a cuBLASLt GEMM
// (gemm.h). Nothing is allocated after start-up but by Allocate: the GEMM
// workspace, the staging buffers for weight copies and the conversion
// counters are made by Create.
//
// Weight copies (CopyFromHost) go through two pinned staging buffers in turn:
// while the GPU copies one chunk (and converts it, when the stored dtype
// differs from the tensor's), the host fills the other from the source, which
// for weights is the memory-mapped checkpoint: the disk read of chunk k + 1
// overlaps the transfer of chunk k, and no float32 copy of the model is made
// in host memory.
//
// Requirements checked by Create: a GPU of compute capability 7.5 or higher
// (Turing and newer); BF16 only from 8.0 (Ampere); a driver new enough for
// the CUDA runtime this engine was built with (linked statically).
//
// Thread safety: one thread at a time, like every Backend.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <memory>
#include <string>

#include "engine/backends/cuda/gemm.h"
#include "engine/ops/backend.h"

namespace engine {

// Facts about a GPU, for messages and checks.
struct CudaDeviceFacts {
  int index = 0;
  std::string name;
  int major = 0, minor = 0;  // compute capability
  std::size_t total_bytes = 0;
  int multiprocessors = 0;
  int driver_version = 0;   // e.g. 13000: the newest CUDA the driver supports
  int runtime_version = 0;  // the CUDA runtime linked in

  bool has_bfloat16() const { return major >= 8; }
};

// The facts of GPU `index`, or FailedPrecondition saying why it cannot be
// used: no GPU, a driver older than the runtime needs (with both versions and
// the fix), an index beyond the GPUs present, compute capability below 7.5.
StatusOr<CudaDeviceFacts> ProbeCudaDevice(int index);

// The dtype `requested` ("auto", "float16", "bfloat16", "float32") resolves
// to on `device` for a checkpoint stored as `checkpoint_dtype`: auto is the
// checkpoint's dtype, or float16 where the GPU has no bfloat16.
// InvalidArgument for bfloat16 on a GPU without it, naming the GPU and the fix.
StatusOr<DType> ChooseCudaDtype(const CudaDeviceFacts& device, std::string_view requested,
                                std::string_view checkpoint_dtype);

class CudaBackend final : public Backend {
 public:
  // Opens GPU `index` (after CUDA_VISIBLE_DEVICES) computing in the dtype
  // ChooseCudaDtype picks. `batch_invariant`: Linear's two modes (gemm.h);
  // when set, attention also never splits a key range over blocks, whose
  // merge order would depend on the rest of the step. `record_steps`:
  // CanRecord's answer.
  static StatusOr<std::unique_ptr<CudaBackend>> Create(int index, std::string_view dtype,
                                                       std::string_view checkpoint_dtype, bool batch_invariant,
                                                       bool record_steps);
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  const CudaDeviceFacts& facts() const { return facts_; }

  std::string_view name() const override { return name_; }
  std::string Describe() const override;
  DType compute_dtype() const override { return dtype_; }
  std::optional<DeviceMemory> Memory() override;
  void* native_stream() override { return stream_; }

  StatusOr<Tensor> Allocate(const Shape& shape, DType dtype) override;
  StatusOr<ConversionReport> CopyFromHost(Tensor& dst, const HostMatrix& src) override;
  Status CopyToHost(void* dst, const Tensor& src) override;
  Status Synchronize() override;

  Status Embedding(Tensor& out, const Tensor& table, const Tensor& ids) override;
  Status RmsNorm(Tensor& out, Tensor& residual, const Tensor& add, const Tensor& weight, float eps) override;
  Status Linear(Tensor& out, const Tensor& x, const Tensor& weight, const Tensor& bias) override;
  Status QkvRope(Tensor& q_out, Tensor& k_cache, Tensor& v_cache, const Tensor& qkv, const Tensor& bias,
                 const Tensor& inv_freq, const StepTensors& step) override;
  Status PagedAttention(Tensor& out, const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                        const StepTensors& step, float scale, Tensor& scratch) override;
  std::int64_t AttentionScratchElements(const StepLimits& limits, std::int64_t heads,
                                        std::int64_t head_dim) const override;
  Status SiluMul(Tensor& out, const Tensor& gate_up) override;
  Status GatherRows(Tensor& out, const Tensor& x, const Tensor& rows) override;
  Status ArgMax(Tensor& ids, Tensor& values, const Tensor& logits) override;

  // CUDA graphs: the stream's work captured (relaxed mode: no op of a step
  // calls what capture forbids) and instantiated once.
  bool CanRecord() const override { return record_steps_; }
  Status BeginRecording() override;
  StatusOr<std::unique_ptr<Recording>> EndRecording() override;
  Status Replay(const Recording& recording) override;

 private:
  CudaBackend() = default;
  // A CUDA error as a Status naming the backend and `what`.
  Status Check(cudaError_t error, const std::string& what) const;

  CudaDeviceFacts facts_;
  std::string name_;
  DType dtype_ = DType::kF16;
  cudaStream_t stream_ = nullptr;
  cublasLtHandle_t lt_ = nullptr;
  void* gemm_workspace_ = nullptr;
  std::unique_ptr<cuda::Gemm> gemm_;
  bool batch_invariant_ = false;  // Linear's mode (gemm.h), and no split key ranges in attention
  bool record_steps_ = true;      // CanRecord; off with --eager
  // Weight copies: pinned host staging, device landing zones for converting
  // copies, one event per buffer, and the conversion counters.
  static constexpr std::size_t kStagingBytes = 64u << 20;
  void* staging_[2] = {nullptr, nullptr};
  void* landing_[2] = {nullptr, nullptr};
  cudaEvent_t staged_[2] = {nullptr, nullptr};
  unsigned long long* out_of_range_ = nullptr;  // device counter
  unsigned int* largest_bits_ = nullptr;        // device float bits
};

}  // namespace engine
