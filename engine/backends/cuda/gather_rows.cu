// out[r, :] = x[rows[r], :] (engine/backends/cpu/embedding.cc, gather_rows_forward):
// keeps the hidden states whose logits are wanted before the LM head.
// Shapes: x [n, d] T; rows [R] I32 in [0, n) (validated on the host); out [R, d] T.
// One block per output row.
#include "engine/backends/cuda/device_math.cuh"
#include "engine/backends/cuda/kernels.h"

namespace engine::cuda {
namespace {

template <typename T>
__global__ void gather_rows_forward_kernel(T* out, const T* x, const std::int32_t* rows, std::int64_t d) {
  const std::int64_t r = blockIdx.x;
  const T* src = x + static_cast<std::int64_t>(rows[r]) * d;
  for (std::int64_t j = threadIdx.x; j < d; j += blockDim.x) out[r * d + j] = src[j];
}

}  // namespace

cudaError_t gather_rows_forward(void* out, const void* x, DType t, const std::int32_t* rows, std::int64_t R,
                                std::int64_t d, cudaStream_t stream) {
  if (R == 0) return cudaSuccess;
  return DispatchFloat(t, [&](auto v) {
    using T = decltype(v);
    gather_rows_forward_kernel<T><<<static_cast<unsigned int>(R), 256, 0, stream>>>(
        static_cast<T*>(out), static_cast<const T*>(x), rows, d);
    return cudaGetLastError();
  });
}

}  // namespace engine::cuda
