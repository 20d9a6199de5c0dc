// How both attention kernels (attention.cu on CUDA cores, attention_tensor_core.cu
// on tensor cores) spread a step over thread blocks, and the split-KV merge
// they share. A block takes:
//   - a tile of up to `tq` consecutive query tokens of one sequence,
//   - one kv head g and up to `hb` of its G query heads, so that a chunk of
//     keys and values loaded once serves tq * hb query rows (row r: token
//     r / nh, head r % nh of the tile),
//   - one part ("split") of the key range, when the tiles alone would leave
//     SMs idle (few sequences, long contexts: flash-decoding). Each split
//     writes its rows' partial state to the scratch buffer,
//       scratch[((token * H + head) * splits + split) * (h + 2) + ...] =
//         acc[0..h), m (natural-log units), l,
//     and paged_attention_merge_forward combines them:
//       M = max_s m_s,  L = sum_s l_s e^(m_s - M),  out = sum_s acc_s e^(m_s - M) / L.
// Grid: x = sequence x tile, y = kv head x head group, z = split (BlockTileOf
// maps a block to its tile in an order of its own).
#pragma once

#include <cstdint>

#include "engine/backends/cuda/kernels.h"

namespace engine::cuda {

struct AttentionWork {
  int tq;             // query tokens per tile
  int hb;             // query heads per block
  int head_groups;    // blocks per kv head: ceil(G / hb)
  int tiles_per_seq;  // ceil(max_query_len / tq)
  int splits;         // parts of the key range
  int split_len;      // positions per part (a multiple of the kernel's key chunk)

  dim3 grid(const PagedAttentionArgs& a) const {
    return dim3(static_cast<unsigned int>(a.num_seqs * tiles_per_seq),
                static_cast<unsigned int>(a.kv_heads * head_groups), static_cast<unsigned int>(splits));
  }
};

// The split for blocks of `rows` query rows reading keys `chunk` at a time
// (attention.cu): splits only where the tiles leave SMs idle and the context
// is long enough to be worth it (parts of at least `min_split_len`
// positions, the kernel's own trade-off), and as far as the scratch holds.
AttentionWork PlanAttentionWork(const PagedAttentionArgs& a, int rows, int chunk, int min_split_len);

// Combines the splits' partial states into `out` (attention.cu).
cudaError_t paged_attention_merge_forward(const PagedAttentionArgs& a, int splits, DType t, cudaStream_t stream);

// What the calling block takes; false if its tile is past its sequence's end.
struct BlockTile {
  int s;                   // sequence
  int q_begin, q_end;      // its tokens in the step
  int g, head0, nh;        // kv head, first query head, query heads
  int rows;                // (q_end - q_begin) * nh
  int split;               // part of the key range
  int key_begin, key_end;  // positions of that part the tile can see
};
__device__ __forceinline__ bool BlockTileOf(const PagedAttentionArgs& a, const AttentionWork& w, BlockTile& t) {
  const int group = static_cast<int>(a.heads / a.kv_heads);
  // Blocks start in the order of blockIdx.x + gridDim.x * blockIdx.y; that
  // order walks a sequence's tiles last to first, every head of a tile
  // together. A causal tile's work grows with its position, so the longest
  // start first and the short ones fill in behind them, rather than the
  // longest starting last and running on while most SMs idle.
  const unsigned int order = blockIdx.x + gridDim.x * blockIdx.y;
  const unsigned int x = order / gridDim.y, y = order % gridDim.y;
  t.s = static_cast<int>(x) / w.tiles_per_seq;
  const int tile_index = w.tiles_per_seq - 1 - static_cast<int>(x) % w.tiles_per_seq;
  t.q_begin = a.query_start[t.s] + tile_index * w.tq;
  t.q_end = min(a.query_start[t.s + 1], t.q_begin + w.tq);
  if (t.q_begin >= t.q_end) return false;  // this sequence has fewer tiles than the longest
  t.g = static_cast<int>(y) / w.head_groups;
  t.head0 = t.g * group + static_cast<int>(y) % w.head_groups * w.hb;
  t.nh = min(w.hb, t.g * group + group - t.head0);
  t.rows = (t.q_end - t.q_begin) * t.nh;
  t.split = blockIdx.z;
  t.key_begin = t.split * w.split_len;
  t.key_end = min(t.key_begin + w.split_len, a.positions[t.q_end - 1] + 1);
  return true;
}

}  // namespace engine::cuda
