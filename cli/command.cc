#include "cli/command.h"

#include <iostream>
#include <nlohmann/json.hpp>

namespace cluster::cli {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return kExitOk;
    case StatusCode::kInvalidArgument: return kExitUsageError;
    default: return kExitFailure;
  }
}

int ReportError(const Status& status, const GlobalOptions& global) {
  if (global.json) {
    nlohmann::json out = {{"ok", false},
                          {"error", {{"code", std::string(StatusCodeName(status.code()))},
                                     {"message", status.message()}}}};
    std::cout << out.dump(2) << "\n";
  } else {
    std::cerr << "error: " << status.message() << "\n";
  }
  return ExitCodeFor(status);
}

}  // namespace cluster::cli
