// Linear: out[n, out_f] = x[n, in] . w[out_f, in]^T + bias.
//
// HF stores a Linear weight as [out_features, in_features]; row j of w is
// output feature j, so out[i, j] is the dot product of row i of x with row j
// of w.
//
// Batch invariance: out[i, j] depends only on row i of x, row j of w and
// `in` - bitwise - never on n or on the other rows of the batch. A decode
// token therefore gets the same logits alone, among 31 others, or inside a
// prefill chunk, which is what lets the continuous-batching scheduler batch
// requests without changing their tokens (docs/scheduler.md). OpenBLAS does
// not give this: sgemv (one row) and sgemm differ in the last bits, and
// sgemm's result for a row depends on where it falls in its tiles (measured:
// OpenBLAS 0.3.21, Haswell kernels). So the GEMM is written out here, with a
// summation order fixed by `in` alone:
//   lane l (0..7) sums x[i, k] * w[j, k] over k = l mod 8, k in increasing
//   order; out = ((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7)), then + bias.
// Every tile shape below performs exactly these operations per element; the
// file is compiled with -ffp-contract=off so no shape gets fused multiply-adds
// that another lacks.
//
// Memory: outputs are computed in blocks of kOutBlock rows of w (kept hot in
// cache while every row of x passes over them) and tiles of up to kRowBlock
// rows of x (each w load feeds kRowBlock rows).
#include <algorithm>

#include "engine/backends/cpu/kernels.h"

namespace engine::cpu {
namespace {

constexpr int kLanes = 8;
constexpr std::int64_t kRowBlock = 4;
constexpr std::int64_t kOutBlock = 16;

// out[r * out_stride] = x[r, :] . w for r in [0, R); x rows are `in` apart.
// Always inlined, so each clone of linear_forward compiles it for its ISA.
template <int R>
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
inline void DotTile(float* out, std::int64_t out_stride, const float* x, const float* w, std::int64_t in) {
  float acc[R][kLanes] = {};
  const std::int64_t full = in - in % kLanes;
  for (std::int64_t k = 0; k < full; k += kLanes) {
    for (int r = 0; r < R; ++r) {
      const float* xr = x + r * in + k;
      for (int l = 0; l < kLanes; ++l) acc[r][l] += xr[l] * w[k + l];
    }
  }
  for (std::int64_t k = full; k < in; ++k) {
    for (int r = 0; r < R; ++r) acc[r][k - full] += x[r * in + k] * w[k];
  }
  for (int r = 0; r < R; ++r) {
    const float* a = acc[r];
    out[r * out_stride] = ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
  }
}

}  // namespace

// Built twice where the compiler can (GCC ifunc): for AVX2 and for the
// baseline ISA, chosen at load time. Both perform the same IEEE operations
// per lane (no contraction), so they give bitwise-equal results.
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
void linear_forward(float* out, const float* x, const float* w, const float* bias, std::int64_t n,
                    std::int64_t in, std::int64_t out_f) {
  for (std::int64_t j0 = 0; j0 < out_f; j0 += kOutBlock) {
    const std::int64_t j1 = std::min(out_f, j0 + kOutBlock);
    for (std::int64_t i0 = 0; i0 < n; i0 += kRowBlock) {
      const std::int64_t rows = std::min(kRowBlock, n - i0);
      const float* xs = x + i0 * in;
      for (std::int64_t j = j0; j < j1; ++j) {
        float* o = out + i0 * out_f + j;
        const float* wj = w + j * in;
        switch (rows) {
          case 4: DotTile<4>(o, out_f, xs, wj, in); break;
          case 3: DotTile<3>(o, out_f, xs, wj, in); break;
          case 2: DotTile<2>(o, out_f, xs, wj, in); break;
          default: DotTile<1>(o, out_f, xs, wj, in); break;
        }
      }
    }
  }
  if (bias != nullptr) {
    for (std::int64_t i = 0; i < n; ++i) {
      float* row = out + i * out_f;
      for (std::int64_t j = 0; j < out_f; ++j) row[j] += bias[j];
    }
  }
}

}  // namespace engine::cpu
