// How validate, plan and every later command that loads an inventory show its
// diagnostics: one line each on stderr, or the same objects in --json.
#pragma once

#include <nlohmann/json.hpp>

#include "common/inventory/loader.h"

namespace cluster::cli {

// {"file", "line", "column", "key", "message", "hint"}: the stable JSON shape of one diagnostic.
nlohmann::ordered_json DiagnosticJson(const inventory::Diagnostic& d);

// {"ok": <loaded without errors>, "file": FILE, "errors": [...], "warnings": [...]}
nlohmann::ordered_json LoadResultJson(const std::string& file, const inventory::LoadResult& result);

// Writes every diagnostic to stderr, one line each, in file order.
void PrintDiagnostics(const inventory::LoadResult& result);

}  // namespace cluster::cli
