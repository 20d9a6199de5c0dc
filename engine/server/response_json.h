// JSON pieces both endpoints share: usage, finish reasons, logprob values.
// Server-internal.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "engine/server/response_format.h"

namespace engine::server {

// {"prompt_tokens", "completion_tokens", "total_tokens",
//  "prompt_tokens_details": {"cached_tokens"}}
nlohmann::json UsageJson(const Usage& usage);

// "stop" / "length", or null.
nlohmann::json FinishReasonJson(const std::optional<FinishReason>& reason);

// A log-probability as JSON: the float's shortest decimal, or -9999.0 for -inf (JSON
// has no infinities).
double LogprobValue(float logprob);

// Serialises with invalid UTF-8 replaced by U+FFFD (never throws).
std::string Dump(const nlohmann::json& value);

}  // namespace engine::server
