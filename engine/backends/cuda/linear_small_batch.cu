// Linear for a few rows (decode steps): out[n, o] = x[n, in] . w[o, in]^T
// (+ bias), n <= kSmallBatchMaxRows (engine/backends/cpu/linear.cc is the
// reference; gemm.h decides when this kernel runs instead of cuBLASLt).
//
// Why our own kernel: a decode step reads every weight once and does two
// FLOPs per weight and row, so its speed is the memory bandwidth. cuBLASLt's
// tiles are sized for prefill; for one row most of a tile's work is wasted
// and, without split-K, a 4096-feature projection is only a few dozen tiles,
// too few to keep the memory system busy. Here one warp owns kRowsPerWarp
// output features: each lane streams its share of those weight rows with
// 16-byte loads (kUnroll loads per row in flight, evict-first so they do not
// push x out of L1) and multiplies every loaded vector into all n rows of x,
// which stay in L1/L2. So each weight is read from memory exactly once per
// step, whatever n.
//
// Numerics: FP32 accumulation. Lane l takes the V-element vectors starting at
// k = (l + 32 j) V (V = 16 bytes / element size), j increasing, and adds
// w[k + e] * x[k + e] for e = 0..V-1 in that order with fused multiply-adds;
// the 32 lane sums are combined by the xor-butterfly of WarpSum; then + bias,
// then rounded to the output type. That order depends only on `in` and the
// element type: never on n, on the row's place in the batch or on the other
// rows, so this kernel is batch invariant across every n it takes. (It is a
// different order from cuBLASLt's, so a token's result depends on whether its
// step ran here or there; gemm.h states when that matters.)
//
// Shapes: x [n, in] T, w [o, in] T, bias [o] T or null, out [n, o] T or F32.
// REQUIRES (checked by linear_small_batch_supported): 1 <= n <=
// kSmallBatchMaxRows, `in` a multiple of V, x and w 16-byte aligned.
#include <cstdint>

#include "engine/backends/cuda/device_math.cuh"
#include "engine/backends/cuda/kernels.h"

namespace engine::cuda {
namespace {

constexpr int kWarpsPerBlock = 8;
constexpr int kRowsPerWarp = 2;
constexpr int kUnroll = 4;

// Streaming load: read once, evict first (keeps x, reused by every warp, in L1).
__device__ __forceinline__ uint4 LoadStreaming(const uint4* p) { return __ldcs(p); }
__device__ __forceinline__ uint4 LoadCached(const uint4* p) { return __ldg(p); }

// acc += w . x over the V elements of one 16-byte vector, in element order.
template <typename T>
__device__ __forceinline__ float DotVector(float acc, const uint4& w, const uint4& x) {
  constexpr int V = 16 / sizeof(T);
  const T* wv = reinterpret_cast<const T*>(&w);
  const T* xv = reinterpret_cast<const T*>(&x);
#pragma unroll
  for (int e = 0; e < V; ++e) acc = __fmaf_rn(ToFloat(wv[e]), ToFloat(xv[e]), acc);
  return acc;
}

// N: the largest n of this instantiation (n <= N rows are computed).
template <typename T, typename OutT, int N>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    linear_small_batch_kernel(OutT* out, const T* x, const T* w, const T* bias, int n, std::int64_t in,
                              std::int64_t o) {
  constexpr int V = 16 / sizeof(T);
  const int lane = threadIdx.x % 32;
  const std::int64_t first = (static_cast<std::int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32) * kRowsPerWarp;
  if (first >= o) return;
  const std::int64_t vectors = in / V;  // per row
  const uint4* wrow[kRowsPerWarp];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    // A warp's rows past o repeat its last row: loaded, never stored.
    const std::int64_t row = first + r < o ? first + r : o - 1;
    wrow[r] = reinterpret_cast<const uint4*>(w + row * in);
  }
  const uint4* xrow = reinterpret_cast<const uint4*>(x);

  float acc[kRowsPerWarp][N];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
#pragma unroll
    for (int t = 0; t < N; ++t) acc[r][t] = 0.0f;
  }
  // One step: kUnroll vectors per row loaded before any is used.
  std::int64_t j = lane;
  for (; j + 32 * (kUnroll - 1) < vectors; j += 32 * kUnroll) {
    uint4 wv[kRowsPerWarp][kUnroll];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
#pragma unroll
      for (int u = 0; u < kUnroll; ++u) wv[r][u] = LoadStreaming(wrow[r] + j + 32 * u);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
#pragma unroll
      for (int t = 0; t < N; ++t) {
        if (t < n) {
          const uint4 xv = LoadCached(xrow + t * vectors + j + 32 * u);
#pragma unroll
          for (int r = 0; r < kRowsPerWarp; ++r) acc[r][t] = DotVector<T>(acc[r][t], wv[r][u], xv);
        }
      }
    }
  }
  for (; j < vectors; j += 32) {  // the rest, one vector at a time, same order
    uint4 wv[kRowsPerWarp];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) wv[r] = LoadStreaming(wrow[r] + j);
#pragma unroll
    for (int t = 0; t < N; ++t) {
      if (t < n) {
        const uint4 xv = LoadCached(xrow + t * vectors + j);
#pragma unroll
        for (int r = 0; r < kRowsPerWarp; ++r) acc[r][t] = DotVector<T>(acc[r][t], wv[r], xv);
      }
    }
  }
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const std::int64_t row = first + r;
    const float b = bias != nullptr && row < o ? ToFloat(bias[row]) : 0.0f;
#pragma unroll
    for (int t = 0; t < N; ++t) {
      const float sum = WarpSum(acc[r][t]);  // every lane takes part; lane 0 stores
      if (lane == 0 && t < n && row < o) out[static_cast<std::int64_t>(t) * o + row] = FromFloat<OutT>(sum + b);
    }
  }
}

template <typename T, typename OutT>
cudaError_t Launch(void* out, const void* x, const void* w, const void* bias, std::int64_t n, std::int64_t in,
                   std::int64_t o, cudaStream_t stream) {
  const unsigned int blocks = GridFor(o, kWarpsPerBlock * kRowsPerWarp);
  auto* y = static_cast<OutT*>(out);
  const auto* xs = static_cast<const T*>(x);
  const auto* ws = static_cast<const T*>(w);
  const auto* bs = static_cast<const T*>(bias);
  const int rows = static_cast<int>(n);
  constexpr unsigned int threads = kWarpsPerBlock * 32;
  // Buckets of n: the accumulators of N rows live in registers.
  if (n <= 1) {
    linear_small_batch_kernel<T, OutT, 1><<<blocks, threads, 0, stream>>>(y, xs, ws, bs, rows, in, o);
  } else if (n <= 2) {
    linear_small_batch_kernel<T, OutT, 2><<<blocks, threads, 0, stream>>>(y, xs, ws, bs, rows, in, o);
  } else if (n <= 4) {
    linear_small_batch_kernel<T, OutT, 4><<<blocks, threads, 0, stream>>>(y, xs, ws, bs, rows, in, o);
  } else if (n <= 8) {
    linear_small_batch_kernel<T, OutT, 8><<<blocks, threads, 0, stream>>>(y, xs, ws, bs, rows, in, o);
  } else {
    linear_small_batch_kernel<T, OutT, 16><<<blocks, threads, 0, stream>>>(y, xs, ws, bs, rows, in, o);
  }
  return cudaGetLastError();
}

}  // namespace

bool linear_small_batch_supported(const void* x, const void* w, DType t, std::int64_t n, std::int64_t in) {
  const auto aligned = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; };
  const std::int64_t per_vector = t == DType::kF32 ? 4 : 8;
  return t != DType::kI32 && n >= 1 && n <= kSmallBatchMaxRows && in > 0 && in % per_vector == 0 && aligned(x) &&
         aligned(w);
}

cudaError_t linear_small_batch_forward(void* out, DType out_t, const void* x, const void* w, const void* bias, DType t,
                                       std::int64_t n, std::int64_t in, std::int64_t o, cudaStream_t stream) {
  if (o == 0) return cudaSuccess;
  if (!linear_small_batch_supported(x, w, t, n, in) || (out_t != t && out_t != DType::kF32)) {
    return cudaErrorInvalidValue;
  }
  return DispatchFloat(t, [&](auto v) {
    using T = decltype(v);
    if (out_t == DType::kF32) return Launch<T, float>(out, x, w, bias, n, in, o, stream);
    return Launch<T, T>(out, x, w, bias, n, in, o, stream);
  });
}

}  // namespace engine::cuda
