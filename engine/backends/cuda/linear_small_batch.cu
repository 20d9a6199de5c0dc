// Linear for a few rows (decode steps): out[n, o] = x[n, in] . w[o, in]^T
// (+ bias), n <= kSmallBatchMaxRows (engine/backends/cpu/linear.cc is the
// reference; gemm.h decides when this kernel runs instead of cuBLASLt).
//
// Why our own kernel: a decode step reads every weight once and does two
// FLOPs per weight and row, so its speed is the memory bandwidth. cuBLASLt's
// tiles are sized for prefill; for one row most of a tile's work is wasted
// and, without split-K, a 4096-feature projection is only a few dozen tiles,
// too few to keep the memory system busy.
//
// Work split. A block (8 warps) holds two groups of 4 warps; a group owns 4
// output features and splits their `in` into 4 slices, one per warp. Each
// lane streams its share of the slice of the 4 weight rows with 16-byte
// loads, 4 per row in flight (evict-first, so they do not push x out of L1),
// and multiplies each loaded vector into all n rows of x, which stay in
// L1/L2: every weight is read from memory exactly once per step, whatever
// n, and each x load serves 4 weight rows. Then each group's warps' sums
// meet in shared memory. On an H100 this split read the weight matrices of
// the Llama-3-8B shape at 101% of the copy bandwidth (a copy reads and
// writes, this only reads) at one row, where the split of 8 warps by 8
// features with 2 loads per row in flight read at 96%: 16 loads per lane in
// flight either way, but 4 slices give each warp twice as long a run.
//
// Why at most 4 rows: each weight is converted to float and multiplied into
// every row on CUDA cores, so the arithmetic per byte read grows with n. On
// an H100 this kernel read the Llama-3-8B shape's matrices at 101% of the
// copy bandwidth for 1 row, 91% for 2 and 82% for 4 (docs/benchmarks.md);
// the split before it fell to 30% and 19% for 8 and 16 rows, below
// cuBLASLt, which takes those on tensor cores.
//
// Numerics: FP32 accumulation. With V elements per 16-byte vector, warp w of
// a group takes vectors [w * P, (w + 1) * P) of a row (P = ceil(in / V / 4)); its
// lane l the vectors l, l + 32, ... of that slice, in increasing order,
// adding w[k + e] * x[k + e] for e = 0..V-1 with fused multiply-adds; the
// lanes' sums are combined by WarpSum's xor-butterfly, the 4 warps' sums in
// warp order ((s0 + s1) + s2) + s3; then + bias, then rounded to the
// output type. That order depends only on `in` and the element type: never
// on n, on the row's place in the batch or on the other rows, so this
// kernel is batch invariant across every n it takes. (It is a different
// order from cuBLASLt's, so a token's result depends on whether its step ran
// here or there; gemm.h states when that matters.)
//
// Shapes: x [n, in] T, w [o, in] T, bias [o] T or null, out [n, o] T or F32.
// REQUIRES (checked by linear_small_batch_supported): 1 <= n <=
// kSmallBatchMaxRows, `in` a multiple of V, x and w 16-byte aligned.
#include <cstdint>

#include "engine/backends/cuda/device_math.cuh"
#include "engine/backends/cuda/kernels.h"

namespace engine::cuda {
namespace {

constexpr int kSlices = 4;  // warps splitting a feature's `in`: part of the summation order, never change per n
constexpr int kGroups = 2;  // groups of kSlices warps per block
constexpr int kRows = 4;    // output features per group
constexpr int kUnroll = 4;  // vectors per row loaded before any is used: 16 loads in flight per lane
constexpr int kThreads = kSlices * kGroups * 32;
constexpr int kRowsPerBlock = kGroups * kRows;

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
__global__ void __launch_bounds__(kThreads)
    linear_small_batch_kernel(OutT* out, const T* x, const T* w, const T* bias, int n, std::int64_t in,
                              std::int64_t o) {
  constexpr int V = 16 / sizeof(T);
  constexpr int R = kRows, U = kUnroll;
  __shared__ float partial[kGroups][kSlices][R][N];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int group = warp / kSlices, slice = warp % kSlices;
  const std::int64_t first = static_cast<std::int64_t>(blockIdx.x) * kRowsPerBlock + group * R;
  const std::int64_t vectors = in / V;  // per row
  const std::int64_t per_warp = (vectors + kSlices - 1) / kSlices;
  const std::int64_t begin = slice * per_warp;
  const std::int64_t end = begin + per_warp < vectors ? begin + per_warp : vectors;
  const uint4* wrow[R];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    // Rows past o repeat the last row: loaded, never stored.
    const std::int64_t row = first + r < o ? first + r : o - 1;
    wrow[r] = reinterpret_cast<const uint4*>(w + row * in);
  }
  const uint4* xrow = reinterpret_cast<const uint4*>(x);

  float acc[R][N];
#pragma unroll
  for (int r = 0; r < R; ++r) {
#pragma unroll
    for (int t = 0; t < N; ++t) acc[r][t] = 0.0f;
  }
  // U vectors per row loaded before any is used, then one at a time; the
  // order of the additions is the same either way.
  std::int64_t j = begin + lane;
  for (; j + 32 * (U - 1) < end; j += 32 * U) {
    uint4 wv[R][U];
#pragma unroll
    for (int r = 0; r < R; ++r) {
#pragma unroll
      for (int u = 0; u < U; ++u) wv[r][u] = LoadStreaming(wrow[r] + j + 32 * u);
    }
#pragma unroll
    for (int u = 0; u < U; ++u) {
#pragma unroll
      for (int t = 0; t < N; ++t) {
        if (t < n) {
          const uint4 xv = LoadCached(xrow + t * vectors + j + 32 * u);
#pragma unroll
          for (int r = 0; r < R; ++r) acc[r][t] = DotVector<T>(acc[r][t], wv[r][u], xv);
        }
      }
    }
  }
  for (; j < end; j += 32) {
    uint4 wv[R];
#pragma unroll
    for (int r = 0; r < R; ++r) wv[r] = LoadStreaming(wrow[r] + j);
#pragma unroll
    for (int t = 0; t < N; ++t) {
      if (t < n) {
        const uint4 xv = LoadCached(xrow + t * vectors + j);
#pragma unroll
        for (int r = 0; r < R; ++r) acc[r][t] = DotVector<T>(acc[r][t], wv[r], xv);
      }
    }
  }
#pragma unroll
  for (int r = 0; r < R; ++r) {
#pragma unroll
    for (int t = 0; t < N; ++t) {
      const float sum = WarpSum(acc[r][t]);  // every lane takes part
      if (lane == 0) partial[group][slice][r][t] = sum;
    }
  }
  __syncthreads();
  for (int e = threadIdx.x; e < kGroups * R * N; e += kThreads) {
    const int g = e / (R * N), r = e / N % R, t = e % N;
    const std::int64_t row = static_cast<std::int64_t>(blockIdx.x) * kRowsPerBlock + g * R + r;
    if (t >= n || row >= o) continue;
    float sum = partial[g][0][r][t];
#pragma unroll
    for (int k = 1; k < kSlices; ++k) sum += partial[g][k][r][t];
    if (bias != nullptr) sum += ToFloat(bias[row]);
    out[static_cast<std::int64_t>(t) * o + row] = FromFloat<OutT>(sum);
  }
}

template <typename T, typename OutT, int N>
void LaunchN(OutT* y, const T* x, const T* w, const T* bias, int n, std::int64_t in, std::int64_t o,
             cudaStream_t stream) {
  const unsigned int blocks = GridFor(o, kRowsPerBlock);
  linear_small_batch_kernel<T, OutT, N><<<blocks, kThreads, 0, stream>>>(y, x, w, bias, n, in, o);
}

template <typename T, typename OutT>
cudaError_t Launch(void* out, const void* x, const void* w, const void* bias, std::int64_t n, std::int64_t in,
                   std::int64_t o, cudaStream_t stream) {
  auto* y = static_cast<OutT*>(out);
  const auto* xs = static_cast<const T*>(x);
  const auto* ws = static_cast<const T*>(w);
  const auto* bs = static_cast<const T*>(bias);
  const int rows = static_cast<int>(n);
  // Buckets of n: the accumulators of N rows live in registers.
  static_assert(kSmallBatchMaxRows == 4, "one bucket per power of two up to kSmallBatchMaxRows");
  if (n <= 1) {
    LaunchN<T, OutT, 1>(y, xs, ws, bs, rows, in, o, stream);
  } else if (n <= 2) {
    LaunchN<T, OutT, 2>(y, xs, ws, bs, rows, in, o, stream);
  } else {
    LaunchN<T, OutT, 4>(y, xs, ws, bs, rows, in, o, stream);
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
