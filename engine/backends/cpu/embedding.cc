// Row gathers: out[i, :] = table[rows[i], :] with d columns.
// Serves both the token embedding (table [vocab, d], rows = token ids) and
// GatherRows (keep the hidden states whose logits are wanted).
#include <cstring>

#include "engine/backends/cpu/kernels.h"

namespace engine::cpu {

void gather_rows_forward(float* out, const float* table, const std::int32_t* rows, std::int64_t n,
                         std::int64_t d) {
  for (std::int64_t i = 0; i < n; ++i) {
    std::memcpy(out + i * d, table + static_cast<std::int64_t>(rows[i]) * d,
                static_cast<std::size_t>(d) * sizeof(float));
  }
}

}  // namespace engine::cpu
