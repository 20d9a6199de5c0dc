// 16-bit float formats <-> float32, bit-exact.
//
//   F16 (IEEE binary16):  1 sign, 5 exponent (bias 15), 10 mantissa bits
//   BF16 (bfloat16):      1 sign, 8 exponent (bias 127), 7 mantissa bits: the
//                         top half of a float32
// Widening is exact (every F16/BF16 value is a float32). Narrowing rounds to
// nearest, ties to even, as PyTorch's .to(torch.float16 / torch.bfloat16)
// does; overflow gives infinity, NaN stays NaN.
#pragma once

#include <cstdint>

namespace engine {

float HalfToFloat(std::uint16_t bits);
float BFloat16ToFloat(std::uint16_t bits);
std::uint16_t FloatToHalf(float value);
std::uint16_t FloatToBFloat16(float value);

}  // namespace engine
