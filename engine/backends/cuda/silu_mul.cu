// The SwiGLU gate on the fused projection (engine/backends/cpu/elementwise.cc):
//   out[i, j] = silu(gate_up[i, j]) * gate_up[i, F + j],  silu(g) = g / (1 + e^-g)
// Shapes: gate_up [n, 2F] T; out [n, F] T. One thread per output element
// (grid-stride), computed in float; expf is the accurate version.
#include "engine/backends/cuda/device_math.cuh"
#include "engine/backends/cuda/kernels.h"

namespace engine::cuda {
namespace {

template <typename T>
__global__ void silu_mul_forward_kernel(T* out, const T* gate_up, std::int64_t n, std::int64_t F) {
  const std::int64_t total = n * F;
  for (std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t i = e / F, j = e % F;
    const float g = ToFloat(gate_up[i * 2 * F + j]);
    const float u = ToFloat(gate_up[i * 2 * F + F + j]);
    out[e] = FromFloat<T>(g / (1.0f + expf(-g)) * u);
  }
}

}  // namespace

cudaError_t silu_mul_forward(void* out, const void* gate_up, DType t, std::int64_t n, std::int64_t F,
                             cudaStream_t stream) {
  if (n * F == 0) return cudaSuccess;
  const unsigned int blocks = GridFor(n * F, 256) < 65535u ? GridFor(n * F, 256) : 65535u;
  return DispatchFloat(t, [&](auto x) {
    using T = decltype(x);
    silu_mul_forward_kernel<T><<<blocks, 256, 0, stream>>>(static_cast<T*>(out), static_cast<const T*>(gate_up), n, F);
    return cudaGetLastError();
  });
}

}  // namespace engine::cuda
