// DType: the element types of tensors. Its own header so that CUDA kernels
// can name a dtype without the rest of the engine's vocabulary.
#pragma once

#include <cstdint>

namespace engine {

enum class DType : std::uint8_t {
  kF32,
  kF16,
  kBF16,
  kI32,
};

}  // namespace engine
