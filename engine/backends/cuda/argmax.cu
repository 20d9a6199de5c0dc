// Greedy choice where the logits are (engine/backends/cpu/argmax.cc):
//   ids[r] = the lowest j among the largest logits[r, j]; NaN never wins
//   (a row of NaN gives 0).
// Shapes: logits [R, V] F32; ids [R] I32; values [R] F32 (optional): the winners' logits. One block of 1024 threads per row:
// each thread scans a strided share keeping (value, index) under the rule
// "better = larger value, or equal value and lower index, and a number beats
// NaN", then a warp-shuffle and shared-memory tree reduces with the same rule,
// which is associative and commutative, so the result equals the sequential
// scan's.
#include "engine/backends/cuda/device_math.cuh"
#include "engine/backends/cuda/kernels.h"

namespace engine::cuda {
namespace {

constexpr int kBatch = 8;  // values a thread loads before it compares any

struct Best {
  float value;
  int index;
};

__device__ __forceinline__ bool Better(Best a, Best b) {  // is a better than b?
  if (isnan(a.value)) return !isnan(b.value) ? false : a.index < b.index;
  if (isnan(b.value)) return true;
  return a.value > b.value || (a.value == b.value && a.index < b.index);
}

__global__ void argmax_forward_kernel(std::int32_t* ids, float* values, const float* __restrict__ logits, std::int64_t V) {
  __shared__ Best warp_best[32];
  const float* row = logits + blockIdx.x * V;
  Best best{row[0], 0};
  // kBatch values loaded before any is compared, so that their loads are in
  // flight together (the rule makes the order of comparisons irrelevant).
  const std::int64_t step = blockDim.x;
  for (std::int64_t j0 = threadIdx.x; j0 < V; j0 += kBatch * step) {
    float v[kBatch];
#pragma unroll
    for (int k = 0; k < kBatch; ++k) v[k] = j0 + k * step < V ? row[j0 + k * step] : 0.0f;
#pragma unroll
    for (int k = 0; k < kBatch; ++k) {
      const Best candidate{v[k], static_cast<int>(j0 + k * step)};
      if (j0 + k * step < V && Better(candidate, best)) best = candidate;
    }
  }
  for (int offset = 16; offset > 0; offset >>= 1) {
    const Best other{__shfl_xor_sync(0xffffffffu, best.value, offset), __shfl_xor_sync(0xffffffffu, best.index, offset)};
    if (Better(other, best)) best = other;
  }
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) warp_best[warp] = best;
  __syncthreads();
  if (warp == 0) {
    best = lane < static_cast<int>(blockDim.x / 32) ? warp_best[lane] : Best{row[0], 0};
    for (int offset = 16; offset > 0; offset >>= 1) {
      const Best other{__shfl_xor_sync(0xffffffffu, best.value, offset),
                       __shfl_xor_sync(0xffffffffu, best.index, offset)};
      if (Better(other, best)) best = other;
    }
    if (lane == 0) {
      ids[blockIdx.x] = best.index;
      if (values != nullptr) values[blockIdx.x] = best.value;
    }
  }
}

}  // namespace

cudaError_t argmax_forward(std::int32_t* ids, float* values, const float* logits, std::int64_t rows, std::int64_t V,
                           cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  argmax_forward_kernel<<<static_cast<unsigned int>(rows), 1024, 0, stream>>>(ids, values, logits, V);
  return cudaGetLastError();
}

}  // namespace engine::cuda
