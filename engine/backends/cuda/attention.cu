// Paged causal attention with grouped-query heads, for prefill chunks and
// decode tokens alike (engine/backends/cpu/attention.cc is the reference).
//
// The math. Token i of sequence s, at position P, query head j, kv head
// g = j / G (G = H / K query heads per kv head):
//   score[p] = scale * q[i, j, :] . K_s[p, g, :]          p in [0, P]
//   out[i, j, :] = sum_p softmax(score)[p] * V_s[p, g, :]
// computed with the online softmax (running max m, running sum l, running
// weighted sum acc, rescaled by exp(m_old - m_new) whenever the max grows),
// so no [n, P] score matrix is ever stored.
//
// Shapes: q, out [n, H, h] T; k_cache, v_cache [blocks, block_size, K, h] T;
// position p of s is in slot block_tables[s, p / block_size] * block_size +
// p % block_size. A sequence's tokens in the step are contiguous at
// consecutive positions, [query_start[s], query_start[s + 1]).
//
// Work split (attention_work.cuh, shared with attention_tensor_core.cu): a
// thread block (4 warps) takes a tile of query tokens of one sequence times
// up to HB query heads of one kv head, so a chunk of keys and values, loaded
// once into shared memory, serves every row of the tile ("each KV head read
// once per query group": decode reads every cached K/V byte once per step),
// and one part of the key range when a long context is split over blocks.
// Rows per block R = TQ * HB <= 16; keys per chunk BK = 32 (16 for
// head_dim > 128, to stay inside 48 KiB of shared memory).
//
// Inside a block, per chunk of BK keys: all threads load K and V (converted
// to float; K rows padded by one float so lane j reading key j hits bank
// (j + e) % 32: no conflicts); then each warp takes rows r = warp, warp + 4,
// ...: lane j computes the score of key j (a dot product over h), the warp
// finds the chunk max and the weights' sum with shuffles, and each lane
// updates the accumulators of dims e = lane, lane + 32, ... with the weights
// broadcast by shuffle. Keys after a row's own position are masked (-inf);
// a row that has seen no key yet keeps m = -inf and takes no update (no
// exp(-inf - -inf)).
//
// Tiled this way the kernel needs no tensor cores; it computes in float32
// and takes float32 models and head dims up to 256. FP16/BF16 models with
// head dims up to 128 run attention_tensor_core.cu instead
// (CudaBackend::PagedAttention chooses), which shares the split planning and
// the merge kernel below.
#include <cfloat>

#include "engine/backends/cuda/attention_work.cuh"
#include "engine/backends/cuda/device_math.cuh"
#include "engine/backends/cuda/kernels.h"

namespace engine::cuda {
namespace {

constexpr int kThreads = 128;  // 4 warps
constexpr int kWarps = kThreads / 32;
constexpr int kMaxRows = 16;   // TQ * HB
constexpr int kMaxDimsPerLane = static_cast<int>(kMaxAttentionHeadDim / 32);
constexpr int kMaxSplits = 32;
constexpr int kMinSplitLen = 256;  // positions: below this a split costs more than it saves

int KeysPerChunk(const PagedAttentionArgs& a) { return a.head_dim > 128 ? 16 : 32; }

std::size_t SharedBytes(const PagedAttentionArgs& a) {
  const auto h = static_cast<std::size_t>(a.head_dim), bk = static_cast<std::size_t>(KeysPerChunk(a));
  return sizeof(float) * (kMaxRows * h + bk * (h + 1) + bk * h);  // q; K, padded; V
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    paged_attention_kernel(PagedAttentionArgs a, AttentionWork work, int bk) {
  extern __shared__ float shared[];
  const int h = static_cast<int>(a.head_dim);
  const int H = static_cast<int>(a.heads), K = static_cast<int>(a.kv_heads);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  BlockTile tile;
  if (!BlockTileOf(a, work, tile)) return;
  const int q_begin = tile.q_begin, s = tile.s, g = tile.g, head0 = tile.head0, nh = tile.nh, rows = tile.rows;
  const int split = tile.split, key_begin = tile.key_begin, key_end = tile.key_end;

  float* q_s = shared;                // [rows][h]
  float* k_s = q_s + kMaxRows * h;    // [bk][h + 1]
  float* v_s = k_s + bk * (h + 1);    // [bk][h]
  for (int e = threadIdx.x; e < rows * h; e += kThreads) {
    const int r = e / h, d = e % h;
    const int token = q_begin + r / nh, head = head0 + r % nh;
    q_s[e] = ToFloat(static_cast<const T*>(a.q)[(static_cast<std::int64_t>(token) * H + head) * h + d]) * a.scale;
  }

  // Per warp: the running state of its rows r = warp + kWarps * k.
  constexpr int kRowsPerWarp = kMaxRows / kWarps;
  float m[kRowsPerWarp], l[kRowsPerWarp], acc[kRowsPerWarp][kMaxDimsPerLane];
  int row_position[kRowsPerWarp];
  for (int k = 0; k < kRowsPerWarp; ++k) {
    m[k] = -INFINITY;
    l[k] = 0.0f;
    for (int t = 0; t < kMaxDimsPerLane; ++t) acc[k][t] = 0.0f;
    const int r = warp + kWarps * k;
    row_position[k] = r < rows ? a.positions[q_begin + r / nh] : -1;
  }

  const T* k_cache = static_cast<const T*>(a.k_cache);
  const T* v_cache = static_cast<const T*>(a.v_cache);
  const std::int32_t* table = a.block_tables + static_cast<std::int64_t>(s) * a.table_stride;
  for (int chunk = key_begin; chunk < key_end; chunk += bk) {
    __syncthreads();  // the previous chunk (and the q load) is done
    for (int e = threadIdx.x; e < bk * h; e += kThreads) {
      const int j = e / h, d = e % h;
      const int p = chunk + j;
      float kv = 0.0f, vv = 0.0f;
      if (p < key_end) {
        const std::int64_t slot =
            static_cast<std::int64_t>(table[p / a.block_size]) * a.block_size + p % a.block_size;
        const std::int64_t at = (slot * K + g) * h + d;
        kv = ToFloat(k_cache[at]);
        vv = ToFloat(v_cache[at]);
      }
      k_s[j * (h + 1) + d] = kv;
      v_s[j * h + d] = vv;
    }
    __syncthreads();
    for (int k = 0; k < kRowsPerWarp; ++k) {
      const int r = warp + kWarps * k;
      if (r >= rows) break;
      // Lane j: the score of key chunk + j.
      float score = -INFINITY;
      const int p = chunk + lane;
      if (lane < bk && p < key_end && p <= row_position[k]) {
        const float* qr = q_s + r * h;
        const float* kr = k_s + lane * (h + 1);
        float dot = 0.0f;
        for (int d = 0; d < h; ++d) dot += qr[d] * kr[d];
        score = dot;
      }
      const float chunk_max = WarpMax(score);
      if (chunk_max == -INFINITY) continue;  // no key of this chunk is visible to the row
      const float m_new = fmaxf(m[k], chunk_max);
      const float correction = expf(m[k] - m_new);  // 0 when m[k] was -inf
      const float weight = score == -INFINITY ? 0.0f : expf(score - m_new);
      l[k] = l[k] * correction + WarpSum(weight);
      m[k] = m_new;
      for (int t = 0; t < kMaxDimsPerLane; ++t) acc[k][t] *= correction;
      for (int j = 0; j < bk; ++j) {
        const float w = __shfl_sync(0xffffffffu, weight, j);
        if (w == 0.0f) continue;  // uniform across the warp: every lane got the same w
        const float* vr = v_s + j * h;
        for (int t = 0; t < kMaxDimsPerLane; ++t) {
          const int d = lane + 32 * t;
          if (d < h) acc[k][t] += w * vr[d];
        }
      }
    }
  }

  // Write the rows: normalised output, or the split's partial state.
  for (int k = 0; k < kRowsPerWarp; ++k) {
    const int r = warp + kWarps * k;
    if (r >= rows) break;
    const std::int64_t token = q_begin + r / nh, head = head0 + r % nh;
    if (work.splits == 1) {
      const float inv = l[k] > 0.0f ? 1.0f / l[k] : 0.0f;
      T* o = static_cast<T*>(a.out) + (token * H + head) * h;
      for (int t = 0; t < kMaxDimsPerLane; ++t) {
        const int d = lane + 32 * t;
        if (d < h) o[d] = FromFloat<T>(acc[k][t] * inv);
      }
    } else {
      float* part = a.scratch + ((token * H + head) * work.splits + split) * (h + 2);
      for (int t = 0; t < kMaxDimsPerLane; ++t) {
        const int d = lane + 32 * t;
        if (d < h) part[d] = acc[k][t];
      }
      if (lane == 0) {
        part[h] = m[k];
        part[h + 1] = l[k];
      }
    }
  }
}

// One block per (token, head): combines the splits' partial states.
template <typename T>
__global__ void paged_attention_merge_kernel(T* out, const float* scratch, int heads, int head_dim, int splits) {
  const std::int64_t row = blockIdx.x;  // token * heads + head
  const float* parts = scratch + row * splits * (head_dim + 2);
  float M = -INFINITY;
  for (int s = 0; s < splits; ++s) M = fmaxf(M, parts[s * (head_dim + 2) + head_dim]);
  float L = 0.0f;
  for (int s = 0; s < splits; ++s) {
    const float m = parts[s * (head_dim + 2) + head_dim];
    if (m != -INFINITY) L += parts[s * (head_dim + 2) + head_dim + 1] * expf(m - M);
  }
  const float inv = L > 0.0f ? 1.0f / L : 0.0f;
  for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
    float sum = 0.0f;
    for (int s = 0; s < splits; ++s) {
      const float m = parts[s * (head_dim + 2) + head_dim];
      if (m != -INFINITY) sum += parts[s * (head_dim + 2) + d] * expf(m - M);
    }
    out[row * head_dim + d] = FromFloat<T>(sum * inv);
  }
  (void)heads;
}

}  // namespace

std::int64_t paged_attention_scratch_elements(std::int64_t max_seqs, std::int64_t heads, std::int64_t head_dim) {
  return max_seqs * heads * kMaxSplits * (head_dim + 2);
}

AttentionWork PlanAttentionWork(const PagedAttentionArgs& a, int rows, int chunk, int min_split_len) {
  AttentionWork w{};
  const int group = static_cast<int>(a.heads / a.kv_heads);
  w.hb = group < rows ? group : rows;
  w.tq = rows / w.hb;
  w.head_groups = (group + w.hb - 1) / w.hb;
  w.tiles_per_seq = static_cast<int>((a.max_query_len + w.tq - 1) / w.tq);
  const std::int64_t base_blocks = a.num_seqs * w.tiles_per_seq * a.kv_heads * w.head_groups;
  std::int64_t splits = 1;
  if (a.may_split && base_blocks < 2 * a.num_sms && a.max_context_len > 2 * min_split_len) {
    splits = (2 * a.num_sms + base_blocks - 1) / base_blocks;
    const std::int64_t by_length = a.max_context_len / min_split_len;
    if (splits > by_length) splits = by_length;
    if (splits > kMaxSplits) splits = kMaxSplits;
    const std::int64_t per_split = a.n * a.heads * (a.head_dim + 2);
    const std::int64_t by_scratch = per_split > 0 ? a.scratch_elements / per_split : 1;
    if (splits > by_scratch) splits = by_scratch;
    if (splits < 1) splits = 1;
  }
  const std::int64_t len = (a.max_context_len + splits - 1) / splits;
  w.splits = static_cast<int>(splits);
  w.split_len = static_cast<int>((len + chunk - 1) / chunk * chunk);
  return w;
}

cudaError_t paged_attention_merge_forward(const PagedAttentionArgs& a, int splits, DType t, cudaStream_t stream) {
  return DispatchFloat(t, [&](auto x) {
    using T = decltype(x);
    paged_attention_merge_kernel<T><<<static_cast<unsigned int>(a.n * a.heads), 128, 0, stream>>>(
        static_cast<T*>(a.out), a.scratch, static_cast<int>(a.heads), static_cast<int>(a.head_dim), splits);
    return cudaGetLastError();
  });
}

cudaError_t paged_attention_forward(const PagedAttentionArgs& a, DType t, cudaStream_t stream) {
  if (a.n == 0) return cudaSuccess;
  if (a.head_dim > kMaxAttentionHeadDim || a.kv_heads <= 0 || a.heads % a.kv_heads != 0) {
    return cudaErrorInvalidValue;
  }
  const int bk = KeysPerChunk(a);
  const AttentionWork work = PlanAttentionWork(a, kMaxRows, bk, kMinSplitLen);
  const std::size_t shared_bytes = SharedBytes(a);
  return DispatchFloat(t, [&](auto x) {
    using T = decltype(x);
    cudaError_t e = cudaFuncSetAttribute(paged_attention_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         static_cast<int>(shared_bytes));
    if (e != cudaSuccess) return e;
    paged_attention_kernel<T><<<work.grid(a), kThreads, shared_bytes, stream>>>(a, work, bk);
    e = cudaGetLastError();
    if (e != cudaSuccess || work.splits == 1) return e;
    return paged_attention_merge_forward(a, work.splits, t, stream);
  });
}

}  // namespace engine::cuda
