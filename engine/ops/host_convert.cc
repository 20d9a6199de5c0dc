#include "engine/ops/host_convert.h"

#include <cmath>
#include <cstring>
#include <limits>

#include "engine/ops/float16.h"

namespace engine {
namespace {

constexpr float kHalfMax = 65504.0f;

float LoadFloat(DType dtype, const unsigned char* p) {
  switch (dtype) {
    case DType::kF32: {
      float v;
      std::memcpy(&v, p, sizeof v);
      return v;
    }
    case DType::kF16:
    case DType::kBF16: {
      std::uint16_t bits;
      std::memcpy(&bits, p, sizeof bits);
      return dtype == DType::kF16 ? HalfToFloat(bits) : BFloat16ToFloat(bits);
    }
    case DType::kI32: break;
  }
  return 0;
}

// The largest finite value of `dtype`, for saturation.
float LargestFinite(DType dtype) {
  switch (dtype) {
    case DType::kF16: return kHalfMax;
    case DType::kBF16: return 0x1.fep127f;  // (2 - 2^-7) * 2^127
    default: return std::numeric_limits<float>::max();
  }
}

}  // namespace

void ConversionReport::Merge(const ConversionReport& other) {
  out_of_range += other.out_of_range;
  if (other.largest_magnitude > largest_magnitude || std::isnan(other.largest_magnitude)) {
    largest_magnitude = other.largest_magnitude;
  }
}

bool CanConvert(DType from, DType to) { return (from == DType::kI32) == (to == DType::kI32); }

ConversionReport ConvertHostMatrix(const HostMatrix& src, DType to, void* dst) {
  ConversionReport report;
  const std::size_t in_size = DTypeSize(src.dtype), out_size = DTypeSize(to);
  auto* out = static_cast<unsigned char*>(dst);
  if (src.dtype == to) {  // a plain copy, row by row
    for (std::int64_t r = 0; r < src.rows; ++r) {
      std::memcpy(out + static_cast<std::size_t>(r * src.cols) * out_size, src.row(r),
                  static_cast<std::size_t>(src.cols) * in_size);
    }
    if (to == DType::kF32 || to == DType::kI32) return report;
    // Same 16-bit dtype: nothing can fall out of range, but NaN is still reported.
  }
  const float limit = LargestFinite(to);
  for (std::int64_t r = 0; r < src.rows; ++r) {
    const unsigned char* in = src.row(r);
    unsigned char* o = out + static_cast<std::size_t>(r * src.cols) * out_size;
    for (std::int64_t c = 0; c < src.cols; ++c) {
      float v = LoadFloat(src.dtype, in + static_cast<std::size_t>(c) * in_size);
      const float magnitude = std::fabs(v);
      if (!(magnitude <= limit)) {  // beyond the range, or NaN
        ++report.out_of_range;
        if (magnitude > report.largest_magnitude || std::isnan(magnitude)) report.largest_magnitude = magnitude;
        if (!std::isnan(v)) v = std::copysign(limit, v);
      }
      if (src.dtype == to) continue;  // already copied
      switch (to) {
        case DType::kF32: std::memcpy(o + c * 4, &v, 4); break;
        case DType::kF16: {
          const std::uint16_t bits = FloatToHalf(v);
          std::memcpy(o + c * 2, &bits, 2);
          break;
        }
        case DType::kBF16: {
          const std::uint16_t bits = FloatToBFloat16(v);
          std::memcpy(o + c * 2, &bits, 2);
          break;
        }
        case DType::kI32: break;
      }
    }
  }
  return report;
}

}  // namespace engine
