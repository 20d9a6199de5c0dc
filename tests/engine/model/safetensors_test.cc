#include "engine/model/safetensors.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>

#include "engine/ops/float16.h"
#include "engine/model/safetensors_writer.h"
#include "tiny_model.h"

using namespace engine;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

std::string ReadBytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteBytes(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out << bytes;
}

// A file of just a header (no data).
std::string HeaderOnly(const std::string& header) {
  std::string out(8, '\0');
  const std::uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  return out + header;
}

}  // namespace

TEST_CASE("F16 and BF16 widen exactly and narrow to nearest, ties to even") {
  CHECK(HalfToFloat(0x3c00) == 1.0f);
  CHECK(HalfToFloat(0xc000) == -2.0f);
  CHECK(HalfToFloat(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
  CHECK(HalfToFloat(0x7bff) == 65504.0f);                // largest normal
  CHECK(std::isinf(HalfToFloat(0x7c00)));
  CHECK(FloatToHalf(1.0f) == 0x3c00);
  CHECK(FloatToHalf(65520.0f) == 0x7c00);  // rounds up to infinity
  CHECK(FloatToHalf(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);  // a tie: stays on the even 1.0
  CHECK(FloatToHalf(std::ldexp(1.0f, -24)) == 0x0001);
  CHECK(BFloat16ToFloat(0x3f80) == 1.0f);
  CHECK(FloatToBFloat16(1.0f) == 0x3f80);
  CHECK(FloatToBFloat16(1.0f + std::ldexp(1.0f, -8)) == 0x3f80);  // a tie: even
  CHECK(FloatToBFloat16(1.0f + 3 * std::ldexp(1.0f, -8)) == 0x3f82);  // a tie: up to even
}

TEST_CASE("A written safetensors file reads back as float32, whole or by rows or columns") {
  testing::TempDir dir;
  const auto path = dir.path() / "t.safetensors";
  // W = [[0, 1, 2], [3, 4, 5]] stored in each float dtype (all exactly representable).
  std::vector<float> w = {0, 1, 2, 3, 4, 5};
  REQUIRE(WriteSafetensors(path, {{"w32", DType::kF32, {2, 3}, w},
                                  {"w16", DType::kF16, {2, 3}, w},
                                  {"wbf", DType::kBF16, {2, 3}, w},
                                  {"bias", DType::kF32, {3}, {7, 8, 9}}})
              .ok());
  auto file = SafetensorsFile::Open(path);
  REQUIRE(file.ok());
  CHECK((*file)->tensors().size() == 4);
  for (const char* name : {"w32", "w16", "wbf"}) {
    INFO(name);
    const SafetensorsTensor* t = (*file)->Find(name);
    REQUIRE(t != nullptr);
    CHECK(t->shape == Shape{2, 3});
    CHECK(*(*file)->ReadRows(*t, 0, 2) == w);
    CHECK(*(*file)->ReadRows(*t, 1, 2) == std::vector<float>{3, 4, 5});
    CHECK(*(*file)->ReadColumns(*t, 1, 3) == std::vector<float>{1, 2, 4, 5});
  }
  CHECK(*(*file)->ReadRows(*(*file)->Find("bias"), 1, 3) == std::vector<float>{8, 9});
  CHECK((*file)->Find("missing") == nullptr);

  auto outside = (*file)->ReadRows(*(*file)->Find("w32"), 1, 3);
  CHECK(outside.status().message() == path.string() + ": tensor w32: rows [1, 3) are outside shape [2, 3]");
}

TEST_CASE("A truncated safetensors file is refused as data loss, naming the file and tensor") {
  testing::TempDir dir;
  const auto path = dir.path() / "model.safetensors";
  REQUIRE(WriteSafetensors(path, {{"a", DType::kF32, {4}, {1, 2, 3, 4}}, {"b", DType::kF32, {4}, {5, 6, 7, 8}}}).ok());
  std::string bytes = ReadBytes(path);
  WriteBytes(path, bytes.substr(0, bytes.size() - 4));  // lose the last float
  auto file = SafetensorsFile::Open(path);
  REQUIRE_FALSE(file.ok());
  CHECK(file.status().code() == cluster::StatusCode::kDataLoss);
  CHECK_THAT(file.status().message(), StartsWith(path.string() + ": tensor b: data ends at byte 32"));
  CHECK_THAT(file.status().message(), Contains("(truncated?)"));

  WriteBytes(path, bytes.substr(0, 20));  // cut inside the header
  auto cut = SafetensorsFile::Open(path);
  CHECK(cut.status().code() == cluster::StatusCode::kDataLoss);
  CHECK_THAT(cut.status().message(), Contains("(truncated?)"));
}

TEST_CASE("A corrupt safetensors header is refused as data loss") {
  testing::TempDir dir;
  const auto path = dir.path() / "x.safetensors";
  WriteBytes(path, HeaderOnly("{not json"));
  CHECK(SafetensorsFile::Open(path).status().message() == path.string() + ": header is not valid JSON (corrupt file?)");

  WriteBytes(path, HeaderOnly(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}})") + "12345678");
  CHECK(SafetensorsFile::Open(path).status().message() ==
        path.string() + ": tensor a: 4 bytes of data for F32 shape [2] (expected 8)");

  WriteBytes(path, std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8));
  CHECK_THAT(SafetensorsFile::Open(path).status().message(), Contains("is implausible; not a safetensors file"));

  WriteBytes(path, "abc");
  CHECK_THAT(SafetensorsFile::Open(path).status().message(), Contains("too short for a safetensors header"));

  CHECK(SafetensorsFile::Open(dir.path() / "absent.safetensors").status().code() == cluster::StatusCode::kNotFound);
}

TEST_CASE("Tensors of a dtype the engine cannot read are listed but fail to read") {
  testing::TempDir dir;
  const auto path = dir.path() / "x.safetensors";
  WriteBytes(path, HeaderOnly(R"({"__metadata__": {"format": "pt"},
                                  "ids": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}})") +
                       std::string(8, '\0'));
  auto file = SafetensorsFile::Open(path);
  REQUIRE(file.ok());
  const SafetensorsTensor* t = (*file)->Find("ids");
  REQUIRE(t != nullptr);
  CHECK((*file)->ReadRows(*t, 0, 1).status().message() ==
        path.string() + ": tensor ids: dtype I64 is not supported (supported: F32, F16, BF16)");
}
