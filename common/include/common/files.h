// File helpers shared by every program. All return Status; none throw.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/status.h"

namespace cluster {

// The most ReadFile reads unless the caller says otherwise: enough for the
// largest file read whole (tokenizer.json, the agent binary), and a bound
// on what a file named by a user can make a program allocate.
inline constexpr std::uint64_t kMaxReadFileBytes = std::uint64_t{512} << 20;

// Reads a whole regular file of at most `max_bytes`. Anything else is
// refused at once, without reading or blocking: a folder, a FIFO (which
// would wait for a writer), a device such as /dev/zero (which never ends),
// a socket. Errors name the path: NotFound "PATH: no such file",
// PermissionDenied "PATH: cannot open: ...", InvalidArgument "PATH: is a
// folder, expected a file" / "PATH: is a FIFO, not a regular file" /
// "PATH: is larger than N bytes, the most read here".
StatusOr<std::string> ReadFile(const std::filesystem::path& path, std::uint64_t max_bytes = kMaxReadFileBytes);

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
