// What the [gpu] tests share: tensors in GPU memory, and why this machine
// cannot run a test (then it reports "skipped: ..." through tests/skip.h).
#pragma once

#include <cuda_runtime_api.h>

#include <memory>
#include <string>
#include <vector>

#include "comm_test_support.h"
#include "engine/tensor.h"
#include "skip.h"

namespace engine::testing {

// "" when this process sees at least `wanted` GPUs, else why not.
inline std::string WhyNoGpus(int wanted) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) return std::string("no NVIDIA GPU (cudaGetDeviceCount: ") + cudaGetErrorString(e) + ")";
  if (count == 0) return "no NVIDIA GPU";
  if (count < wanted) {
    return "needs " + std::to_string(wanted) + " NVIDIA GPUs, this machine has " + std::to_string(count);
  }
  return "";
}

// Skips the test when rank 0 of its forked ranks exited with the skip code
// (its output is the reason).
inline void SkipIfRankSkipped(const RankOutcome& rank0) {
  if (rank0.exit_code != cluster::testing::kSkipExitCode) return;
  std::string why = rank0.output;
  if (!why.empty() && why.back() == '\n') why.pop_back();
  cluster::testing::SkipTest(why);
}

class DeviceStorage final : public TensorStorage {
 public:
  explicit DeviceStorage(std::size_t bytes) : bytes_(bytes) { cudaMalloc(&data_, bytes); }
  ~DeviceStorage() override { cudaFree(data_); }
  void* data() override { return data_; }
  std::size_t num_bytes() const override { return bytes_; }

 private:
  void* data_ = nullptr;
  std::size_t bytes_;
};

inline Tensor DeviceF32(const std::vector<float>& values, const Shape& shape) {
  Tensor t(std::make_shared<DeviceStorage>(values.size() * sizeof(float)), shape, DType::kF32);
  cudaMemcpy(t.data(), values.data(), values.size() * sizeof(float), cudaMemcpyHostToDevice);
  return t;
}

// Waits for `stream`, then copies the tensor to the host.
inline std::vector<float> HostValues(const Tensor& t, cudaStream_t stream = nullptr) {
  cudaStreamSynchronize(stream);
  std::vector<float> values(static_cast<std::size_t>(t.num_elements()));
  cudaMemcpy(values.data(), t.data(), values.size() * sizeof(float), cudaMemcpyDeviceToHost);
  return values;
}

}  // namespace engine::testing
