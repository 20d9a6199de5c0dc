#include "load_context.h"

#include <algorithm>

#include "common/inventory/runtime_definition.h"

namespace cluster::inventory {
namespace {

// True when `outer` is `inner` or encloses it ("hosts" encloses "hosts[1].gpus").
// File-level diagnostics (an empty key path) enclose nothing: the loader stops
// reading on those itself.
bool Encloses(std::string_view outer, std::string_view inner) {
  if (outer.empty()) return inner.empty();
  if (!inner.starts_with(outer)) return false;
  if (inner.size() == outer.size()) return true;
  const char next = inner[outer.size()];
  return next == '.' || next == '[';
}

}  // namespace

std::string_view ParentKeyPath(std::string_view path) {
  const std::size_t cut = path.find_last_of(".[");
  return cut == std::string_view::npos ? std::string_view() : path.substr(0, cut);
}

void Locations::Record(std::string path, Entry entry) {
  entries_.emplace(std::move(path), std::move(entry));  // the first wins, as for duplicate keys
}

bool Locations::Has(std::string_view path) const { return entries_.find(path) != entries_.end(); }

const Locations::Entry* Locations::Find(std::string_view path) const {
  while (true) {
    auto it = entries_.find(path);
    if (it != entries_.end()) return &it->second;
    if (path.empty()) return nullptr;
    path = ParentKeyPath(path);
  }
}

SourceLocation Locations::Value(std::string_view path) const {
  const Entry* e = Find(path);
  return e ? e->value : SourceLocation{};
}

SourceLocation Locations::Key(std::string_view path) const {
  const Entry* e = Find(path);
  return e ? e->key : SourceLocation{};
}

std::string Locations::Text(std::string_view path) const {
  auto it = entries_.find(path);
  return it != entries_.end() ? it->second.text : std::string();
}

LoadContext::LoadContext(std::string display_file, std::filesystem::path base_dir, LoadOptions options)
    : display_file_(std::move(display_file)), base_dir_(std::move(base_dir)), options_(options) {}

SourceLocation LoadContext::At(int line, int column) const {
  return SourceLocation{display_file_, line, column};
}

void LoadContext::Error(SourceLocation at, std::string key_path, std::string message, std::string hint) {
  Add(Diagnostic{Diagnostic::Severity::kError, std::move(at), std::move(key_path), std::move(message),
                 std::move(hint)});
}

void LoadContext::Warning(SourceLocation at, std::string key_path, std::string message, std::string hint) {
  Add(Diagnostic{Diagnostic::Severity::kWarning, std::move(at), std::move(key_path), std::move(message),
                 std::move(hint)});
}

void LoadContext::Add(Diagnostic diagnostic) {
  if (diagnostic.location.file.empty()) diagnostic.location.file = display_file_;
  diagnostics_.push_back(std::move(diagnostic));
}

void LoadContext::MarkFailed(std::string key_path) { failed_paths_.push_back(std::move(key_path)); }

bool LoadContext::Failed(std::string_view key_path) const {
  for (const std::string& p : failed_paths_) {
    if (Encloses(p, key_path) || Encloses(key_path, p)) return true;
  }
  for (const Diagnostic& d : diagnostics_) {
    if (d.severity != Diagnostic::Severity::kError) continue;
    if (Encloses(d.key_path, key_path) || Encloses(key_path, d.key_path)) return true;
  }
  return false;
}

bool LoadContext::FailedAt(std::string_view key_path) const {
  for (const std::string& p : failed_paths_) {
    if (Encloses(p, key_path)) return true;
  }
  for (const Diagnostic& d : diagnostics_) {
    if (d.severity == Diagnostic::Severity::kError && Encloses(d.key_path, key_path)) return true;
  }
  return false;
}

int LoadContext::error_count() const {
  return static_cast<int>(std::count_if(diagnostics_.begin(), diagnostics_.end(), [](const Diagnostic& d) {
    return d.severity == Diagnostic::Severity::kError;
  }));
}

std::vector<Diagnostic> LoadContext::TakeDiagnostics() {
  std::stable_sort(diagnostics_.begin(), diagnostics_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.location.line != b.location.line) return a.location.line < b.location.line;
    return a.location.column < b.location.column;
  });
  return std::move(diagnostics_);
}

const RuntimeDefinitions& LoadContext::runtimes() const {
  return options_.runtimes ? *options_.runtimes : BuiltinRuntimeDefinitions();
}

}  // namespace cluster::inventory
