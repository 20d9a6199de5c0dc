// The SwiGLU gate on the fused projection (engine/backends/cpu/elementwise.cc):
//   out[i, j] = silu(gate_up[i, j]) * gate_up[i, F + j],  silu(g) = g / (1 + e^-g)
// Shapes: gate_up [n, 2F] T; out [n, F] T. Computed in float; expf is the
// accurate version.
//
// A pure stream (a prefill of 2,048 tokens of the 8B shape moves 176 MB a
// layer through it), so it is written for the memory system: a thread takes
// 16 bytes of the gate, of the up half and of out at once, and the grid is
// rows x columns, so no thread divides by F. Rows whose halves are not
// 16-byte aligned (F not a multiple of 16 bytes' elements) take one element
// per thread.
#include <cstdint>
#include <type_traits>

#include "engine/backends/cuda/device_math.cuh"
#include "engine/backends/cuda/kernels.h"

namespace engine::cuda {
namespace {

constexpr int kThreads = 256;
constexpr unsigned int kMaxRowBlocks = 65535;  // grid y; more rows stride over it

template <typename T>
__device__ __forceinline__ T SiluMul(T g, T u) {
  const float gf = ToFloat(g);
  return FromFloat<T>(gf / (1.0f + expf(-gf)) * ToFloat(u));
}

// Blocks (x, y): columns [x kThreads V, (x + 1) kThreads V) of rows y,
// y + gridDim.y, ...; V elements a thread (16 bytes' worth, or 1).
template <typename T, int V>
__global__ void silu_mul_forward_kernel(T* out, const T* gate_up, std::int64_t n, std::int64_t F) {
  using Vector = std::conditional_t<V == 1, T, uint4>;
  const std::int64_t j = (static_cast<std::int64_t>(blockIdx.x) * kThreads + threadIdx.x) * V;
  if (j >= F) return;
  for (std::int64_t i = blockIdx.y; i < n; i += gridDim.y) {
    const T* row = gate_up + i * 2 * F;
    Vector g = *reinterpret_cast<const Vector*>(row + j);
    const Vector u = *reinterpret_cast<const Vector*>(row + F + j);
    T* gv = reinterpret_cast<T*>(&g);
    const T* uv = reinterpret_cast<const T*>(&u);
#pragma unroll
    for (int k = 0; k < V; ++k) gv[k] = SiluMul(gv[k], uv[k]);
    *reinterpret_cast<Vector*>(out + i * F + j) = g;
  }
}

template <typename T, int V>
cudaError_t Launch(T* out, const T* gate_up, std::int64_t n, std::int64_t F, cudaStream_t stream) {
  const dim3 grid(GridFor((F + V - 1) / V, kThreads),
                  static_cast<unsigned int>(n < kMaxRowBlocks ? n : kMaxRowBlocks));
  silu_mul_forward_kernel<T, V><<<grid, kThreads, 0, stream>>>(out, gate_up, n, F);
  return cudaGetLastError();
}

}  // namespace

cudaError_t silu_mul_forward(void* out, const void* gate_up, DType t, std::int64_t n, std::int64_t F,
                             cudaStream_t stream) {
  if (n * F == 0) return cudaSuccess;
  return DispatchFloat(t, [&](auto x) {
    using T = decltype(x);
    constexpr int kVector = 16 / sizeof(T);
    auto* o = static_cast<T*>(out);
    const auto* in = static_cast<const T*>(gate_up);
    const bool aligned = F % kVector == 0 && reinterpret_cast<std::uintptr_t>(o) % 16 == 0 &&
                         reinterpret_cast<std::uintptr_t>(in) % 16 == 0;
    return aligned ? Launch<T, kVector>(o, in, n, F, stream) : Launch<T, 1>(o, in, n, F, stream);
  });
}

}  // namespace engine::cuda
