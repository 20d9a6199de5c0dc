// Artifacts on this machine: names are unique, and the files and folders
// that `push` will send exist. Whether a missing one is an error or a
// warning is LoadOptions::require_artifacts' choice (plan may run before the
// model is copied to the operator's box).
#include <filesystem>
#include <map>
#include <system_error>

#include <fmt/format.h>

#include "checks.h"

namespace cluster::inventory {
namespace {

namespace fs = std::filesystem;

enum class Want { kFile, kFolder };

// Reports `path` (the value at `key`) when it is missing or of the wrong kind.
// `what` says what it should be, e.g. "a tarball made by docker save".
void CheckExists(const fs::path& path, const std::string& key, Want want, std::string_view what,
                 LoadContext* ctx) {
  if (path.empty() || ctx->Failed(key)) return;
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  std::string message;
  const bool missing = !fs::exists(st);
  if (missing) {
    message = fmt::format("{} {} does not exist", want == Want::kFile ? "file" : "folder", path.string());
  } else if (want == Want::kFile && fs::is_directory(st)) {
    message = fmt::format("{} is a folder, expected {}", path.string(), what);
  } else if (want == Want::kFolder && !fs::is_directory(st)) {
    message = fmt::format("{} is a file, expected {}", path.string(), what);
  } else {
    return;
  }
  // Say how a relative path was resolved: the usual surprise.
  const std::string text = ctx->locations().Text(key);
  std::string hint;
  if (!text.empty() && text.front() != '/' && text.front() != '~') {
    hint = fmt::format("\"{}\" is relative to the inventory's folder {}", text, ctx->base_dir().string());
  }
  const SourceLocation at = ctx->locations().Value(key);
  if (ctx->options().require_artifacts) {
    // Often the artifact is simply not copied here yet: say how to check the rest meanwhile.
    if (missing) {
      hint += fmt::format("{}copy it to this machine, or check the rest with `clusterctl validate --skip-artifacts`",
                          hint.empty() ? "" : "; ");
    }
    ctx->Error(at, key, message, hint);
  } else {
    ctx->Warning(at, key, message, hint);
  }
}

// Reports the second and later entries of `list_path` with a name seen before.
template <typename T>
void CheckUniqueNames(const std::vector<T>& items, std::string_view list_path, std::string_view what,
                      LoadContext* ctx) {
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string key = fmt::format("{}[{}].name", list_path, i);
    if (items[i].name.empty() || ctx->Failed(key)) continue;
    auto [first, inserted] = seen.emplace(items[i].name, i);
    if (inserted) continue;
    ctx->Error(ctx->locations().Value(key), key,
               fmt::format("duplicate {} name \"{}\": {}[{}] at line {} has it too", what, items[i].name,
                           list_path, first->second,
                           ctx->locations().Value(fmt::format("{}[{}]", list_path, first->second)).line),
               fmt::format("give each {} its own name", what));
  }
}

}  // namespace

void CheckArtifacts(const Inventory& inventory, LoadContext* ctx) {
  CheckUniqueNames(inventory.images, "artifacts.images", "image", ctx);
  CheckUniqueNames(inventory.models, "artifacts.models", "model", ctx);
  for (std::size_t i = 0; i < inventory.images.size(); ++i) {
    CheckExists(inventory.images[i].file, fmt::format("artifacts.images[{}].file", i), Want::kFile,
                "a tarball made by docker save", ctx);
  }
  for (std::size_t i = 0; i < inventory.models.size(); ++i) {
    CheckExists(inventory.models[i].source, fmt::format("artifacts.models[{}].source", i), Want::kFolder,
                "a folder with the model in HF format", ctx);
  }
  if (inventory.runtime.api_key_file) {
    CheckExists(*inventory.runtime.api_key_file, "runtime.api_key_file", Want::kFile, "a file with the API key",
                ctx);
  }
}

}  // namespace cluster::inventory
