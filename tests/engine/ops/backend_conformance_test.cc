// Every Backend against the CPU reference: the same op on the same random
// inputs, over the shapes that matter (head_dim 64 and 128, GQA ratios 1, 4,
// 7 and 8, token counts that are no multiple of any tile or block size,
// contexts up to 32k), each with its error bound per dtype (in the manner of
// llama.cpp's test-backend-ops). A new backend gets these tests by adding a
// type below.
//
// Inputs are rounded to the backend's compute dtype before both backends see
// them, so a difference comes only from the computation and the output's
// rounding. The error is max |got - want| / max |want| over the output
// (relative to the output's scale, so small elements are not over-weighted):
//   float32 1e-5, float16 4e-3, bfloat16 3e-2
// (F16 keeps 11 significant bits, about 5e-4 per rounding; BF16 8, about
// 4e-3; the bounds leave room for a few roundings along the way).
// Index results (argmax) and conversion reports must be exactly equal.
//
// Without a GPU, or in a build without CUDA, the CUDA cases report "skipped"
// with the reason; the CPU case compares the reference with itself, which
// checks the harness.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <optional>
#include <random>

#include "engine/backends/cpu/cpu_backend.h"
#include "engine/backends/factory/backend_factory.h"
#include "skip.h"
#include "support/backend_test_util.h"

using namespace engine;
using engine::testing::Make;
using engine::testing::MakeIds;
using engine::testing::Values;
using engine::testing::Zeros;

namespace {

std::unique_ptr<Backend> OpenOrSkip(const char* device, const char* dtype, bool batch_invariant = false) {
  auto b = CreateBackend(device, dtype, "", batch_invariant);
  if (!b.ok()) cluster::testing::SkipTest(std::string(device) + " " + dtype + ": " + b.status().message());
  return std::move(*b);
}

struct CpuFloat32 {
  static std::unique_ptr<Backend> Open() { return std::make_unique<CpuBackend>(); }
  static constexpr double kBound = 1e-5;
  static constexpr std::int64_t kInvariantRows = 40;  // rows over which Linear is batch invariant (tested)
};
struct CudaFloat32 {
  static std::unique_ptr<Backend> Open() { return OpenOrSkip("cuda:0", "float32"); }
  static constexpr std::int64_t kInvariantRows = 4;  // the small-batch kernel's rows
  static constexpr double kBound = 1e-5;
};
struct CudaFloat16 {
  static std::unique_ptr<Backend> Open() { return OpenOrSkip("cuda:0", "float16"); }
  static constexpr std::int64_t kInvariantRows = 4;  // the small-batch kernel's rows
  static constexpr double kBound = 4e-3;
};
struct CudaBFloat16 {
  static std::unique_ptr<Backend> Open() { return OpenOrSkip("cuda:0", "bfloat16"); }
  static constexpr std::int64_t kInvariantRows = 4;  // the small-batch kernel's rows
  static constexpr double kBound = 3e-2;
};
// Linear's other mode (engine/backends/cuda/gemm.h): cuBLASLt for every n.
struct CudaFloat16BatchInvariant {
  static std::unique_ptr<Backend> Open() { return OpenOrSkip("cuda:0", "float16", true); }
  static constexpr double kBound = 4e-3;
  static constexpr std::int64_t kInvariantRows = 40;
};

// The backend under test, the CPU oracle, and random inputs rounded to the backend's dtype.
struct Pair {
  std::unique_ptr<Backend> device;
  CpuBackend cpu;
  std::mt19937 rng{12345};
  double bound = 0;

  DType t() const { return device->compute_dtype(); }

  // n values uniform in [-scale, scale], as representable in t().
  std::vector<float> Random(std::int64_t n, float scale = 1.0f) {
    std::uniform_real_distribution<float> dist(-scale, scale);
    std::vector<float> v(static_cast<std::size_t>(n));
    for (float& x : v) x = dist(rng);
    return Round(v);
  }
  std::vector<float> Round(const std::vector<float>& v) {
    std::vector<unsigned short> narrow(v.size());
    std::vector<float> out(v.size());
    const auto n = static_cast<std::int64_t>(v.size());
    if (t() == DType::kF32) return v;
    ConvertHostMatrix(HostMatrix{v.data(), DType::kF32, 1, n, n}, t(), narrow.data());
    ConvertHostMatrix(HostMatrix{narrow.data(), t(), 1, n, n}, DType::kF32, out.data());
    return out;
  }
  // The same values on both: the device in t() (or `dtype` if given), the CPU in F32.
  std::pair<Tensor, Tensor> Both(const std::vector<float>& values, const Shape& shape,
                                 std::optional<DType> dtype = std::nullopt) {
    return {Make(*device, values, shape, dtype.value_or(t())), Make(cpu, values, shape)};
  }
  std::pair<Tensor, Tensor> BothIds(const std::vector<std::int32_t>& ids) {
    return {MakeIds(*device, ids), MakeIds(cpu, ids)};
  }
  std::pair<Tensor, Tensor> BothZeros(const Shape& shape, std::optional<DType> dtype = std::nullopt) {
    const DType on_cpu = dtype == DType::kI32 ? DType::kI32 : DType::kF32;
    return {Zeros(*device, shape, dtype.value_or(t())), Zeros(cpu, shape, on_cpu)};
  }
  void Expect(const Tensor& got, const Tensor& want, const std::string& what) {
    Expect(Values(*device, got), Values(cpu, want), what);
  }
  void Expect(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
    REQUIRE(got.size() == want.size());
    double max_diff = 0, max_ref = 0;
    for (std::size_t i = 0; i < got.size(); ++i) {
      REQUIRE(std::isfinite(got[i]));
      max_diff = std::max(max_diff, std::abs(static_cast<double>(got[i]) - want[i]));
      max_ref = std::max(max_ref, std::abs(static_cast<double>(want[i])));
    }
    const double error = max_ref == 0 ? max_diff : max_diff / max_ref;
    INFO(what << ": relative error " << error << " (bound " << bound << ")");
    CHECK(error <= bound);
  }
};

template <typename B>
Pair Open() {
  Pair p;
  p.device = B::Open();
  p.bound = B::kBound;
  return p;
}

// A step of several sequences: each gets `counts[s]` new tokens ending at
// context `contexts[s]`, blocks shuffled over a pool of `num_blocks`.
struct RandomStep {
  AttentionBatch batch;
  std::int64_t num_blocks = 0;
};
RandomStep MakeStep(std::mt19937& rng, const std::vector<std::int32_t>& counts, const std::vector<std::int32_t>& contexts,
                    int block_size) {
  RandomStep r;
  r.batch.block_size = block_size;
  std::int64_t blocks = 0;
  for (std::int32_t c : contexts) blocks += (c + block_size - 1) / block_size;
  r.num_blocks = blocks + 3;  // a few never used
  std::vector<std::int32_t> pool(static_cast<std::size_t>(r.num_blocks));
  std::iota(pool.begin(), pool.end(), 0);
  std::shuffle(pool.begin(), pool.end(), rng);
  std::size_t next = 0;
  for (std::size_t s = 0; s < counts.size(); ++s) {
    std::vector<std::int32_t> table;
    for (std::int32_t b = 0; b < (contexts[s] + block_size - 1) / block_size; ++b) table.push_back(pool[next++]);
    r.batch.block_tables.push_back(table);
    for (std::int32_t p = contexts[s] - counts[s]; p < contexts[s]; ++p) {
      r.batch.token_seq.push_back(static_cast<std::int32_t>(s));
      r.batch.positions.push_back(p);
    }
  }
  return r;
}

}  // namespace

// Decode-sized n (the GPU's small-batch kernel: `in` past its unrolled
// stride and not a multiple of it, an odd number of outputs, `in` that is no
// whole number of 16-byte vectors) and prefill-sized n (cuBLASLt).
TEMPLATE_TEST_CASE("Linear matches the CPU reference, with and without bias, into T and F32", "[conformance]",
                   CpuFloat32, CudaFloat32, CudaFloat16, CudaBFloat16, CudaFloat16BatchInvariant) {
  Pair p = Open<TestType>();
  for (auto [n, in, out] : std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>>{
           {1, 64, 96}, {7, 128, 33}, {1, 4104, 40}, {4, 2056, 17}, {3, 1032, 130}, {2, 100, 33}, {17, 264, 24},
           {33, 256, 320}, {130, 512, 72}}) {
    auto x = p.Both(p.Random(n * in), {n, in});
    auto w = p.Both(p.Random(out * in, 0.1f), {out, in});
    auto bias = p.Both(p.Random(out), {out});
    for (bool with_bias : {false, true}) {
      for (DType out_dtype : {p.t(), DType::kF32}) {
        auto y = p.BothZeros({n, out}, out_dtype);
        const Status linear = p.device->Linear(y.first, x.first, w.first, with_bias ? bias.first : Tensor());
        INFO("n=" << n << " in=" << in << " out=" << out << " bias " << with_bias << " into "
                  << DTypeName(out_dtype) << ": " << linear.ToString());
        REQUIRE(linear.ok());
        REQUIRE(p.cpu.Linear(y.second, x.second, w.second, with_bias ? bias.second : Tensor()).ok());
        p.Expect(y.first, y.second,
                 "linear n=" + std::to_string(n) + " in=" + std::to_string(in) + " out=" + std::to_string(out));
      }
    }
  }
}

// Batch invariance, bitwise: what the scheduler's "same tokens alone or
// batched" rests on. The CPU and the GPU's batch-invariant mode keep it for
// every n; the GPU's fast mode for the steps of its small-batch kernel (up
// to 4 rows).
TEMPLATE_TEST_CASE("A Linear row's result is bitwise the same alone and at any place in a batch", "[conformance]",
                   CpuFloat32, CudaFloat32, CudaFloat16, CudaBFloat16, CudaFloat16BatchInvariant) {
  Pair p = Open<TestType>();
  const std::int64_t rows = TestType::kInvariantRows, in = 4104, out = 40;
  const std::vector<float> xs = p.Random(rows * in), ws = p.Random(out * in, 0.1f), bs = p.Random(out);
  const Tensor w = Make(*p.device, ws, {out, in}, p.t()), bias = Make(*p.device, bs, {out}, p.t());
  // Rows [first, first + n) of xs through one Linear; the results as floats.
  const auto run = [&](std::int64_t first, std::int64_t n) {
    const std::vector<float> part(xs.begin() + first * in, xs.begin() + (first + n) * in);
    Tensor y = Zeros(*p.device, {n, out}, p.t());
    REQUIRE(p.device->Linear(y, Make(*p.device, part, {n, in}, p.t()), w, bias).ok());
    return Values(*p.device, y);
  };
  std::vector<std::vector<float>> alone;
  for (std::int64_t r = 0; r < rows; ++r) alone.push_back(run(r, 1));
  for (std::int64_t n = 2; n <= rows; ++n) {
    const std::int64_t first = (n * 7) % (rows - n + 1);
    const std::vector<float> batched = run(first, n);
    for (std::int64_t i = 0; i < n; ++i) {
      INFO("row " << first + i << " at place " << i << " of a batch of " << n);
      CHECK(std::equal(alone[static_cast<std::size_t>(first + i)].begin(),
                       alone[static_cast<std::size_t>(first + i)].end(), batched.begin() + i * out));
    }
  }
}

TEMPLATE_TEST_CASE("RMSNorm with and without the residual add matches the CPU reference", "[conformance]",
                   CpuFloat32, CudaFloat32, CudaFloat16, CudaBFloat16) {
  Pair p = Open<TestType>();
  for (auto [n, d] : std::vector<std::pair<std::int64_t, std::int64_t>>{{1, 64}, {5, 4096}, {3, 8192}, {37, 320}}) {
    const std::vector<float> residual_values = p.Random(n * d, 4.0f);
    auto weight = p.Both(p.Random(d), {d});
    auto add = p.Both(p.Random(n * d), {n, d});
    for (bool with_add : {false, true}) {
      auto residual = p.Both(residual_values, {n, d}, DType::kF32);
      auto out = p.BothZeros({n, d});
      REQUIRE(p.device->RmsNorm(out.first, residual.first, with_add ? add.first : Tensor(), weight.first, 1e-5f).ok());
      REQUIRE(p.cpu.RmsNorm(out.second, residual.second, with_add ? add.second : Tensor(), weight.second, 1e-5f).ok());
      p.Expect(out.first, out.second, "rms_norm out d=" + std::to_string(d));
      p.Expect(residual.first, residual.second, "rms_norm residual d=" + std::to_string(d));
    }
  }
}

TEMPLATE_TEST_CASE("QkvRope matches the CPU reference for head_dim 64 and 128 and GQA ratios 1, 4, 7, 8",
                   "[conformance]", CpuFloat32, CudaFloat32, CudaFloat16, CudaBFloat16) {
  Pair p = Open<TestType>();
  for (auto [h, heads, kv_heads] : std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>>{
           {64, 4, 4}, {128, 8, 2}, {128, 28, 4}, {64, 16, 2}}) {
    const int block_size = 16;
    RandomStep s = MakeStep(p.rng, {13, 1, 1}, {13, 4000, 32768}, block_size);
    const std::int64_t n = s.batch.num_tokens();
    const std::int64_t width = (heads + 2 * kv_heads) * h;
    std::vector<float> freq_values;
    for (std::int64_t j = 0; j < h / 2; ++j) {
      freq_values.push_back(static_cast<float>(std::pow(500000.0, -2.0 * static_cast<double>(j) / static_cast<double>(h))));
    }
    auto inv_freq = p.Both(freq_values, {h / 2}, DType::kF32);
    auto qkv = p.Both(p.Random(n * width), {n, width});
    auto bias = p.Both(p.Random(width, 0.5f), {width});
    auto q = p.BothZeros({n, heads, h});
    const Shape cache_shape = {s.num_blocks, block_size, kv_heads, h};
    auto k_cache = p.BothZeros(cache_shape), v_cache = p.BothZeros(cache_shape);
    StepBuffers device_buffers = engine::testing::TestStepBuffers(*p.device);
    StepBuffers cpu_buffers = engine::testing::TestStepBuffers(p.cpu);
    StepTensors device_step = engine::testing::UploadStep(device_buffers, s.batch, s.num_blocks);
    StepTensors cpu_step = engine::testing::UploadStep(cpu_buffers, s.batch, s.num_blocks);
    for (bool with_bias : {false, true}) {
      REQUIRE(p.device->QkvRope(q.first, k_cache.first, v_cache.first, qkv.first, with_bias ? bias.first : Tensor(),
                                inv_freq.first, device_step).ok());
      REQUIRE(p.cpu.QkvRope(q.second, k_cache.second, v_cache.second, qkv.second, with_bias ? bias.second : Tensor(),
                            inv_freq.second, cpu_step).ok());
      const std::string what = "qkv_rope h=" + std::to_string(h) + " H=" + std::to_string(heads) +
                               " K=" + std::to_string(kv_heads);
      p.Expect(q.first, q.second, what + " q");
      p.Expect(k_cache.first, k_cache.second, what + " k_cache");
      p.Expect(v_cache.first, v_cache.second, what + " v_cache");
    }
  }
}

TEMPLATE_TEST_CASE("Paged attention matches the CPU reference on mixed prefill/decode steps up to 32k context",
                   "[conformance]", CpuFloat32, CudaFloat32, CudaFloat16, CudaBFloat16) {
  Pair p = Open<TestType>();
  struct Case {
    std::int64_t h, heads, kv_heads;
    std::vector<std::int32_t> counts, contexts;
  };
  const std::vector<Case> cases = {
      {64, 4, 4, {37}, {37}},                                // one prefill chunk from position 0, MHA
      {128, 8, 2, {19, 1, 1}, {19, 300, 45}},                // a prefill and two decodes, GQA 4
      {128, 28, 4, {1, 23, 1}, {1000, 523, 17}},             // GQA 7, a chunk in the middle of a sequence
      {64, 32, 4, {1, 1, 1, 1}, {5, 129, 2048, 4097}},       // GQA 8, decodes only
      {128, 8, 1, {1, 3}, {32768, 32768}},                   // long contexts: split over the sequence
      {128, 32, 8, {1}, {700}},                              // a batch-1 decode of the Llama-3-8B shape: split in one-chunk parts
      // Longer chunks (FP16/BF16 on a GPU: the tensor-core kernel): several
      // tiles and key chunks, a chunk after earlier context, a decode beside
      // a prefill, head_dim 80 and 40 (no multiple of 16), G 5 and 3.
      {128, 32, 8, {200}, {700}},
      {64, 8, 1, {70, 1}, {70, 3000}},
      {80, 10, 2, {33, 17}, {100, 17}},
      {40, 6, 2, {45, 1}, {45, 300}},
  };
  for (const Case& c : cases) {
    const int block_size = 16;
    RandomStep s = MakeStep(p.rng, c.counts, c.contexts, block_size);
    const std::int64_t n = s.batch.num_tokens();
    const Shape cache_shape = {s.num_blocks, block_size, c.kv_heads, c.h};
    const std::int64_t cache_elements = NumElements(cache_shape);
    auto k_cache = p.Both(p.Random(cache_elements), cache_shape);
    auto v_cache = p.Both(p.Random(cache_elements), cache_shape);
    auto q = p.Both(p.Random(n * c.heads * c.h, 2.0f), {n, c.heads, c.h});
    auto out = p.BothZeros({n, c.heads, c.h});
    StepBuffers device_buffers = engine::testing::TestStepBuffers(*p.device);
    StepBuffers cpu_buffers = engine::testing::TestStepBuffers(p.cpu);
    StepTensors device_step = engine::testing::UploadStep(device_buffers, s.batch, s.num_blocks);
    StepTensors cpu_step = engine::testing::UploadStep(cpu_buffers, s.batch, s.num_blocks);
    StepLimits limits = device_buffers.limits();
    Tensor scratch;
    const std::int64_t scratch_elements = p.device->AttentionScratchElements(limits, c.heads, c.h);
    if (scratch_elements > 0) scratch = Zeros(*p.device, {scratch_elements});
    Tensor none;
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.h));
    REQUIRE(p.device->PagedAttention(out.first, q.first, k_cache.first, v_cache.first, device_step, scale, scratch).ok());
    REQUIRE(p.cpu.PagedAttention(out.second, q.second, k_cache.second, v_cache.second, cpu_step, scale, none).ok());
    p.Expect(out.first, out.second,
             "paged_attention h=" + std::to_string(c.h) + " H=" + std::to_string(c.heads) + " K=" +
                 std::to_string(c.kv_heads) + " longest context " +
                 std::to_string(*std::max_element(c.contexts.begin(), c.contexts.end())));
  }
}

// What the batch-invariant mode promises of attention: a decoding sequence's
// output does not depend on the step's other sequences, although a GPU left
// to itself splits a lone long context over more blocks than a full step's.
TEMPLATE_TEST_CASE("In batch-invariant mode a decoding sequence's attention is bitwise the same alone and in a step",
                   "[conformance]", CpuFloat32, CudaFloat16BatchInvariant) {
  Pair p = Open<TestType>();
  const std::int64_t h = 128, heads = 8, kv_heads = 2;
  const int block_size = 16;
  const std::vector<std::int32_t> contexts = {40, 3000, 3000, 7, 1200, 64};
  const std::size_t target = 2;
  RandomStep step = MakeStep(p.rng, std::vector<std::int32_t>(contexts.size(), 1), contexts, block_size);
  const std::int64_t n = step.batch.num_tokens();
  const Shape cache_shape = {step.num_blocks, block_size, kv_heads, h};
  const Tensor k_cache = Make(*p.device, p.Random(NumElements(cache_shape)), cache_shape, p.t());
  const Tensor v_cache = Make(*p.device, p.Random(NumElements(cache_shape)), cache_shape, p.t());
  const std::vector<float> qs = p.Random(n * heads * h, 2.0f);
  const std::int64_t row = heads * h;  // one token's output
  // The output rows of `batch` with queries `q`.
  const auto attend = [&](const AttentionBatch& batch, const std::vector<float>& q) {
    const std::int64_t tokens = batch.num_tokens();
    Tensor out = Zeros(*p.device, {tokens, heads, h}, p.t());
    StepBuffers buffers = engine::testing::TestStepBuffers(*p.device);
    StepTensors tensors = engine::testing::UploadStep(buffers, batch, step.num_blocks);
    Tensor scratch;
    const std::int64_t scratch_elements = p.device->AttentionScratchElements(buffers.limits(), heads, h);
    if (scratch_elements > 0) scratch = Zeros(*p.device, {scratch_elements});
    REQUIRE(p.device
                ->PagedAttention(out, Make(*p.device, q, {tokens, heads, h}, p.t()), k_cache, v_cache, tensors,
                                 1.0f / std::sqrt(static_cast<float>(h)), scratch)
                .ok());
    return Values(*p.device, out);
  };
  const std::vector<float> in_step = attend(step.batch, qs);
  AttentionBatch alone;
  alone.block_size = block_size;
  alone.block_tables = {step.batch.block_tables[target]};
  alone.token_seq = {0};
  alone.positions = {contexts[target] - 1};
  const auto first = qs.begin() + static_cast<std::ptrdiff_t>(target) * row;
  const std::vector<float> by_itself = attend(alone, std::vector<float>(first, first + row));
  CHECK(std::equal(by_itself.begin(), by_itself.end(), in_step.begin() + static_cast<std::ptrdiff_t>(target) * row));
}

TEMPLATE_TEST_CASE("Embedding, GatherRows and SiluMul match the CPU reference", "[conformance]", CpuFloat32,
                   CudaFloat32, CudaFloat16, CudaBFloat16) {
  Pair p = Open<TestType>();
  const std::int64_t V = 1000, d = 264, n = 29, F = 700;
  auto table = p.Both(p.Random(V * d), {V, d});
  std::vector<std::int32_t> ids;
  for (std::int64_t i = 0; i < n; ++i) ids.push_back(static_cast<std::int32_t>((i * 397) % V));
  auto id_tensors = p.BothIds(ids);
  for (DType out_dtype : {DType::kF32, p.t()}) {
    auto out = p.BothZeros({n, d}, out_dtype);
    REQUIRE(p.device->Embedding(out.first, table.first, id_tensors.first).ok());
    REQUIRE(p.cpu.Embedding(out.second, table.second, id_tensors.second).ok());
    p.Expect(out.first, out.second, "embedding");
  }
  auto rows = p.BothIds({28, 0, 13, 13, 5});
  for (std::int64_t width : {d, d - 3}) {  // rows of whole 16-byte vectors, and not
    auto x = p.Both(p.Random(n * width), {n, width});
    auto gathered = p.BothZeros({5, width});
    REQUIRE(p.device->GatherRows(gathered.first, x.first, rows.first).ok());
    REQUIRE(p.cpu.GatherRows(gathered.second, x.second, rows.second).ok());
    p.Expect(gathered.first, gathered.second, "gather_rows, rows of " + std::to_string(width));
  }
  for (std::int64_t f : {F + 4, F}) {  // halves of whole 16-byte vectors in every dtype, and not in 16-bit ones
    auto gate_up = p.Both(p.Random(n * 2 * f, 6.0f), {n, 2 * f});
    auto act = p.BothZeros({n, f});
    REQUIRE(p.device->SiluMul(act.first, gate_up.first).ok());
    REQUIRE(p.cpu.SiluMul(act.second, gate_up.second).ok());
    p.Expect(act.first, act.second, "silu_mul, F " + std::to_string(f));
  }
}

TEMPLATE_TEST_CASE("ArgMax gives exactly the CPU's ids, ties to the lowest index, NaN never winning",
                   "[conformance]", CpuFloat32, CudaFloat32, CudaFloat16, CudaBFloat16) {
  Pair p = Open<TestType>();
  const std::int64_t rows = 6, V = 128256;
  std::vector<float> logits(static_cast<std::size_t>(rows * V));
  std::uniform_real_distribution<float> dist(-20.0f, 20.0f);
  for (float& v : logits) v = dist(p.rng);
  auto at = [&](std::int64_t r, std::int64_t j) -> float& { return logits[static_cast<std::size_t>(r * V + j)]; };
  at(1, 77000) = at(1, 5) = 100.0f;           // a tie: 5 wins
  at(2, 3) = std::nanf("");                   // NaN ignored
  at(2, 9) = 99.0f;
  for (std::int64_t j = 0; j < V; ++j) at(3, j) = std::nanf("");  // all NaN: 0
  at(4, V - 1) = 1e30f;                       // the last column
  auto l = p.Both(logits, {rows, V}, DType::kF32);
  auto ids = p.BothZeros({rows}, DType::kI32);
  auto values = p.BothZeros({rows}, DType::kF32);
  REQUIRE(p.device->ArgMax(ids.first, values.first, l.first).ok());
  REQUIRE(p.cpu.ArgMax(ids.second, values.second, l.second).ok());
  const auto got = engine::testing::Ids(*p.device, ids.first);
  CHECK(got == engine::testing::Ids(p.cpu, ids.second));
  const auto got_values = Values(*p.device, values.first), want_values = Values(p.cpu, values.second);
  for (std::size_t r = 0; r < got_values.size(); ++r) {
    INFO("row " << r);
    CHECK((got_values[r] == want_values[r] || (std::isnan(got_values[r]) && std::isnan(want_values[r]))));
  }
  CHECK(got[1] == 5);
  CHECK(got[2] == 9);
  CHECK(got[3] == 0);
  CHECK(got[4] == V - 1);
}

// A weight copy bigger than the GPU's staging buffers (64 MiB, packed by
// several threads each): every element lands in its place, from rows that
// are not contiguous in the source.
TEMPLATE_TEST_CASE("A weight copy of many staging buffers, from strided rows, arrives whole and in order",
                   "[conformance]", CpuFloat32, CudaFloat32, CudaFloat16) {
  Pair p = Open<TestType>();
  const std::int64_t rows = 2100, cols = 9000, stride = 9007;  // 75.6 MB of float32
  const auto value = [](std::int64_t r, std::int64_t c) { return static_cast<float>((r * 131 + c * 7) % 256 - 128); };
  std::vector<float> source(static_cast<std::size_t>(rows * stride), 1000.0f);  // 1000: the gaps, never copied
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < cols; ++c) source[static_cast<std::size_t>(r * stride + c)] = value(r, c);
  }
  Tensor dst = Zeros(*p.device, {rows, cols}, p.t());
  REQUIRE(p.device->CopyFromHost(dst, HostMatrix{source.data(), DType::kF32, rows, cols, stride}).ok());
  const std::vector<float> got = Values(*p.device, dst);
  std::int64_t wrong = 0, first_wrong = -1;
  for (std::int64_t i = 0; i < rows * cols; ++i) {
    if (got[static_cast<std::size_t>(i)] != value(i / cols, i % cols)) {
      if (wrong++ == 0) first_wrong = i;
    }
  }
  INFO("first wrong element: " << first_wrong);
  CHECK(wrong == 0);
}

TEMPLATE_TEST_CASE("Copying BF16 weights into the compute dtype saturates and counts what does not fit",
                   "[conformance]", CpuFloat32, CudaFloat32, CudaFloat16, CudaBFloat16) {
  Pair p = Open<TestType>();
  // BF16 values: 1.0 (0x3F80), 70000 (0x4789 ~ 70144: beyond FP16), -1e6 (0xC974), NaN (0x7FC0), 0.5 (0x3F00).
  const std::vector<std::uint16_t> bits = {0x3F80, 0x4789, 0xC974, 0x7FC0, 0x3F00};
  const HostMatrix source{bits.data(), DType::kBF16, 1, 5, 5};
  Tensor dst = Zeros(*p.device, {5}, p.t());
  auto report = p.device->CopyFromHost(dst, source);
  REQUIRE(report.ok());
  std::vector<float> want(5);
  std::vector<unsigned char> narrow(5 * DTypeSize(p.t()));
  const ConversionReport want_report = ConvertHostMatrix(source, p.t(), narrow.data());
  ConvertHostMatrix(HostMatrix{narrow.data(), p.t(), 1, 5, 5}, DType::kF32, want.data());
  CHECK(report->out_of_range == want_report.out_of_range);
  const std::vector<float> got = Values(*p.device, dst);
  for (std::size_t i = 0; i < 5; ++i) {
    INFO("element " << i);
    if (std::isnan(want[i])) {
      CHECK(std::isnan(got[i]));
    } else {
      CHECK(got[i] == want[i]);
    }
  }
  if (p.t() == DType::kF16) {
    CHECK(report->out_of_range == 3);  // 70144, -1e6 and NaN
    CHECK(got[1] == 65504.0f);
    CHECK(got[2] == -65504.0f);
  }
}
