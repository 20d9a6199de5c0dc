// Diagnostic and LoadResult of loader.h: how a problem reads to the user.
#include <algorithm>

#include <fmt/format.h>

#include "common/inventory/loader.h"
#include "common/untrusted_text.h"

namespace cluster::inventory {

std::string Diagnostic::ToString() const {
  std::string out;
  if (!location.file.empty()) {
    out += location.file;
    if (location.line > 0) out += fmt::format(":{}", location.line);
    if (location.line > 0 && location.column > 0) out += fmt::format(":{}", location.column);
    out += ": ";
  }
  out += severity == Severity::kError ? "error: " : "warning: ";
  if (!key_path.empty()) out += key_path + ": ";
  out += message;
  if (!hint.empty()) out += " (" + hint + ")";
  // Keys and values quoted from the file may hold terminal escapes.
  return PrintableText(out);
}

int LoadResult::error_count() const {
  return static_cast<int>(std::count_if(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& d) {
    return d.severity == Diagnostic::Severity::kError;
  }));
}

int LoadResult::warning_count() const {
  return static_cast<int>(diagnostics.size()) - error_count();
}

}  // namespace cluster::inventory
