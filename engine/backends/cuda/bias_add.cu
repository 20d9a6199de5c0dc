// The bias of a Linear whose output is float32 while its weights and bias
// are in T (the LM head into float32 logits): cuBLASLt's bias epilogue takes
// no T bias into a float32 D, so Gemm adds it here after the product
// (engine/backends/cpu/linear.cc adds it the same way, after the sum):
//   out[i, j] += float(bias[j])
// Shapes: out [n, F] F32; bias [F] T. One thread per element (grid-stride).
#include "engine/backends/cuda/device_math.cuh"
#include "engine/backends/cuda/kernels.h"

namespace engine::cuda {
namespace {

template <typename T>
__global__ void bias_add_forward_kernel(float* out, const T* bias, std::int64_t n, std::int64_t F) {
  const std::int64_t total = n * F;
  for (std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    out[e] += ToFloat(bias[e % F]);
  }
}

}  // namespace

cudaError_t bias_add_forward(float* out, const void* bias, DType t, std::int64_t n, std::int64_t F,
                             cudaStream_t stream) {
  if (n * F == 0) return cudaSuccess;
  const unsigned int blocks = GridFor(n * F, 256) < 65535u ? GridFor(n * F, 256) : 65535u;
  return DispatchFloat(t, [&](auto x) {
    using T = decltype(x);
    bias_add_forward_kernel<T><<<blocks, 256, 0, stream>>>(out, static_cast<const T*>(bias), n, F);
    return cudaGetLastError();
  });
}

}  // namespace engine::cuda
