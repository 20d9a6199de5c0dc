// Float conversion on the device, for weights copied in their stored dtype.
//
//   dst[i] = saturate(float(src[i]), dst_t)     i in [0, count)
// Widening is exact; narrowing rounds to nearest even (as
// engine/ops/host_convert.cc does on the host, the reference). A value beyond
// the largest finite value of dst_t (65504 for F16) becomes that value with
// its sign, never infinity; such values and NaN (which stays NaN) are counted
// with one atomic per block, and the largest |value| among them is kept as
// float bits (atomicMax on the bits orders non-negative floats, and puts NaN
// above infinity).
//
// Memory: one read and one write per element; grid-stride loop, 256 threads.
#include <cfloat>

#include "engine/backends/cuda/device_math.cuh"
#include "engine/backends/cuda/kernels.h"

namespace engine::cuda {
namespace {

template <typename T>
__device__ __forceinline__ float LargestFinite();
template <>
__device__ __forceinline__ float LargestFinite<float>() { return FLT_MAX; }
template <>
__device__ __forceinline__ float LargestFinite<__half>() { return 65504.0f; }
template <>
__device__ __forceinline__ float LargestFinite<__nv_bfloat16>() { return 0x1.fep127f; }

template <typename Dst, typename Src>
__global__ void convert_forward_kernel(Dst* dst, const Src* src, std::int64_t count, unsigned long long* out_of_range,
                                       unsigned int* largest_bits) {
  __shared__ unsigned int block_count;
  __shared__ unsigned int block_largest;
  if (threadIdx.x == 0) block_count = 0, block_largest = 0;
  __syncthreads();
  const float limit = LargestFinite<Dst>();
  unsigned int count_here = 0, largest_here = 0;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    float v = ToFloat(src[i]);
    const float magnitude = fabsf(v);
    if (!(magnitude <= limit)) {
      ++count_here;
      largest_here = max(largest_here, __float_as_uint(magnitude));
      if (!isnan(v)) v = copysignf(limit, v);
    }
    dst[i] = FromFloat<Dst>(v);
  }
  if (count_here > 0) {
    atomicAdd(&block_count, count_here);
    atomicMax(&block_largest, largest_here);
  }
  __syncthreads();
  if (threadIdx.x == 0 && block_count > 0) {
    atomicAdd(out_of_range, static_cast<unsigned long long>(block_count));
    atomicMax(largest_bits, block_largest);
  }
}

}  // namespace

cudaError_t convert_forward(void* dst, DType dst_t, const void* src, DType src_t, std::int64_t count,
                            unsigned long long* out_of_range, unsigned int* largest_bits, cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  constexpr int kThreads = 256;
  const unsigned int blocks = GridFor(count, kThreads) < 4096u ? GridFor(count, kThreads) : 4096u;
  return DispatchFloat(dst_t, [&](auto d) {
    using Dst = decltype(d);
    return DispatchFloat(src_t, [&](auto s) {
      using Src = decltype(s);
      convert_forward_kernel<Dst, Src><<<blocks, kThreads, 0, stream>>>(
          static_cast<Dst*>(dst), static_cast<const Src*>(src), count, out_of_range, largest_bits);
      return cudaGetLastError();
    });
  });
}

}  // namespace engine::cuda
