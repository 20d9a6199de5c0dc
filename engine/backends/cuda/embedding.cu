// Token embedding: out[i, :] = table[ids[i], :] (engine/backends/cpu/embedding.cc).
//
// Shapes: table [V, d] T; ids [n] I32 (validated on the host); out [n, d] in
// F32 (the residual stream) or T. One block per token, threads over d:
// coalesced reads of one table row and writes of one output row.
#include "engine/backends/cuda/device_math.cuh"
#include "engine/backends/cuda/kernels.h"

namespace engine::cuda {
namespace {

template <typename Out, typename T>
__global__ void embedding_forward_kernel(Out* out, const T* table, const std::int32_t* ids, std::int64_t d) {
  const std::int64_t i = blockIdx.x;
  const T* row = table + static_cast<std::int64_t>(ids[i]) * d;
  Out* o = out + i * d;
  for (std::int64_t j = threadIdx.x; j < d; j += blockDim.x) o[j] = FromFloat<Out>(ToFloat(row[j]));
}

}  // namespace

cudaError_t embedding_forward(void* out, DType out_t, const void* table, DType t, const std::int32_t* ids,
                              std::int64_t n, std::int64_t d, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  return DispatchFloat(out_t, [&](auto o) {
    using Out = decltype(o);
    return DispatchFloat(t, [&](auto x) {
      using T = decltype(x);
      embedding_forward_kernel<Out, T><<<static_cast<unsigned int>(n), 256, 0, stream>>>(
          static_cast<Out*>(out), static_cast<const T*>(table), ids, d);
      return cudaGetLastError();
    });
  });
}

}  // namespace engine::cuda
