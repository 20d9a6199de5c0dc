// The engine uses the project's one error type (common/status.h) under its
// own namespace, so engine code reads `Status` and `StatusOr<T>`.
#pragma once

#include "common/status.h"

namespace engine {
using ::cluster::Status;
using ::cluster::StatusCode;
using ::cluster::StatusOr;
}  // namespace engine
