// Writing a .safetensors file (the format is described in safetensors.h).
//
// For tests that synthesise small models, and for debug dumps of named
// intermediates to compare with a PyTorch run layer by layer. Values are
// given as float32 and stored in the entry's dtype (F32, F16 or BF16, rounded
// to nearest even). The header is padded with spaces to a multiple of 8 bytes
// so the data section is aligned, as the reference writer does.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "engine/status.h"
#include "engine/tensor.h"

namespace engine {

struct SafetensorsEntry {
  std::string name;
  DType dtype = DType::kF32;  // kF32, kF16 or kBF16
  Shape shape;
  std::vector<float> values;  // NumElements(shape) values, row-major
};

// Writes `entries` to `path` atomically. InvalidArgument if an entry's value
// count does not match its shape, its dtype is not a float dtype, or two
// entries share a name.
Status WriteSafetensors(const std::filesystem::path& path, const std::vector<SafetensorsEntry>& entries);

}  // namespace engine
