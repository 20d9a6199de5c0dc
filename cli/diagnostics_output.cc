#include "cli/diagnostics_output.h"

#include <iostream>

namespace cluster::cli {

using inventory::Diagnostic;

nlohmann::ordered_json DiagnosticJson(const Diagnostic& d) {
  return {{"file", d.location.file}, {"line", d.location.line}, {"column", d.location.column},
          {"key", d.key_path},       {"message", d.message},    {"hint", d.hint}};
}

nlohmann::ordered_json LoadResultJson(const std::string& file, const inventory::LoadResult& result) {
  nlohmann::ordered_json out = {{"ok", result.ok()},
                        {"file", file},
                        {"errors", nlohmann::ordered_json::array()},
                        {"warnings", nlohmann::ordered_json::array()}};
  for (const Diagnostic& d : result.diagnostics) {
    out[d.severity == Diagnostic::Severity::kError ? "errors" : "warnings"].push_back(DiagnosticJson(d));
  }
  return out;
}

void PrintDiagnostics(const inventory::LoadResult& result) {
  for (const Diagnostic& d : result.diagnostics) std::cerr << d.ToString() << "\n";
}

}  // namespace cluster::cli
