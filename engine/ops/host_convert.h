// Converting host arrays between the float dtypes (F32, F16, BF16), the way
// every backend's CopyFromHost must: widening is exact; narrowing rounds to
// nearest even, and a value beyond the destination's largest finite value is
// saturated to it and counted (ConversionReport), never turned into infinity.
// NaN stays NaN and is counted. F32 to F32 and I32 to I32 are plain copies,
// not inspected.
#pragma once

#include "engine/ops/backend.h"

namespace engine {

// True if ConvertHostMatrix can turn `from` into `to`.
bool CanConvert(DType from, DType to);

// Writes src's rows*cols elements, converted to `to`, densely (row-major) at `dst`.
// REQUIRES: CanConvert(src.dtype, to).
ConversionReport ConvertHostMatrix(const HostMatrix& src, DType to, void* dst);

}  // namespace engine
