// Loading an inventory file: YAML parsing, schema checks (types, unknown keys
// with "did you mean" suggestions), defaults, path resolution, and semantic
// checks. Every problem of a file is reported in one run, not just the first.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/inventory/inventory.h"

namespace cluster::inventory {

class RuntimeDefinitions;  // runtime_definition.h

// One problem found in an inventory, with where it is and how to fix it.
struct Diagnostic {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  SourceLocation location;  // FILE:LINE:COL of the offending value (or key)
  std::string key_path;     // e.g. "runtime.pipeline_parallel" or "hosts[2].address"
  std::string message;      // what was expected and what was found
  std::string hint;         // what to do, e.g. "did you mean pipeline_parallel?"; may be empty

  // "FILE:LINE:COL: error: KEY_PATH: MESSAGE (HINT)" -- the one format users
  // see, made printable (untrusted_text.h): text quoted from the file cannot
  // drive the terminal.
  std::string ToString() const;
};

struct LoadResult {
  // Present when the file parsed and has no errors (warnings allowed).
  std::optional<Inventory> inventory;
  std::vector<Diagnostic> diagnostics;  // errors and warnings, in file order

  bool ok() const { return inventory.has_value(); }
  int error_count() const;
  int warning_count() const;
};

struct LoadOptions {
  // When true, artifact files and folders that do not exist are errors (what
  // `validate` and `push` need). When false they are warnings: `plan` runs on
  // an operator's box that may not hold the 141 GB model yet.
  bool require_artifacts = true;
  // False when the engine this clusterctl installs was built without CUDA:
  // then engine.device cuda is an error (common/build_info.h says which).
  bool engine_has_cuda = true;
  // The runtimes runtime.kind may name (runtime_definition.h); null: the
  // built-in ones. REQUIRES: outlives the load.
  const RuntimeDefinitions* runtimes = nullptr;
};

// The largest inventory file read (1 MiB): a real one is a few KiB.
inline constexpr std::uint64_t kMaxInventoryBytes = std::uint64_t{1} << 20;

// Reads, parses and validates `file` (a regular file of at most
// kMaxInventoryBytes: a FIFO or a device is an error, never waited on). Never throws.
LoadResult LoadInventory(const std::filesystem::path& file, const LoadOptions& options = {});

// Same, from text; `file` is used for messages and to resolve relative paths.
LoadResult LoadInventoryFromString(const std::string& yaml_text, const std::filesystem::path& file,
                                   const LoadOptions& options = {});

}  // namespace cluster::inventory
