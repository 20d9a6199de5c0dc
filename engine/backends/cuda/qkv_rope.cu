// Bias, RoPE and the KV cache write, fused (engine/backends/cpu/qkv_rope.cc).
//
// qkv: [n, (H + 2K) h] T, per token q heads, then k heads, then v heads.
// With half = h / 2 and a = positions[i] * inv_freq[j] (the product in float):
//   q_out[i, head, j]        = x[j] cos a - x[j + half] sin a     x = q + b_q
//   q_out[i, head, j + half] = x[j + half] cos a + x[j] sin a
//   k_cache[slots[i], g, :]  = the same rotation of k + b_k
//   v_cache[slots[i], g, :]  = v + b_v
// Caches [blocks, block_size, K, h] T, seen as [slots, K, h].
//
// Work items per token: its (head, pair) rotations, then its v elements; a
// thread takes one. Grid: x = token, y = blocks of kThreads items, so that a
// decode step's single token still spreads over many SMs. sincosf is the accurate (not the __sinf intrinsic)
// version: within 2 ulp of the reference's double-precision cos/sin rounded
// to float.
#include "engine/backends/cuda/device_math.cuh"
#include "engine/backends/cuda/kernels.h"

namespace engine::cuda {
namespace {

constexpr int kThreads = 128;

template <typename T>
__global__ void qkv_rope_forward_kernel(T* __restrict__ q_out, T* __restrict__ k_cache, T* __restrict__ v_cache,
                                        const T* __restrict__ qkv, const T* __restrict__ bias,
                                        const float* __restrict__ inv_freq, const std::int32_t* __restrict__ positions,
                                        const std::int32_t* __restrict__ slots, int heads, int kv_heads,
                                        int head_dim) {
  const std::int64_t i = blockIdx.x;
  const int item = static_cast<int>(blockIdx.y) * kThreads + static_cast<int>(threadIdx.x);
  const int half = head_dim / 2;
  const std::int64_t width = static_cast<std::int64_t>(heads + 2 * kv_heads) * head_dim;
  const T* src = qkv + i * width;
  const std::int64_t slot = slots[i];
  const int rotations = (heads + kv_heads) * half;  // q heads, then k heads
  const int v_elements = kv_heads * head_dim;
  if (item < rotations) {
    const int head = item / half, j = item % half;  // head < heads: a q head; else k head (head - heads)
    const int column = head * head_dim + j;
    float a = ToFloat(src[column]), b = ToFloat(src[column + half]);
    if (bias != nullptr) {
      a += ToFloat(bias[column]);
      b += ToFloat(bias[column + half]);
    }
    float s, c;
    sincosf(static_cast<float>(positions[i]) * inv_freq[j], &s, &c);
    T* dst = head < heads ? q_out + (i * heads + head) * head_dim
                          : k_cache + (slot * kv_heads + (head - heads)) * head_dim;
    dst[j] = FromFloat<T>(a * c - b * s);
    dst[j + half] = FromFloat<T>(b * c + a * s);
  } else if (item < rotations + v_elements) {
    const int e = item - rotations;
    const int v_column = (heads + kv_heads) * head_dim;
    float v = ToFloat(src[v_column + e]);
    if (bias != nullptr) v += ToFloat(bias[v_column + e]);
    v_cache[slot * v_elements + e] = FromFloat<T>(v);
  }
}

}  // namespace

cudaError_t qkv_rope_forward(const QkvRopeArgs& a, DType t, cudaStream_t stream) {
  if (a.n == 0) return cudaSuccess;
  return DispatchFloat(t, [&](auto x) {
    using T = decltype(x);
    const std::int64_t items = (a.heads + a.kv_heads) * (a.head_dim / 2) + a.kv_heads * a.head_dim;
    const dim3 grid(static_cast<unsigned int>(a.n), GridFor(items, kThreads));
    qkv_rope_forward_kernel<T><<<grid, kThreads, 0, stream>>>(
        static_cast<T*>(a.q_out), static_cast<T*>(a.k_cache), static_cast<T*>(a.v_cache),
        static_cast<const T*>(a.qkv), static_cast<const T*>(a.bias), a.inv_freq, a.positions, a.slots,
        static_cast<int>(a.heads), static_cast<int>(a.kv_heads), static_cast<int>(a.head_dim));
    return cudaGetLastError();
  });
}

}  // namespace engine::cuda
