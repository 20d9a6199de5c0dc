// out[r, :] = x[rows[r], :] (engine/backends/cpu/embedding.cc, gather_rows_forward):
// keeps the hidden states whose logits are wanted before the LM head.
// Shapes: x [n, d] T; rows [R] I32 in [0, n) (validated on the host); out [R, d] T.
// One block per output row, moving 16-byte vectors where rows are whole
// vectors and aligned (every model's hidden size), elements otherwise. It is
// also `infer-engine bench`'s memory roof (a copy of every row), so it must
// run at the copy bandwidth of the card.
#include <cstdint>

#include "engine/backends/cuda/device_math.cuh"
#include "engine/backends/cuda/kernels.h"

namespace engine::cuda {
namespace {

// E: the unit moved, T or uint4; d counts units.
template <typename E>
__global__ void gather_rows_forward_kernel(E* out, const E* x, const std::int32_t* rows, std::int64_t d) {
  const std::int64_t r = blockIdx.x;
  const E* src = x + static_cast<std::int64_t>(rows[r]) * d;
  for (std::int64_t j = threadIdx.x; j < d; j += blockDim.x) out[r * d + j] = src[j];
}

}  // namespace

cudaError_t gather_rows_forward(void* out, const void* x, DType t, const std::int32_t* rows, std::int64_t R,
                                std::int64_t d, cudaStream_t stream) {
  if (R == 0) return cudaSuccess;
  const auto aligned = [](const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 16 == 0; };
  return DispatchFloat(t, [&](auto v) {
    using T = decltype(v);
    const std::int64_t row_bytes = d * static_cast<std::int64_t>(sizeof(T));
    if (row_bytes % 16 == 0 && aligned(out) && aligned(x)) {
      gather_rows_forward_kernel<uint4><<<static_cast<unsigned int>(R), 256, 0, stream>>>(
          static_cast<uint4*>(out), static_cast<const uint4*>(x), rows, row_bytes / 16);
    } else {
      gather_rows_forward_kernel<T><<<static_cast<unsigned int>(R), 256, 0, stream>>>(
          static_cast<T*>(out), static_cast<const T*>(x), rows, d);
    }
    return cudaGetLastError();
  });
}

}  // namespace engine::cuda
