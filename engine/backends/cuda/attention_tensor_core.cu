// Paged causal attention on tensor cores, FP16 and BF16, head_dim a multiple
// of 8 up to 128: every step of such models, prefill and decode
// (engine/backends/cpu/attention.cc is the reference; attention.cu has the
// math, the shapes, and the float32 kernel that takes the rest).
//
// Why a second kernel: a prefill chunk of N tokens costs O(N x context x h)
// multiply-adds, which attention.cu does on CUDA cores in float32, one query
// row per warp at a time; at a few thousand tokens that is most of a
// prefill's time. And a decode step is a stream of the KV cache, which wants
// wide loads and many in flight. Here K and V arrive in 16-byte loads, and
// the two products run as mma.sync m16n8k16 (FP16 and BF16 in code compiled
// for Ampere and newer; code compiled for Turing does FP16 only, as two
// m16n8k8 each, and leaves BF16 to attention.cu), the FlashAttention-2 way:
//
// Work split (attention_work.cuh, as in attention.cu). A block (4 warps)
// takes 64 query rows: up to 64 / G' consecutive tokens of one sequence
// times the G' = min(G, 64) query heads of one kv head, so each chunk of keys
// and values, loaded once into shared memory, serves every head of the
// group. Warp w owns rows 16w..16w+15 and keeps, in registers, their Q (as
// mma A fragments), the running max m and sum l of the online softmax, and
// the output accumulator O (16 x h, float32). A decode token fills G of the
// 64 rows; warps without rows skip the math and only help load. Long
// contexts with few sequences are split over blocks and merged as in
// attention.cu. A prefill's tiles start last to first (BlockTileOf), the
// longest first.
//
// Per chunk of 64 keys: S = Q . K^T (16 x 64 per warp, float32 accumulate),
// scaled by scale * log2(e) so that exp2 gives the softmax's exp; keys after
// a row's position masked to -inf (only in chunks that reach past the
// warp's first row's position); m grows to the chunk's max, O and l are
// rescaled by 2^(m_old - m_new); P = 2^(S - m) is rounded to T and O += P . V
// (S's accumulator layout is exactly the A fragment layout of the second
// product, so P never leaves registers). A row that has seen no key keeps
// m = -inf and takes no update. At the end out = O / l.
//
// The products of a warp's independent tiles are issued together (n-tiles
// of keys, then of dims, in the inner loop), so that each waits on no other:
// in the order of one accumulator's chain, every mma waited out the
// previous one's latency, and the tensor cores idled most of the time.
//
// Shared memory: K and V chunks [64][h' + 8] in T, h' = h rounded up to 64
// or 128 (16-byte rows for the loads; the 8-element pad puts the 8 rows a
// fragment load touches on different banks). Both products' B fragments
// come from ldmatrix, four 8x8 blocks per instruction (.trans for V, which
// the product needs transposed; sm_75 and up). On Ampere and newer
// (compute capability 8.0+) the chunks are double-buffered: cp.async fetches
// the next chunk into the other buffer while the warps compute on this one,
// so the loads' latency hides behind the math (2 x 2 x 64 x 136 x 2 bytes =
// 68 KiB for h = 128). Turing has no cp.async and 64 KiB of shared memory
// per block: there one buffer, and loads and math alternate, separated by
// __syncthreads.
//
// Numerics against the float32 decode kernel: the same online softmax; the
// scores' products are exact in float32 (FP16/BF16 inputs), sums in float32;
// P is rounded to T before the second product (as FlashAttention does): a
// relative error of about 2^-11 (FP16) or 2^-8 (BF16) per weight, inside the
// conformance bounds (tests/engine/ops/backend_conformance_test.cc).
#include <climits>
#include <cstdint>

#include "engine/backends/cuda/attention_work.cuh"
#include "engine/backends/cuda/device_math.cuh"
#include "engine/backends/cuda/kernels.h"

namespace engine::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kRows = 64;           // query rows per block, 16 per warp
constexpr int kKeys = 64;           // keys per chunk
constexpr int kMaxHeadDim = 128;
constexpr int kPad = 8;             // elements after each shared row
constexpr int kLoadBatch = 4;       // K/V vector pairs a thread loads before storing any (one buffer)
constexpr float kLog2e = 1.4426950408889634f;

// c += a . b, m16n8k16, row-major A, column-major B, float32 accumulate:
// a0..a3 and b0, b1 as the PTX ISA lays the fragments out. Turing has only
// m16n8k8, of which m16n8k16 is two: (a0, a1, b0) over k 0..7, then
// (a2, a3, b1) over k 8..15. Not volatile: ptxas may interleave independent
// products, which is what keeps the tensor cores fed.
template <typename T>
__device__ __forceinline__ void Mma(float (&c)[4], std::uint32_t a0, std::uint32_t a1, std::uint32_t a2,
                                    std::uint32_t a3, std::uint32_t b0, std::uint32_t b1);
template <>
__device__ __forceinline__ void Mma<__half>(float (&c)[4], std::uint32_t a0, std::uint32_t a1, std::uint32_t a2,
                                            std::uint32_t a3, std::uint32_t b0, std::uint32_t b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
#else
  asm("mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a0), "r"(a1), "r"(b0));
  asm("mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a2), "r"(a3), "r"(b1));
#endif
}
template <>
__device__ __forceinline__ void Mma<__nv_bfloat16>(float (&c)[4], std::uint32_t a0, std::uint32_t a1,
                                                   std::uint32_t a2, std::uint32_t a3, std::uint32_t b0,
                                                   std::uint32_t b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
#else
  (void)c, (void)a0, (void)a1, (void)a2, (void)a3, (void)b0, (void)b1;
  __trap();  // BF16 takes this kernel only where compiled for 8.0 and up (..._supported)
#endif
}

// Two floats rounded to T, packed as an mma operand register.
template <typename T>
__device__ __forceinline__ std::uint32_t Pack(float x, float y);
template <>
__device__ __forceinline__ std::uint32_t Pack<__half>(float x, float y) {
  const __half2 v = __floats2half2_rn(x, y);
  return *reinterpret_cast<const std::uint32_t*>(&v);
}
template <>
__device__ __forceinline__ std::uint32_t Pack<__nv_bfloat16>(float x, float y) {
  const __nv_bfloat162 v = __floats2bfloat162_rn(x, y);
  return *reinterpret_cast<const std::uint32_t*>(&v);
}

// Four 8x8 blocks of 16-bit elements from shared memory: thread t passes the
// address of row t % 8 of block t / 8 and gets, per block, the fragment of
// its row t / 4, elements 2 (t % 4) and 2 (t % 4) + 1: an mma B fragment of
// the block read as column-major (K, whose rows are the product's columns).
__device__ __forceinline__ void LoadMatrices(std::uint32_t (&r)[4], const void* row) {
  const auto address = static_cast<std::uint32_t>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}
// The same, transposed: per block, the mma B fragment of its transpose (V).
__device__ __forceinline__ void LoadTransposed(std::uint32_t (&r)[4], const void* row) {
  const auto address = static_cast<std::uint32_t>(__cvta_generic_to_shared(row));
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}

// 16 bytes global -> shared without passing through registers (cp.async,
// sm_80 and up); `bytes` 0 fills the 16 bytes with zeros and reads nothing.
__device__ __forceinline__ void CopyAsync(void* shared, const void* global, int bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const auto address = static_cast<std::uint32_t>(__cvta_generic_to_shared(shared));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(address), "l"(global), "r"(bytes));
#else
  (void)shared, (void)global, (void)bytes;
  __trap();  // the double-buffered kernel runs only where compiled for 8.0 and up (Launch)
#endif
}
__device__ __forceinline__ void CommitCopies() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.commit_group;");
#endif
}
// Waits until at most `kPending` committed groups of this thread are in flight.
template <int kPending>
__device__ __forceinline__ void WaitCopies() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("cp.async.wait_group %0;" ::"n"(kPending));
#endif
}

// kStages 2: double-buffered with cp.async (code compiled for 8.0+); 1: one
// buffer. kDims: head_dim rounded up to 64 or 128; the loops run to kDims
// with no test of head_dim, on zeros past it (Q, and K's shared columns) or
// into output columns that are never written (V). kMinBlocks: blocks an SM
// must hold at once, which caps the registers a thread may use (Launch).
template <typename T, int kStages, int kDims, int kMinBlocks>
__global__ void __launch_bounds__(kThreads, kMinBlocks)
    paged_attention_tensor_core_kernel(PagedAttentionArgs a, AttentionWork work) {
  extern __shared__ uint4 shared_vectors[];
  constexpr int kStride = kDims + kPad;
  constexpr int kSteps = kDims / 16;  // k-steps of Q . K^T
  // Buffer b: K at k_s + b * kBuffer, V after it, each [kKeys][kStride].
  constexpr int kBuffer = 2 * kKeys * kStride;
  T* const k_s = reinterpret_cast<T*>(shared_vectors);
  const int h = static_cast<int>(a.head_dim);
  const int H = static_cast<int>(a.heads), K = static_cast<int>(a.kv_heads);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int quad = lane / 4, in_quad = lane % 4;  // the mma fragments' row and column groups
  BlockTile tile;
  if (!BlockTileOf(a, work, tile)) return;
  const int q_begin = tile.q_begin, s = tile.s, g = tile.g, head0 = tile.head0, nh = tile.nh, rows = tile.rows;
  const int split = tile.split, key_begin = tile.key_begin, key_end = tile.key_end;

  // K's columns h .. kDims - 1 are zeros (no load writes them): Q's are too,
  // but zero times whatever shared memory held, NaN say, is not zero.
  for (int r = threadIdx.x; r < kStages * kKeys; r += kThreads) {
    auto* row = reinterpret_cast<unsigned short*>(k_s + r / kKeys * kBuffer + r % kKeys * kStride);
    for (int c = h; c < kDims; ++c) row[c] = 0;
  }

  // This thread's two rows (fragment rows quad and quad + 8 of the warp's 16).
  int token[2], head[2], position[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const int r = warp * 16 + quad + 8 * i;
    token[i] = r < rows ? q_begin + r / nh : -1;
    head[i] = r < rows ? head0 + r % nh : 0;
    position[i] = r < rows ? a.positions[token[i]] : -1;
  }
  // The warp's last position (its chunks beyond it are all masked) and first
  // (chunks up to it need no mask).
  int warp_last = max(position[0], position[1]);
  int warp_first = min(token[0] >= 0 ? position[0] : INT_MAX, token[1] >= 0 ? position[1] : INT_MAX);
  for (int offset = 16; offset > 0; offset >>= 1) {
    warp_last = max(warp_last, __shfl_xor_sync(0xffffffffu, warp_last, offset));
    warp_first = min(warp_first, __shfl_xor_sync(0xffffffffu, warp_first, offset));
  }

  // Q as A fragments: k-step kk covers dims 16 kk .. 16 kk + 15.
  const T* q = static_cast<const T*>(a.q);
  std::uint32_t qf[kSteps][4];
#pragma unroll
  for (int kk = 0; kk < kSteps; ++kk) {
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int i = j % 2, dim = kk * 16 + j / 2 * 8 + in_quad * 2;
      qf[kk][j] = 0;
      if (dim < h && token[i] >= 0) {
        qf[kk][j] = *reinterpret_cast<const std::uint32_t*>(
            q + (static_cast<std::int64_t>(token[i]) * H + head[i]) * h + dim);
      }
    }
  }

  float o[kDims / 8][4];
#pragma unroll
  for (int nt = 0; nt < kDims / 8; ++nt) o[nt][0] = o[nt][1] = o[nt][2] = o[nt][3] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};  // l: this thread's columns only, summed at the end
  const float scale = a.scale * kLog2e;

  const T* k_cache = static_cast<const T*>(a.k_cache);
  const T* v_cache = static_cast<const T*>(a.v_cache);
  const std::int32_t* table = a.block_tables + static_cast<std::int64_t>(s) * a.table_stride;
  // Each thread loads one 16-byte column of rows row0, row0 + kRowStep, ...
  // of a chunk: no division by a runtime size but the block table's, which
  // is a shift when block_size is a power of two (it always is in practice).
  constexpr int kColumns = kDims / 8, kRowStep = kThreads / kColumns, kPasses = kKeys / kRowStep;
  const int column = threadIdx.x % kColumns, row0 = threadIdx.x / kColumns;
  const bool column_used = column * 8 < h;
  const int block_size = a.block_size;
  const bool block_pow2 = (block_size & (block_size - 1)) == 0;
  const int block_shift = __ffs(block_size) - 1;
  // Where key p's column starts in the caches.
  const auto source = [&](int p) {
    const int block = block_pow2 ? p >> block_shift : p / block_size;
    const int within = p - block * block_size;
    const std::int64_t slot = static_cast<std::int64_t>(table[block]) * block_size + within;
    return (slot * K + g) * h + column * 8;
  };
  // Chunk `chunk`'s keys and values into buffer `b`; keys at or past key_end
  // as zeros. With kStages 2 as cp.async copies that land while the warps
  // compute; else kLoadBatch rows in flight at once (their block-table and
  // K/V loads together, where a load-store loop would wait for each in turn).
  const auto load = [&](int b, int chunk) {
    if (!column_used) return;
    T* const k_b = k_s + b * kBuffer + column * 8;
    T* const v_b = k_b + kKeys * kStride;
    if constexpr (kStages == 2) {
#pragma unroll
      for (int j = 0; j < kPasses; ++j) {
        const int r = row0 + j * kRowStep, p = chunk + r;
        const bool valid = p < key_end;
        const std::int64_t at = valid ? source(p) : 0;
        CopyAsync(k_b + r * kStride, k_cache + at, valid ? 16 : 0);
        CopyAsync(v_b + r * kStride, v_cache + at, valid ? 16 : 0);
      }
    } else {
#pragma unroll
      for (int j0 = 0; j0 < kPasses; j0 += kLoadBatch) {
        uint4 kv[kLoadBatch], vv[kLoadBatch];
#pragma unroll
        for (int u = 0; u < kLoadBatch; ++u) {
          const int p = chunk + row0 + (j0 + u) * kRowStep;
          kv[u] = vv[u] = make_uint4(0, 0, 0, 0);
          if (p < key_end) {
            const std::int64_t at = source(p);
            kv[u] = *reinterpret_cast<const uint4*>(k_cache + at);
            vv[u] = *reinterpret_cast<const uint4*>(v_cache + at);
          }
        }
#pragma unroll
        for (int u = 0; u < kLoadBatch; ++u) {
          const int r = row0 + (j0 + u) * kRowStep;
          *reinterpret_cast<uint4*>(k_b + r * kStride) = kv[u];
          *reinterpret_cast<uint4*>(v_b + r * kStride) = vv[u];
        }
      }
    }
  };
  // The online softmax over buffer `b`, holding chunk `chunk`.
  const auto compute = [&](int b, int chunk) {
    const T* const k_b = k_s + b * kBuffer;
    const T* const v_b = k_b + kKeys * kStride;
    // S = Q . K^T: n-tile nt covers keys chunk + 8 nt .. + 7; one ldmatrix
    // gives K's fragments for two k-steps. The n-tiles' products are
    // independent, so they overlap in the pipeline.
    float sc[kKeys / 8][4];
#pragma unroll
    for (int nt = 0; nt < kKeys / 8; ++nt) sc[nt][0] = sc[nt][1] = sc[nt][2] = sc[nt][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < kSteps; kk += 2) {
#pragma unroll
      for (int nt = 0; nt < kKeys / 8; ++nt) {
        std::uint32_t kf[4];
        LoadMatrices(kf, k_b + (nt * 8 + lane % 8) * kStride + kk * 16 + lane / 8 * 8);
        Mma<T>(sc[nt], qf[kk][0], qf[kk][1], qf[kk][2], qf[kk][3], kf[0], kf[1]);
        Mma<T>(sc[nt], qf[kk + 1][0], qf[kk + 1][1], qf[kk + 1][2], qf[kk + 1][3], kf[2], kf[3]);
      }
    }
    // Scale, mask keys after a row's position (and past key_end: those are
    // after every row's position, or start the next split) unless the whole
    // chunk is at or before every row of the warp, and the rows' new max.
    const bool masked = chunk + kKeys - 1 > warp_first;
    float chunk_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nt = 0; nt < kKeys / 8; ++nt) {
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const int i = c / 2;  // c 0, 1: row quad; 2, 3: row quad + 8
        sc[nt][c] *= scale;
        if (masked && chunk + nt * 8 + in_quad * 2 + c % 2 > position[i]) sc[nt][c] = -INFINITY;
        chunk_max[i] = fmaxf(chunk_max[i], sc[nt][c]);
      }
    }
    float correction[2];
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      chunk_max[i] = fmaxf(chunk_max[i], __shfl_xor_sync(0xffffffffu, chunk_max[i], 1));
      chunk_max[i] = fmaxf(chunk_max[i], __shfl_xor_sync(0xffffffffu, chunk_max[i], 2));
      const float m_new = fmaxf(m[i], chunk_max[i]);
      // A row with no visible key so far stays at -inf and takes no update.
      correction[i] = m_new == -INFINITY ? 1.0f : exp2f(m[i] - m_new);
      m[i] = m_new;
      l[i] *= correction[i];
    }
    // P = 2^(S - m), rounded to T: S's accumulator layout for n-tiles 2kt
    // and 2kt + 1 is the A fragment of P . V's k-step kt (keys 16 kt ..).
    std::uint32_t pf[kKeys / 8][2];
#pragma unroll
    for (int nt = 0; nt < kKeys / 8; ++nt) {
      float p[4];
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const int i = c / 2;
        p[c] = sc[nt][c] == -INFINITY ? 0.0f : exp2f(sc[nt][c] - m[i]);
        l[i] += p[c];
      }
      pf[nt][0] = Pack<T>(p[0], p[1]);
      pf[nt][1] = Pack<T>(p[2], p[3]);
    }
#pragma unroll
    for (int nt = 0; nt < kDims / 8; ++nt) {
      o[nt][0] *= correction[0];
      o[nt][1] *= correction[0];
      o[nt][2] *= correction[1];
      o[nt][3] *= correction[1];
    }
    // O += P . V: output n-tile nt covers dims 8 nt .. 8 nt + 7; one
    // transposed ldmatrix gives V's fragments for 32 keys (two k-steps).
#pragma unroll
    for (int kt = 0; kt < kKeys / 16; kt += 2) {
#pragma unroll
      for (int nt = 0; nt < kDims / 8; ++nt) {
        std::uint32_t vf[4];
        LoadTransposed(vf, v_b + (kt * 16 + lane) * kStride + nt * 8);
        Mma<T>(o[nt], pf[2 * kt][0], pf[2 * kt][1], pf[2 * kt + 1][0], pf[2 * kt + 1][1], vf[0], vf[1]);
        Mma<T>(o[nt], pf[2 * kt + 2][0], pf[2 * kt + 2][1], pf[2 * kt + 3][0], pf[2 * kt + 3][1], vf[2], vf[3]);
      }
    }
  };
  if constexpr (kStages == 2) {
    // Chunk i computes from buffer i % 2 while chunk i + 1 lands in the other.
    if (key_begin < key_end) load(0, key_begin);
    CommitCopies();
    for (int chunk = key_begin, i = 0; chunk < key_end; chunk += kKeys, ++i) {
      if (chunk + kKeys < key_end) {
        load((i + 1) % 2, chunk + kKeys);
        CommitCopies();
        WaitCopies<1>();  // this chunk's group has landed, the next may be in flight
      } else {
        WaitCopies<0>();
      }
      __syncthreads();  // every thread's copies of this chunk are visible
      if (chunk <= warp_last) compute(i % 2, chunk);  // else every key is after every row of the warp
      __syncthreads();  // every warp is done with this buffer before it is refilled
    }
  } else {
    for (int chunk = key_begin; chunk < key_end; chunk += kKeys) {
      __syncthreads();  // every warp is done with the previous chunk
      load(0, chunk);
      __syncthreads();
      if (chunk <= warp_last) compute(0, chunk);  // else every key is after every row of the warp
    }
  }

  // out = O / l, l summed over the quad's four column groups; or, for a part
  // of a split key range, the part's state (O, m in natural-log units, l).
  T* out = static_cast<T*>(a.out);
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    l[i] += __shfl_xor_sync(0xffffffffu, l[i], 1);
    l[i] += __shfl_xor_sync(0xffffffffu, l[i], 2);
    if (token[i] < 0) continue;
    if (work.splits > 1) {
      float* part = a.scratch + ((static_cast<std::int64_t>(token[i]) * H + head[i]) * work.splits + split) * (h + 2);
#pragma unroll
      for (int nt = 0; nt < kDims / 8; ++nt) {
        if (nt * 8 < h) {
          part[nt * 8 + in_quad * 2] = o[nt][2 * i];
          part[nt * 8 + in_quad * 2 + 1] = o[nt][2 * i + 1];
        }
      }
      if (in_quad == 0) {
        part[h] = m[i] == -INFINITY ? -INFINITY : m[i] / kLog2e;
        part[h + 1] = l[i];
      }
      continue;
    }
    const float inv = l[i] > 0.0f ? 1.0f / l[i] : 0.0f;
    T* row = out + (static_cast<std::int64_t>(token[i]) * H + head[i]) * h + in_quad * 2;
#pragma unroll
    for (int nt = 0; nt < kDims / 8; ++nt) {
      if (nt * 8 < h) {
        *reinterpret_cast<std::uint32_t*>(row + nt * 8) = Pack<T>(o[nt][2 * i] * inv, o[nt][2 * i + 1] * inv);
      }
    }
  }
}

template <typename T, int kStages, int kDims, int kMinBlocks = 1>
cudaError_t LaunchKernel(const AttentionWork& work, const PagedAttentionArgs& a, cudaStream_t stream) {
  constexpr auto kernel = paged_attention_tensor_core_kernel<T, kStages, kDims, kMinBlocks>;
  constexpr int kSharedBytes = kStages * 2 * kKeys * (kDims + kPad) * sizeof(T);
  if constexpr (kSharedBytes > 48 * 1024) {
    // Above the default 48 KiB of dynamic shared memory: opted into once.
    static const cudaError_t opted =
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, kSharedBytes);
    if (opted != cudaSuccess) return opted;
  }
  kernel<<<work.grid(a), kThreads, kSharedBytes, stream>>>(a, work);
  return cudaGetLastError();
}

// Whether the code this GPU runs was compiled for 8.0 or newer: a build of
// compute_75 PTX alone, JIT-compiled on a newer GPU, has neither cp.async nor
// BF16 products in it, whatever the GPU could do.
bool CompiledFor80() {
  static const bool compiled = [] {
    cudaFuncAttributes attributes{};
    return cudaFuncGetAttributes(&attributes, paged_attention_tensor_core_kernel<__half, 2, kMaxHeadDim, 1>) ==
               cudaSuccess &&
           attributes.ptxVersion >= 80;
  }();
  return compiled;
}

template <typename T>
cudaError_t Launch(const PagedAttentionArgs& a, DType t, cudaStream_t stream) {
  // A split may be as short as one chunk: a decode step's few blocks would
  // otherwise each walk hundreds of keys while most SMs idle.
  const AttentionWork work = PlanAttentionWork(a, kRows, kKeys, kKeys);
  cudaError_t e;
  if (!CompiledFor80()) {  // one buffer, no cp.async
    e = a.head_dim <= 64 ? LaunchKernel<T, 1, 64>(work, a, stream) : LaunchKernel<T, 1, kMaxHeadDim>(work, a, stream);
  } else if (a.head_dim <= 64) {
    e = LaunchKernel<T, 2, 64>(work, a, stream);
  } else if (a.max_query_len >= work.tq) {
    // Full tiles (prefill): the math is the bound, and three blocks an SM
    // (168 registers a thread, a few spilled outside the chunk loop) keep
    // the tensor cores busier than two: 2,048 tokens 1.15x, 8,192 1.3x on an
    // H100. Decode tiles are mostly loads, which the spills slow instead.
    e = LaunchKernel<T, 2, kMaxHeadDim, 3>(work, a, stream);
  } else {
    e = LaunchKernel<T, 2, kMaxHeadDim>(work, a, stream);
  }
  if (e != cudaSuccess || work.splits == 1) return e;
  return paged_attention_merge_forward(a, work.splits, t, stream);
}

}  // namespace

bool paged_attention_tensor_core_supported(const PagedAttentionArgs& a, DType t) {
  return (t == DType::kF16 || (t == DType::kBF16 && CompiledFor80())) && a.head_dim % 8 == 0 &&
         a.head_dim <= kMaxHeadDim && a.kv_heads > 0 && a.heads % a.kv_heads == 0;
}

cudaError_t paged_attention_tensor_core_forward(const PagedAttentionArgs& a, DType t, cudaStream_t stream) {
  if (a.n == 0) return cudaSuccess;
  if (!paged_attention_tensor_core_supported(a, t)) return cudaErrorInvalidValue;
  return t == DType::kF16 ? Launch<__half>(a, t, stream) : Launch<__nv_bfloat16>(a, t, stream);
}

}  // namespace engine::cuda
