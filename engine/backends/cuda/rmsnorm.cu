// RMSNorm with the residual add (engine/backends/cpu/rmsnorm.cc):
//   residual[i, :] += add[i, :]                     (when add is given)
//   out[i, :] = residual[i, :] * rsqrt(mean_j residual[i, j]^2 + eps) * w[:]
//
// Shapes: residual [n, d] F32 (updated in place); add, w, out T. One block per
// row (256 threads): each thread adds and squares a strided share of the row,
// a block reduction gives the mean square (float, summed in a tree, so its
// error grows with log d rather than d), then each thread scales its share.
// The row is read twice (the second time from L1/L2); the add costs no extra
// pass. The reference sums in double; the difference is far below FP16's
// resolution and within the FP32 conformance bound.
#include "engine/backends/cuda/device_math.cuh"
#include "engine/backends/cuda/kernels.h"

namespace engine::cuda {
namespace {

template <typename T>
__global__ void rmsnorm_forward_kernel(T* out, float* residual, const T* add, const T* w, std::int64_t d, float eps) {
  __shared__ float partial[32];
  const std::int64_t i = blockIdx.x;
  float* row = residual + i * d;
  float sum_sq = 0.0f;
  for (std::int64_t j = threadIdx.x; j < d; j += blockDim.x) {
    float v = row[j];
    if (add != nullptr) {
      v += ToFloat(add[i * d + j]);
      row[j] = v;
    }
    sum_sq += v * v;
  }
  const float total = BlockSum(sum_sq, partial);
  const float inv_rms = rsqrtf(total / static_cast<float>(d) + eps);
  T* o = out + i * d;
  for (std::int64_t j = threadIdx.x; j < d; j += blockDim.x) o[j] = FromFloat<T>(ToFloat(w[j]) * (row[j] * inv_rms));
}

}  // namespace

cudaError_t rmsnorm_forward(void* out, float* residual, const void* add, const void* w, DType t, std::int64_t n,
                            std::int64_t d, float eps, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  return DispatchFloat(t, [&](auto x) {
    using T = decltype(x);
    rmsnorm_forward_kernel<T><<<static_cast<unsigned int>(n), 256, 0, stream>>>(
        static_cast<T*>(out), residual, static_cast<const T*>(add), static_cast<const T*>(w), d, eps);
    return cudaGetLastError();
  });
}

}  // namespace engine::cuda
