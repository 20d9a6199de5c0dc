#include "cli/command.h"

#include <iostream>

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

int ReportError(const Status& status, const GlobalOptions& global) {
  if (global.json) {
    nlohmann::json out = {{"ok", false},
                          {"error", {{"code", std::string(StatusCodeName(status.code()))},
                                     {"message", status.message()}}}};
    std::cout << JsonText(out, 2) << "\n";
  } else {
    std::cerr << "error: " << PrintableText(status.message()) << "\n";
  }
  return ExitCodeFor(status);
}

}  // namespace cluster::cli
