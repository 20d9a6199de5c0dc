// The CPU backend's token-wise ops on cases small enough to check by hand.
#include <catch2/catch.hpp>

#include <cmath>

#include "engine/backends/cpu/cpu_backend.h"

using namespace engine;
using Catch::Matchers::Contains;

namespace {

Tensor Make(CpuBackend& backend, std::vector<float> values, Shape shape) {
  auto t = backend.Upload(values, shape);
  REQUIRE(t.ok());
  return *t;
}

std::vector<float> Values(CpuBackend& backend, const Tensor& t) {
  auto v = backend.Download(t);
  REQUIRE(v.ok());
  return *v;
}

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
  auto out = b.Linear(x, w, bias);
  REQUIRE(out.ok());
  CHECK(out->shape() == Shape{2, 2});
  CheckClose(Values(b, *out), {11, 25, 14, 31});

  SECTION("one token (the matrix-vector path) gives the same row, without a bias") {
    Tensor x1 = Make(b, {4, 5, 6}, {1, 3});
    auto out1 = b.Linear(x1, w, Tensor());
    REQUIRE(out1.ok());
    CheckClose(Values(b, *out1), {4, 11});
  }
}

TEST_CASE("Linear refuses a weight whose input size does not match x") {
  CpuBackend b;
  Tensor x = Make(b, {1, 2, 3}, {1, 3});
  Tensor w = Make(b, {1, 2, 3, 4}, {2, 2});
  auto out = b.Linear(x, w, Tensor());
  REQUIRE_FALSE(out.ok());
  CHECK(out.status().message() ==
        "linear: x has shape [1, 3] but weight has shape [2, 2]; the weight is [out, in] with in = 3");
}

TEST_CASE("RMSNorm divides each row by its root mean square and scales by the weight") {
  CpuBackend b;
  // Row [3, 4]: mean square 12.5, rms 3.5355; with eps 0 and weight [1, 2]:
  // [3 / 3.5355, 2 * 4 / 3.5355] = [0.848528, 2.262742]. Row [0, 0] stays 0 (eps keeps it finite).
  Tensor x = Make(b, {3, 4, 0, 0}, {2, 2});
  Tensor w = Make(b, {1, 2}, {2});
  auto out = b.RmsNorm(x, w, 1e-6f);
  REQUIRE(out.ok());
  CheckClose(Values(b, *out), {0.848528f, 2.262742f, 0, 0});

  auto bad = b.RmsNorm(x, Make(b, {1, 1, 1}, {3}), 1e-6f);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "rms_norm: x has shape [2, 2] but weight has shape [3]; expected [2]");
}

TEST_CASE("RoPE rotates element j with element j + head_dim/2 by position times frequency") {
  CpuBackend b;
  // head_dim 4, frequencies [pi/2, pi]. Token at position 0: unchanged.
  // Token at position 1, x = [1, 2, 3, 4]: pair (1, 3) turns by pi/2 -> (-3, 1);
  // pair (2, 4) turns by pi -> (-2, -4). So [-3, -2, 1, -4].
  const float pi = static_cast<float>(M_PI);
  Tensor inv_freq = Make(b, {pi / 2, pi}, {2});
  Tensor x = Make(b, {1, 2, 3, 4, 1, 2, 3, 4}, {2, 1, 4});
  std::vector<std::int32_t> positions = {0, 1};
  REQUIRE(b.Rope(x, positions, inv_freq).ok());
  CheckClose(Values(b, x), {1, 2, 3, 4, -3, -2, 1, -4});

  Status bad = b.Rope(x, std::vector<std::int32_t>{0}, inv_freq);
  CHECK(bad.message() == "rope: 1 positions for x of shape [2, 1, 4]; need one per token");
}

TEST_CASE("SiluMul gates up by silu(gate), and Add adds elementwise") {
  CpuBackend b;
  // silu(0) = 0, silu(1) = 1 / (1 + e^-1) = 0.7310586, silu(-1) = -0.2689414.
  Tensor gate = Make(b, {0, 1, -1}, {1, 3});
  Tensor up = Make(b, {5, 2, 1}, {1, 3});
  auto act = b.SiluMul(gate, up);
  REQUIRE(act.ok());
  CheckClose(Values(b, *act), {0, 1.4621172f, -0.2689414f});

  auto sum = b.Add(gate, up);
  REQUIRE(sum.ok());
  CheckClose(Values(b, *sum), {5, 3, 0});

  auto bad = b.Add(gate, Make(b, {1, 2}, {1, 2}));
  CHECK(bad.status().message() == "add: a has shape [1, 3] but b has shape [1, 2]");
}

TEST_CASE("Embedding looks up rows by token id and refuses ids outside the vocabulary") {
  CpuBackend b;
  Tensor table = Make(b, {0, 0, 1, 1, 2, 2}, {3, 2});
  auto out = b.Embedding(table, std::vector<std::int32_t>{2, 0, 2});
  REQUIRE(out.ok());
  CHECK(out->shape() == Shape{3, 2});
  CheckClose(Values(b, *out), {2, 2, 0, 0, 2, 2});

  auto bad = b.Embedding(table, std::vector<std::int32_t>{1, 3});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "embedding: token id 3 at index 1 is outside the vocabulary [0, 3)");
}

TEST_CASE("GatherRows keeps the requested rows in the requested order") {
  CpuBackend b;
  Tensor x = Make(b, {0, 1, 10, 11, 20, 21}, {3, 2});
  auto out = b.GatherRows(x, std::vector<std::int32_t>{2, 0});
  REQUIRE(out.ok());
  CheckClose(Values(b, *out), {20, 21, 0, 1});
  CHECK(b.GatherRows(x, std::vector<std::int32_t>{3}).status().message() ==
        "gather_rows: row 3 is outside x of shape [3, 2]");
}

TEST_CASE("Allocate gives zeros and Upload checks the value count") {
  CpuBackend b;
  auto z = b.Allocate({2, 2});
  REQUIRE(z.ok());
  CHECK(Values(b, *z) == std::vector<float>{0, 0, 0, 0});
  auto bad = b.Upload(std::vector<float>{1, 2, 3}, {2, 2});
  CHECK(bad.status().message() == "upload: 3 values for shape [2, 2] (4 elements)");
}
