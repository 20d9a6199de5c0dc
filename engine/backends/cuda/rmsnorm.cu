// RMSNorm with the residual add (engine/backends/cpu/rmsnorm.cc):
//   residual[i, :] += add[i, :]                     (when add is given)
//   out[i, :] = residual[i, :] * rsqrt(mean_j residual[i, j]^2 + eps) * w[:]
//
// Shapes: residual [n, d] F32 (updated in place); add, w, out T. One block per
// row, of about d / 4 threads (BlockThreads: a function of d only, so a row's
// result never depends on how many rows the step has): each thread adds and
// squares a strided share of the row, a block reduction gives the mean square
// (float, summed in a tree, so its error grows with log d rather than d), then
// each thread scales its share. The row is read twice (the second time from
// L1/L2); the add costs no extra pass. A thread loads kBatch elements of its
// share before it stores any, so their loads are in flight together: a
// decode step has a single row, and its one block's time is the latency of
// those loads. The reference sums in double; the difference is far below FP16's
// resolution and within the FP32 conformance bound.
#include "engine/backends/cuda/device_math.cuh"
#include "engine/backends/cuda/kernels.h"

namespace engine::cuda {
namespace {

constexpr int kBatch = 4;  // elements a thread loads before it stores any

template <typename T>
__global__ void rmsnorm_forward_kernel(T* __restrict__ out, float* __restrict__ residual, const T* __restrict__ add,
                                       const T* __restrict__ w, std::int64_t d, float eps) {
  __shared__ float partial[32];
  const std::int64_t i = blockIdx.x;
  const int threads = static_cast<int>(blockDim.x);
  float* row = residual + i * d;
  float sum_sq = 0.0f;
  // Each thread's elements j = threadIdx.x + k * blockDim.x in increasing k:
  // the summation order of a plain strided loop.
  for (std::int64_t j0 = threadIdx.x; j0 < d; j0 += kBatch * threads) {
    float v[kBatch];
#pragma unroll
    for (int k = 0; k < kBatch; ++k) {
      const std::int64_t j = j0 + static_cast<std::int64_t>(k) * threads;
      v[k] = 0.0f;
      if (j < d) v[k] = add != nullptr ? row[j] + ToFloat(add[i * d + j]) : row[j];
    }
#pragma unroll
    for (int k = 0; k < kBatch; ++k) {
      const std::int64_t j = j0 + static_cast<std::int64_t>(k) * threads;
      if (j < d) {
        if (add != nullptr) row[j] = v[k];
        sum_sq += v[k] * v[k];
      }
    }
  }
  const float total = BlockSum(sum_sq, partial);
  const float inv_rms = rsqrtf(total / static_cast<float>(d) + eps);
  T* o = out + i * d;
  for (std::int64_t j0 = threadIdx.x; j0 < d; j0 += kBatch * threads) {
    float v[kBatch], scale[kBatch];
#pragma unroll
    for (int k = 0; k < kBatch; ++k) {
      const std::int64_t j = j0 + static_cast<std::int64_t>(k) * threads;
      v[k] = j < d ? row[j] : 0.0f;
      scale[k] = j < d ? ToFloat(w[j]) : 0.0f;
    }
#pragma unroll
    for (int k = 0; k < kBatch; ++k) {
      const std::int64_t j = j0 + static_cast<std::int64_t>(k) * threads;
      if (j < d) o[j] = FromFloat<T>(scale[k] * (v[k] * inv_rms));
    }
  }
}

// About d / kBatch threads, a whole number of warps, from 32 to 1024.
int BlockThreads(std::int64_t d) {
  const std::int64_t warps = (d / kBatch + 31) / 32;
  return static_cast<int>(32 * (warps < 1 ? 1 : warps > 32 ? 32 : warps));
}

}  // namespace

cudaError_t rmsnorm_forward(void* out, float* residual, const void* add, const void* w, DType t, std::int64_t n,
                            std::int64_t d, float eps, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  return DispatchFloat(t, [&](auto x) {
    using T = decltype(x);
    rmsnorm_forward_kernel<T><<<static_cast<unsigned int>(n), BlockThreads(d), 0, stream>>>(
        static_cast<T*>(out), residual, static_cast<const T*>(add), static_cast<const T*>(w), d, eps);
    return cudaGetLastError();
  });
}

}  // namespace engine::cuda
