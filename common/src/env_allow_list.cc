#include "common/env_allow_list.h"

#include <string>

#include "common/untrusted_text.h"

namespace cluster {

Status CheckAllowedEnvName(std::string_view name) {
  bool syntax = !name.empty();
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    syntax = syntax && ((c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9'));
  }
  if (!syntax) {
    return InvalidArgumentError("'" + Excerpt(name) + "' is not an environment variable name (expected [A-Z_][A-Z0-9_]*)");
  }
  if (name == "VLLM_API_KEY") {
    return InvalidArgumentError(
        "'VLLM_API_KEY' may not be set by a request: the agent gives vLLM its own copy of the API key "
        "(runtime.api_key_file), which never travels over the network");
  }
  for (std::string_view prefix : kAllowedEnvPrefixes) {
    if (name.starts_with(prefix) && name.size() > prefix.size()) return Status::Ok();
  }
  for (std::string_view allowed_name : kAllowedEnvNames) {
    if (name == allowed_name) return Status::Ok();
  }
  std::string allowed;
  for (std::string_view prefix : kAllowedEnvPrefixes) allowed += (allowed.empty() ? "" : ", ") + std::string(prefix) + "*";
  for (std::string_view allowed_name : kAllowedEnvNames) allowed += ", " + std::string(allowed_name);
  return InvalidArgumentError("'" + std::string(name) + "' is not one of the variables a request may set (" + allowed +
                              "); the loader's (LD_*) and the like never are");
}

}  // namespace cluster
