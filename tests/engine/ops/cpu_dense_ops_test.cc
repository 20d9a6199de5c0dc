// The CPU backend's token-wise ops on cases small enough to check by hand.
// These define the ops; backend_conformance_test.cc then holds every other
// backend to the CPU's results.
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/backends/cpu/cpu_backend.h"
#include "support/backend_test_util.h"

using namespace engine;
using engine::testing::Ids;
using engine::testing::Make;
using engine::testing::MakeIds;
using engine::testing::Values;
using engine::testing::Zeros;

namespace {

void CheckClose(const std::vector<float>& got, const std::vector<float>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    CHECK(got[i] == Approx(want[i]).margin(1e-6));
  }
}

}  // namespace

TEST_CASE("Linear multiplies by the transposed (out, in) weight and adds the bias") {
  CpuBackend b;
  // x = [[1, 2, 3], [4, 5, 6]]; W = [[1, 0, 0], [0, 1, 1]] (2 outputs of 3 inputs); bias = [10, 20].
  // out = [[1, 2+3], [4, 5+6]] + bias = [[11, 25], [14, 31]].
  Tensor x = Make(b, {1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor w = Make(b, {1, 0, 0, 0, 1, 1}, {2, 3});
  Tensor bias = Make(b, {10, 20}, {2});
  Tensor out = Zeros(b, {2, 2});
  REQUIRE(b.Linear(out, x, w, bias).ok());
  CheckClose(Values(b, out), {11, 25, 14, 31});

  SECTION("one token (the matrix-vector path) gives the same row, without a bias") {
    Tensor x1 = Make(b, {4, 5, 6}, {1, 3});
    Tensor out1 = Zeros(b, {1, 2});
    REQUIRE(b.Linear(out1, x1, w, Tensor()).ok());
    CheckClose(Values(b, out1), {4, 11});
  }
}

TEST_CASE("Linear refuses a weight whose input size does not match x, and an output of the wrong shape") {
  CpuBackend b;
  Tensor x = Make(b, {1, 2, 3}, {1, 3});
  Tensor out = Zeros(b, {1, 2});
  CHECK(b.Linear(out, x, Make(b, {1, 2, 3, 4}, {2, 2}), Tensor()).message() ==
        "linear: x has shape [1, 3] but weight has shape [2, 2]; the weight is [out, in] with in = 3");
  Tensor wrong = Zeros(b, {1, 3});
  CHECK(b.Linear(wrong, x, Make(b, {1, 0, 0, 0, 1, 0}, {2, 3}), Tensor()).message() ==
        "linear: out has shape [1, 3]; expected [1, 2]");
}

TEST_CASE("RMSNorm divides each row by its root mean square and scales by the weight") {
  CpuBackend b;
  // Row [3, 4]: mean square 12.5, rms 3.5355; with eps 0 and weight [1, 2]:
  // [3 / 3.5355, 2 * 4 / 3.5355] = [0.848528, 2.262742]. Row [0, 0] stays 0 (eps keeps it finite).
  Tensor residual = Make(b, {3, 4, 0, 0}, {2, 2});
  Tensor w = Make(b, {1, 2}, {2});
  Tensor out = Zeros(b, {2, 2});
  REQUIRE(b.RmsNorm(out, residual, Tensor(), w, 1e-6f).ok());
  CheckClose(Values(b, out), {0.848528f, 2.262742f, 0, 0});
  CheckClose(Values(b, residual), {3, 4, 0, 0});  // untouched without an add

  CHECK(b.RmsNorm(out, residual, Tensor(), Make(b, {1, 1, 1}, {3}), 1e-6f).message() ==
        "rms_norm: residual has shape [2, 2] but weight has shape [3]; expected [2]");
}

TEST_CASE("RMSNorm with an add first adds into the residual stream, then normalises the sum") {
  CpuBackend b;
  // residual [1, 4] + add [2, 0] = [3, 4]; normalised as above with weight [1, 1].
  Tensor residual = Make(b, {1, 4}, {1, 2});
  Tensor add = Make(b, {2, 0}, {1, 2});
  Tensor out = Zeros(b, {1, 2});
  REQUIRE(b.RmsNorm(out, residual, add, Make(b, {1, 1}, {2}), 0.0f).ok());
  CheckClose(Values(b, residual), {3, 4});
  CheckClose(Values(b, out), {0.848528f, 1.131371f});
}

TEST_CASE("QkvRope adds the bias, rotates q and k by position times frequency, and writes k and v to their slots") {
  CpuBackend b;
  // One head of each (H = K = 1), head_dim 4, frequencies [pi/2, pi], block size 2.
  // Token 0 at position 0 (slot 2): unchanged. Token 1 at position 1 (slot 3),
  // x = [1, 2, 3, 4]: pair (1, 3) turns by pi/2 -> (-3, 1); pair (2, 4) by pi
  // -> (-2, -4), so [-3, -2, 1, -4]. q, k and v of a token are its 12 qkv
  // columns; k = q + 0 and v = [5, 6, 7, 8] + a bias of 1.
  const float pi = static_cast<float>(M_PI);
  Tensor inv_freq = Make(b, {pi / 2, pi}, {2});
  Tensor qkv = Make(b, {1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8,  //
                        1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 8},
                    {2, 12});
  Tensor bias = Make(b, {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1}, {12});
  Tensor q = Zeros(b, {2, 1, 4});
  Tensor k_cache = Zeros(b, {2, 2, 1, 4}), v_cache = Zeros(b, {2, 2, 1, 4});
  StepBuffers buffers = engine::testing::TestStepBuffers(b);
  AttentionBatch batch;
  batch.block_size = 2;
  batch.block_tables = {{1}};
  batch.token_seq = {0, 0};
  batch.positions = {0, 1};
  StepTensors step = engine::testing::UploadStep(buffers, batch, 2);
  REQUIRE(b.QkvRope(q, k_cache, v_cache, qkv, bias, inv_freq, step).ok());
  CheckClose(Values(b, q), {1, 2, 3, 4, -3, -2, 1, -4});
  CheckClose(Values(b, k_cache), {0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, -3, -2, 1, -4});
  CheckClose(Values(b, v_cache), {0, 0, 0, 0, 0, 0, 0, 0, 6, 7, 8, 9, 6, 7, 8, 9});

  Tensor narrow = Zeros(b, {2, 10});
  CHECK(b.QkvRope(q, k_cache, v_cache, narrow, Tensor(), inv_freq, step).message() ==
        "qkv_rope: qkv has shape [2, 10]; expected [2, 12]");
}

TEST_CASE("SiluMul gates the up half of the fused projection by silu of the gate half") {
  CpuBackend b;
  // silu(0) = 0, silu(1) = 1 / (1 + e^-1) = 0.7310586, silu(-1) = -0.2689414.
  Tensor gate_up = Make(b, {0, 1, -1, 5, 2, 1}, {1, 6});
  Tensor out = Zeros(b, {1, 3});
  REQUIRE(b.SiluMul(out, gate_up).ok());
  CheckClose(Values(b, out), {0, 1.4621172f, -0.2689414f});
  Tensor odd = Zeros(b, {1, 5});
  CHECK(b.SiluMul(out, odd).message() == "silu_mul: gate_up has shape [1, 5]; expected [n, 2F] (gate columns, then up columns)");
}

TEST_CASE("Embedding looks up rows by token id") {
  CpuBackend b;
  Tensor table = Make(b, {0, 0, 1, 1, 2, 2}, {3, 2});
  Tensor out = Zeros(b, {3, 2});
  REQUIRE(b.Embedding(out, table, MakeIds(b, {2, 0, 2})).ok());
  CheckClose(Values(b, out), {2, 2, 0, 0, 2, 2});
}

TEST_CASE("GatherRows keeps the requested rows in the requested order") {
  CpuBackend b;
  Tensor x = Make(b, {0, 1, 10, 11, 20, 21}, {3, 2});
  Tensor out = Zeros(b, {2, 2});
  REQUIRE(b.GatherRows(out, x, MakeIds(b, {2, 0})).ok());
  CheckClose(Values(b, out), {20, 21, 0, 1});
  Tensor one = Zeros(b, {1, 2});
  CHECK(b.GatherRows(one, x, MakeIds(b, {3})).message() == "gather_rows: row 3 is outside x of shape [3, 2]");
}

TEST_CASE("ArgMax takes the lowest index among equal largest logits, and NaN never wins") {
  CpuBackend b;
  const float nan = std::nanf("");
  Tensor logits = Make(b, {1, 5, 5, 2,  //
                           nan, 0, -1, nan,  //
                           nan, nan, nan, nan},
                       {3, 4});
  Tensor ids = Zeros(b, {3}, DType::kI32);
  Tensor values = Zeros(b, {3});
  REQUIRE(b.ArgMax(ids, values, logits).ok());
  CHECK(Ids(b, ids) == std::vector<std::int32_t>{1, 1, 0});
  const std::vector<float> winners = Values(b, values);
  CHECK(winners[0] == 5);
  CHECK(winners[1] == 0);
  CHECK(std::isnan(winners[2]));
}

TEST_CASE("Allocate gives zeros, and CopyFromHost checks the value count and converts F16 and BF16 exactly") {
  CpuBackend b;
  Tensor z = Zeros(b, {2, 2});
  CHECK(Values(b, z) == std::vector<float>{0, 0, 0, 0});
  std::vector<float> three = {1, 2, 3};
  auto bad = b.CopyFromHost(z, HostMatrix{three.data(), DType::kF32, 1, 3, 3});
  CHECK(bad.status().message() == "copy from host: 3 values for a tensor of shape [2, 2] (4 elements)");
  // 1.5 and -2 in F16 (0x3E00, 0xC000) and BF16 (0x3FC0, 0xC000): widened exactly.
  const std::uint16_t f16[] = {0x3E00, 0xC000}, bf16[] = {0x3FC0, 0xC000};
  Tensor t = Zeros(b, {2});
  REQUIRE(b.CopyFromHost(t, HostMatrix{f16, DType::kF16, 1, 2, 2}).ok());
  CHECK(Values(b, t) == std::vector<float>{1.5f, -2.0f});
  REQUIRE(b.CopyFromHost(t, HostMatrix{bf16, DType::kBF16, 1, 2, 2}).ok());
  CHECK(Values(b, t) == std::vector<float>{1.5f, -2.0f});
}

TEST_CASE("A column slice (rows of a wider matrix) copies only its columns") {
  CpuBackend b;
  // Columns [1, 3) of [[0, 1, 2, 3], [4, 5, 6, 7]].
  const std::vector<float> full = {0, 1, 2, 3, 4, 5, 6, 7};
  Tensor t = Zeros(b, {2, 2});
  REQUIRE(b.CopyFromHost(t, HostMatrix{full.data() + 1, DType::kF32, 2, 2, 4}).ok());
  CHECK(Values(b, t) == std::vector<float>{1, 2, 5, 6});
}
