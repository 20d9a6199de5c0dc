// Greedy choice on the device side: ids[r] = argmax_j logits[r, j], the
// lowest j among equal largest values; NaN never wins (a number replaces a NaN
// best; no comparison with NaN is true), so a row of NaN gives 0. The same
// rule as the sampler's host ArgMax, so greedy tokens do not depend on where
// the argmax ran. The winning value comes along for vocab-parallel ranks,
// which compare their slices' winners.
#include <cmath>

#include "engine/backends/cpu/kernels.h"

namespace engine::cpu {

void argmax_forward(std::int32_t* ids, float* values, const float* logits, std::int64_t rows, std::int64_t V) {
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = logits + r * V;
    std::int64_t best = 0;
    for (std::int64_t j = 1; j < V; ++j) {
      if (row[j] > row[best] || (std::isnan(row[best]) && !std::isnan(row[j]))) best = j;
    }
    ids[r] = static_cast<std::int32_t>(best);
    if (values != nullptr) values[r] = row[best];
  }
}

}  // namespace engine::cpu
