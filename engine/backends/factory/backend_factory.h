// Choosing a Backend from the command line's --device and --dtype.
//
//   --device cpu          the FP32 reference (CpuBackend); --dtype must be float32 or auto
//   --device cuda[:N]     GPU N (default 0) with CudaBackend, in builds with CUDA
//   --dtype auto|float16|bfloat16|float32
// On CUDA, auto is the checkpoint's dtype (config.json's torch_dtype), or
// float16 where the GPU has no bfloat16 (compute capability below 8.0), which
// is how a BF16 checkpoint such as DeepSeek-R1-Distill-Llama-70B is served on
// a T4. Every refusal says what to change.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <cstddef>

#include "engine/ops/backend.h"

namespace engine {

struct DeviceChoice {
  bool cuda = false;
  int index = 0;  // the GPU, for cuda
};

// "cpu", "cuda", "cuda:N". InvalidArgument otherwise.
StatusOr<DeviceChoice> ParseDevice(std::string_view text);

// `dtype` as given to --dtype; `checkpoint_dtype` is ModelConfig::dtype ("" if unknown).
// `batch_invariant` (--batch-invariant): a token's results must not depend on
// what else is in its step; the CPU backend always is, a GPU's decode steps
// are slower that way (engine/backends/cuda/gemm.h). `record_steps` (off
// with --eager): whether a GPU backend may record decode steps as CUDA graphs
// and replay them (Backend::CanRecord); the CPU never records.
// InvalidArgument for a dtype the device cannot compute in; FailedPrecondition
// when the device cannot be used (no CUDA in this build, no GPU, a driver too
// old for the CUDA runtime, a GPU below compute capability 7.5).
StatusOr<std::unique_ptr<Backend>> CreateBackend(std::string_view device, std::string_view dtype,
                                                 std::string_view checkpoint_dtype, bool batch_invariant,
                                                 bool record_steps = true);

// True if this build includes the CUDA backend.
bool BuiltWithCuda();

// What `clusterctl check` asks the engine on a host: can it open this device?
struct DeviceReport {
  std::string device;              // "cuda:0"
  std::string name;                // "NVIDIA H200"
  std::string compute_capability;  // "9.0"
  std::size_t memory_bytes = 0;
  std::string driver_cuda;   // the newest CUDA the driver supports, "13.0"
  std::string runtime_cuda;  // the CUDA runtime in this engine, "13.0"
  bool bfloat16 = false;
};

// Opens `device` ("cuda" or "cuda:N") as the backend would, without
// allocating. FailedPrecondition with the reason and the fix otherwise
// (the same messages as CreateBackend); InvalidArgument for "cpu" or a bad name.
StatusOr<DeviceReport> ProbeDevice(std::string_view device);

}  // namespace engine
