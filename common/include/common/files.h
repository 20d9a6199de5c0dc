// File helpers shared by every program. All return Status; none throw.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cluster {

// Reads a whole file. NotFound if it does not exist; the message names the path.
StatusOr<std::string> ReadFile(const std::filesystem::path& path);

// Writes `contents` to `path` so that readers see either the old file or the
// whole new one, never a half-written file: writes a temporary file in the
// same folder, fsyncs it, then renames it over `path`. `mode` applies to the
// new file (use 0600 for secrets).
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view contents,
                           unsigned mode = 0644);

// Resolves `path` against `base_dir` unless it is absolute; expands a leading
// "~/" with $HOME. The result is lexically normalised.
std::filesystem::path ResolvePath(std::string_view path, const std::filesystem::path& base_dir);

}  // namespace cluster
