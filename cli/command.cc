#include "cli/command.h"

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "common/untrusted_text.h"

namespace cluster::cli {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return kExitOk;
    case StatusCode::kInvalidArgument: return kExitUsageError;
    default: return kExitFailure;
  }
}

std::string JsonText(const nlohmann::json& json, int indent) {
  return json.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string JsonText(const nlohmann::ordered_json& json, int indent) {
  return json.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

void PrintJson(const nlohmann::ordered_json& doc) { std::cout << JsonText(doc) << std::endl; }

void PrintJson(const nlohmann::json& doc) { std::cout << JsonText(doc) << std::endl; }

int JsonLinesRequired(const std::string& command_line) {
  std::cerr << "error: " << command_line << " prints one JSON object per event: use --json-lines, not --json\n";
  return kExitUsageError;
}

void AddInventoryOption(CLI::App* cmd, std::string& file) {
  cmd->add_option("-f,--file", file, "Inventory file (YAML); default $CLUSTERCTL_FILE, else ./cluster.yaml")
      ->type_name("FILE");
}

StatusOr<std::string> InventoryFile(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("CLUSTERCTL_FILE"); env && *env) return std::string(env);
  std::error_code ec;
  if (std::filesystem::exists("cluster.yaml", ec)) return std::string("cluster.yaml");
  return InvalidArgumentError(
      "no inventory: pass -f FILE, set CLUSTERCTL_FILE=FILE, or run clusterctl in a folder that has cluster.yaml");
}

std::string GlobalFlagsHelp(const std::string& json, const std::string& json_lines, const std::string& verbose) {
  std::string text = "Global flags (before or after the command):\n";
  text += fmt::format("  --json        {}\n", json);
  if (!json_lines.empty()) text += fmt::format("  --json-lines  {}\n", json_lines);
  if (!verbose.empty()) text += fmt::format("  -v, -vv       {}\n", verbose);
  text.pop_back();
  return text;
}

int ReportError(const Status& status, const GlobalOptions& global) {
  if (global.json) {
    const nlohmann::ordered_json out = {
        {"ok", false},
        {"error", {{"code", std::string(StatusCodeName(status.code()))}, {"message", status.message()}}}};
    PrintJson(out);
  } else {
    std::cerr << "error: " << PrintableText(status.message()) << "\n";
  }
  return ExitCodeFor(status);
}

}  // namespace cluster::cli
