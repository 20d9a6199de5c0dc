#include "engine/backends/factory/backend_factory.h"

#include <charconv>
#include <string>

#include "engine/backends/cpu/cpu_backend.h"
#if CLUSTER_WITH_CUDA
#include "engine/backends/cuda/cuda_backend.h"
#endif

namespace engine {

using cluster::FailedPreconditionError;
using cluster::InvalidArgumentError;

StatusOr<DeviceChoice> ParseDevice(std::string_view text) {
  if (text == "cpu") return DeviceChoice{};
  if (text == "cuda") return DeviceChoice{true, 0};
  if (text.substr(0, 5) == "cuda:") {
    const std::string_view digits = text.substr(5);
    int index = -1;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (!digits.empty() && ec == std::errc() && end == digits.data() + digits.size() && index >= 0) {
      return DeviceChoice{true, index};
    }
  }
  return InvalidArgumentError("--device " + std::string(text) + ": expected cpu, cuda or cuda:N (a GPU index)");
}

bool BuiltWithCuda() { return CLUSTER_WITH_CUDA != 0; }

StatusOr<DeviceReport> ProbeDevice(std::string_view device) {
  CLUSTER_ASSIGN_OR_RETURN(DeviceChoice choice, ParseDevice(device));
  if (!choice.cuda) return InvalidArgumentError("probe: the cpu device needs no probe; give cuda or cuda:N");
#if CLUSTER_WITH_CUDA
  CLUSTER_ASSIGN_OR_RETURN(CudaDeviceFacts f, ProbeCudaDevice(choice.index));
  auto version = [](int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); };
  DeviceReport r;
  r.device = "cuda:" + std::to_string(choice.index);
  r.name = f.name;
  r.compute_capability = std::to_string(f.major) + "." + std::to_string(f.minor);
  r.memory_bytes = f.total_bytes;
  r.driver_cuda = version(f.driver_version);
  r.runtime_cuda = version(f.runtime_version);
  r.bfloat16 = f.has_bfloat16();
  return r;
#else
  return FailedPreconditionError("--device " + std::string(device) +
                                 ": this infer-engine was built without CUDA (no CUDA toolkit at build time); use "
                                 "--device cpu, or a build made with the CUDA toolkit");
#endif
}

StatusOr<std::unique_ptr<Backend>> CreateBackend(std::string_view device, std::string_view dtype,
                                                 std::string_view checkpoint_dtype, bool batch_invariant,
                                                 bool record_steps) {
  CLUSTER_ASSIGN_OR_RETURN(DeviceChoice choice, ParseDevice(device));
  if (dtype != "auto" && dtype != "float32" && dtype != "float16" && dtype != "bfloat16") {
    return InvalidArgumentError("--dtype " + std::string(dtype) + ": expected auto, float16, bfloat16 or float32");
  }
  if (!choice.cuda) {
    if (dtype != "auto" && dtype != "float32") {
      return InvalidArgumentError("the CPU engine computes in float32; got --dtype " + std::string(dtype) +
                                  ": use --dtype float32 (runtime.dtype: float32) with the cpu device");
    }
    return std::unique_ptr<Backend>(new CpuBackend());
  }
#if CLUSTER_WITH_CUDA
  CLUSTER_ASSIGN_OR_RETURN(std::unique_ptr<CudaBackend> cuda, CudaBackend::Create(choice.index, dtype, checkpoint_dtype,
                                                                                        batch_invariant, record_steps));
  return std::unique_ptr<Backend>(std::move(cuda));
#else
  (void)checkpoint_dtype;
  (void)batch_invariant;
  (void)record_steps;
  return FailedPreconditionError("--device " + std::string(device) +
                                 ": this infer-engine was built without CUDA (no CUDA toolkit at build time); use "
                                 "--device cpu, or a build made with the CUDA toolkit");
#endif
}

}  // namespace engine
