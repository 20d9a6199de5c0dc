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
// the two products run as mma.sync m16n8k8 (FP16 from Turing on, BF16 from
// Ampere on; the shapes every supported GPU has), the FlashAttention-2 way:
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
// attention.cu.
//
// Per chunk of 64 keys: S = Q . K^T (16 x 64 per warp, float32 accumulate),
// scaled by scale * log2(e) so that exp2 gives the softmax's exp; keys after
// a row's position masked to -inf; m grows to the chunk's max, O and l are
// rescaled by 2^(m_old - m_new); P = 2^(S - m) is rounded to T and O += P . V
// (S's accumulator layout is exactly the A fragment layout of the second
// product, so P never leaves registers). A row that has seen no key keeps
// m = -inf and takes no update. At the end out = O / l.
//
// Shared memory: K and V chunks [64][h + 8] in T (16-byte rows for the
// loads; the 8-element pad puts the 8 rows a fragment load touches on
// different banks). K's B fragments are 32-bit loads; V's, which need V
// transposed, come from ldmatrix .trans (sm_75 and up). On Ampere and newer
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
constexpr int kLoadBatch = 4;       // K/V vector pairs a thread loads before storing any
constexpr float kLog2e = 1.4426950408889634f;


// c += a . b, m16n8k8, row-major A, column-major B, float32 accumulate.
template <typename T>
__device__ __forceinline__ void Mma(float (&c)[4], std::uint32_t a0, std::uint32_t a1, std::uint32_t b);
template <>
__device__ __forceinline__ void Mma<__half>(float (&c)[4], std::uint32_t a0, std::uint32_t a1, std::uint32_t b) {
  asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a0), "r"(a1), "r"(b));
}
template <>
__device__ __forceinline__ void Mma<__nv_bfloat16>(float (&c)[4], std::uint32_t a0, std::uint32_t a1,
                                                   std::uint32_t b) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a0), "r"(a1), "r"(b));
#else
  (void)c, (void)a0, (void)a1, (void)b;
  __trap();  // BF16 runs only on 8.0 and up (CudaBackend refuses it below)
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

// Four 8x8 blocks of 16-bit elements from shared memory, transposed: thread
// t passes the address of row t % 8 of block t / 8 and gets, per block, the
// mma B fragment of the block's transpose.
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

// kStages 2: double-buffered with cp.async (code compiled for 8.0+); 1: one buffer.
template <typename T, int kStages>
__global__ void __launch_bounds__(kThreads) paged_attention_tensor_core_kernel(PagedAttentionArgs a, AttentionWork work) {
  extern __shared__ uint4 shared_vectors[];
  const int h = static_cast<int>(a.head_dim);
  const int stride = h + kPad;
  // Buffer b: K at k_s + b * buffer, V after it, each [kKeys][h + kPad].
  T* const k_s = reinterpret_cast<T*>(shared_vectors);
  const int buffer = 2 * kKeys * stride;
  const int H = static_cast<int>(a.heads), K = static_cast<int>(a.kv_heads);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int quad = lane / 4, in_quad = lane % 4;  // the mma fragments' row and column groups
  BlockTile tile;
  if (!BlockTileOf(a, work, tile)) return;
  const int q_begin = tile.q_begin, s = tile.s, g = tile.g, head0 = tile.head0, nh = tile.nh, rows = tile.rows;
  const int split = tile.split, key_begin = tile.key_begin, key_end = tile.key_end;

  // This thread's two rows (fragment rows quad and quad + 8 of the warp's 16).
  int token[2], head[2], position[2];
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    const int r = warp * 16 + quad + 8 * i;
    token[i] = r < rows ? q_begin + r / nh : -1;
    head[i] = r < rows ? head0 + r % nh : 0;
    position[i] = r < rows ? a.positions[token[i]] : -1;
  }
  // The warp's last position: its chunks beyond it are all masked.
  int warp_last = max(position[0], position[1]);
  for (int offset = 16; offset > 0; offset >>= 1) warp_last = max(warp_last, __shfl_xor_sync(0xffffffffu, warp_last, offset));

  // Q as A fragments: k-step ks covers dims 8 ks .. 8 ks + 7.
  const T* q = static_cast<const T*>(a.q);
  std::uint32_t qf[kMaxHeadDim / 8][2];
#pragma unroll
  for (int ks = 0; ks < kMaxHeadDim / 8; ++ks) {
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      qf[ks][i] = 0;
      if (ks * 8 < h && token[i] >= 0) {
        qf[ks][i] = *reinterpret_cast<const std::uint32_t*>(
            q + (static_cast<std::int64_t>(token[i]) * H + head[i]) * h + ks * 8 + in_quad * 2);
      }
    }
  }

  float o[kMaxHeadDim / 8][4];
#pragma unroll
  for (int nt = 0; nt < kMaxHeadDim / 8; ++nt) o[nt][0] = o[nt][1] = o[nt][2] = o[nt][3] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};  // l: this thread's columns only, summed at the end
  const float scale = a.scale * kLog2e;

  const T* k_cache = static_cast<const T*>(a.k_cache);
  const T* v_cache = static_cast<const T*>(a.v_cache);
  const std::int32_t* table = a.block_tables + static_cast<std::int64_t>(s) * a.table_stride;
  const int vectors = h / 8;  // 16-byte vectors per key row
  // Chunk `chunk`'s keys and values into buffer `b`: kLoadBatch (key,
  // vector) pairs per thread in flight at once (their block-table and K/V
  // loads together, where a load-store loop would wait for each in turn),
  // or with kStages 2 as cp.async copies that land while the warps compute.
  const int total = kKeys * vectors;
  const auto load = [&](int b, int chunk) {
    T* const k_b = k_s + b * buffer;
    T* const v_b = k_b + kKeys * stride;
    for (int e0 = threadIdx.x; e0 < total; e0 += kLoadBatch * kThreads) {
      std::int64_t at[kLoadBatch];
      bool valid[kLoadBatch];
#pragma unroll
      for (int u = 0; u < kLoadBatch; ++u) {
        const int e = e0 + u * kThreads, p = chunk + e / vectors;
        valid[u] = e < total && p < key_end;
        at[u] = 0;
        if (valid[u]) {
          const std::int64_t slot = static_cast<std::int64_t>(table[p / a.block_size]) * a.block_size + p % a.block_size;
          at[u] = (slot * K + g) * h + e % vectors * 8;
        }
      }
      if constexpr (kStages == 2) {
#pragma unroll
        for (int u = 0; u < kLoadBatch; ++u) {
          const int e = e0 + u * kThreads;
          if (e < total) {
            const int bytes = valid[u] ? 16 : 0;
            CopyAsync(k_b + e / vectors * stride + e % vectors * 8, k_cache + at[u], bytes);
            CopyAsync(v_b + e / vectors * stride + e % vectors * 8, v_cache + at[u], bytes);
          }
        }
      } else {
        uint4 kv[kLoadBatch], vv[kLoadBatch];
#pragma unroll
        for (int u = 0; u < kLoadBatch; ++u) {
          kv[u] = vv[u] = make_uint4(0, 0, 0, 0);
          if (valid[u]) {
            kv[u] = *reinterpret_cast<const uint4*>(k_cache + at[u]);
            vv[u] = *reinterpret_cast<const uint4*>(v_cache + at[u]);
          }
        }
#pragma unroll
        for (int u = 0; u < kLoadBatch; ++u) {
          const int e = e0 + u * kThreads;
          if (e < total) {
            *reinterpret_cast<uint4*>(k_b + e / vectors * stride + e % vectors * 8) = kv[u];
            *reinterpret_cast<uint4*>(v_b + e / vectors * stride + e % vectors * 8) = vv[u];
          }
        }
      }
    }
  };
  // The online softmax over buffer `b`, holding chunk `chunk`.
  const auto compute = [&](int b, int chunk) {
    const T* const k_s_b = k_s + b * buffer;
    const T* const v_s_b = k_s_b + kKeys * stride;
    // S = Q . K^T: n-tile nt covers keys chunk + 8 nt .. + 7.
    float sc[kKeys / 8][4];
#pragma unroll
    for (int nt = 0; nt < kKeys / 8; ++nt) {
      sc[nt][0] = sc[nt][1] = sc[nt][2] = sc[nt][3] = 0.0f;
      const T* key_row = k_s_b + (nt * 8 + quad) * stride + in_quad * 2;
#pragma unroll
      for (int ks = 0; ks < kMaxHeadDim / 8; ++ks) {
        if (ks * 8 < h) Mma<T>(sc[nt], qf[ks][0], qf[ks][1], *reinterpret_cast<const std::uint32_t*>(key_row + ks * 8));
      }
    }
    // Mask, scale and the rows' new max.
    float chunk_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nt = 0; nt < kKeys / 8; ++nt) {
#pragma unroll
      for (int c = 0; c < 4; ++c) {
        const int i = c / 2;  // c 0, 1: row quad; 2, 3: row quad + 8
        const int p = chunk + nt * 8 + in_quad * 2 + c % 2;
        sc[nt][c] = p <= position[i] ? sc[nt][c] * scale : -INFINITY;
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
    // P = 2^(S - m) as A fragments of P . V (k-step kt: keys 8 kt .. 8 kt + 7).
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
    for (int nt = 0; nt < kMaxHeadDim / 8; ++nt) {
      o[nt][0] *= correction[0];
      o[nt][1] *= correction[0];
      o[nt][2] *= correction[1];
      o[nt][3] *= correction[1];
    }
    // O += P . V: output n-tile nt covers dims 8 nt .. 8 nt + 7; four key
    // k-steps per ldmatrix.
#pragma unroll
    for (int nt = 0; nt < kMaxHeadDim / 8; ++nt) {
      if (nt * 8 < h) {
#pragma unroll
        for (int kt = 0; kt < kKeys / 8; kt += 4) {
          std::uint32_t vf[4];
          LoadTransposed(vf, v_s_b + ((kt + lane / 8) * 8 + lane % 8) * stride + nt * 8);
#pragma unroll
          for (int u = 0; u < 4; ++u) Mma<T>(o[nt], pf[kt + u][0], pf[kt + u][1], vf[u]);
        }
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
      for (int nt = 0; nt < kMaxHeadDim / 8; ++nt) {
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
    for (int nt = 0; nt < kMaxHeadDim / 8; ++nt) {
      if (nt * 8 < h) {
        *reinterpret_cast<std::uint32_t*>(row + nt * 8) = Pack<T>(o[nt][2 * i] * inv, o[nt][2 * i + 1] * inv);
      }
    }
  }
}

template <typename T, int kStages>
cudaError_t LaunchStages(const PagedAttentionArgs& a, const AttentionWork& work, cudaStream_t stream) {
  const std::size_t shared_bytes = kStages * 2 * static_cast<std::size_t>(kKeys) * (a.head_dim + kPad) * sizeof(T);
  if constexpr (kStages == 2) {
    // Above the default 48 KiB of dynamic shared memory: opted into once, for the largest head_dim.
    static const cudaError_t opted = cudaFuncSetAttribute(
        paged_attention_tensor_core_kernel<T, 2>, cudaFuncAttributeMaxDynamicSharedMemorySize,
        static_cast<int>(kStages * 2 * kKeys * (kMaxHeadDim + kPad) * sizeof(T)));
    if (opted != cudaSuccess) return opted;
  }
  paged_attention_tensor_core_kernel<T, kStages><<<work.grid(a), kThreads, shared_bytes, stream>>>(a, work);
  return cudaGetLastError();
}

template <typename T>
cudaError_t Launch(const PagedAttentionArgs& a, DType t, cudaStream_t stream) {
  // A split may be as short as one chunk: a decode step's few blocks would
  // otherwise each walk hundreds of keys while most SMs idle.
  const AttentionWork work = PlanAttentionWork(a, kRows, kKeys, kKeys);
  // The double-buffered variant where the code this GPU runs was compiled
  // for 8.0 or newer: a build of compute_75 PTX alone, JIT-compiled on a
  // newer GPU, has no cp.async in it.
  static const bool double_buffered = [] {
    cudaFuncAttributes attributes{};
    return cudaFuncGetAttributes(&attributes, paged_attention_tensor_core_kernel<T, 2>) == cudaSuccess &&
           attributes.ptxVersion >= 80;
  }();
  const cudaError_t e = double_buffered ? LaunchStages<T, 2>(a, work, stream) : LaunchStages<T, 1>(a, work, stream);
  if (e != cudaSuccess || work.splits == 1) return e;
  return paged_attention_merge_forward(a, work.splits, t, stream);
}

}  // namespace

bool paged_attention_tensor_core_supported(const PagedAttentionArgs& a, DType t) {
  return (t == DType::kF16 || t == DType::kBF16) && a.head_dim % 8 == 0 && a.head_dim <= kMaxHeadDim &&
         a.kv_heads > 0 && a.heads % a.kv_heads == 0;
}

cudaError_t paged_attention_tensor_core_forward(const PagedAttentionArgs& a, DType t, cudaStream_t stream) {
  if (a.n == 0) return cudaSuccess;
  if (!paged_attention_tensor_core_supported(a, t)) return cudaErrorInvalidValue;
  return t == DType::kF16 ? Launch<__half>(a, t, stream) : Launch<__nv_bfloat16>(a, t, stream);
}

}  // namespace engine::cuda
