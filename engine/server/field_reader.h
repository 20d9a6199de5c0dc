// FieldReader: typed reading of a JSON request object's fields with
// OpenAI-style errors that name the field.
//
//   FieldReader r(body);
//   r.Number("temperature", {0, 2}, &fields.temperature);
//   r.Integer("n", {1, 16}, &fields.n);
//   if (r.error()) return *r.error();
//
// A field that is absent or null leaves the output untouched (nullopt). A
// field of the wrong type or out of range records an ApiError (400, `param`
// the field) and later reads do nothing, so a request gets the first error in
// reading order. Errors read:
//   Invalid type for 'temperature': expected a number, but got a string instead.
//   Invalid 'temperature': must be between 0 and 2, got 3.5.
//   Missing required parameter: 'model'.
// Server-internal (JSON stays in engine/server).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/server/api_error.h"

namespace engine::server {

// A closed range [min, max] (open at min when min_exclusive).
struct NumberRange {
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  bool min_exclusive = false;
};
struct IntegerRange {
  std::int64_t min = std::numeric_limits<std::int64_t>::min();
  std::int64_t max = std::numeric_limits<std::int64_t>::max();
};

// The JSON type of `value` in OpenAI's words ("a string", "an array", "null", ...).
std::string JsonTypeName(const nlohmann::json& value);

class FieldReader {
 public:
  // `object` must outlive the reader. `prefix` is prepended to field names in
  // errors (e.g. "messages[2]." or "stream_options.").
  explicit FieldReader(const nlohmann::json& object, std::string prefix = "");

  void String(std::string_view name, std::optional<std::string>* out);
  void Bool(std::string_view name, std::optional<bool>* out);
  void Number(std::string_view name, NumberRange range, std::optional<double>* out);
  void Integer(std::string_view name, IntegerRange range, std::optional<std::int64_t>* out);
  // A string or a list of at most `max_items` strings (e.g. "stop"); empty
  // strings are refused.
  void StringOrList(std::string_view name, std::size_t max_items, std::vector<std::string>* out);
  // An object field; null when absent or null, else the object (or an error
  // if it is not an object).
  const nlohmann::json* Object(std::string_view name);
  // Records "Missing required parameter" unless the field is present and not null.
  bool Require(std::string_view name);
  // Records an error for a field this server does not implement when it is
  // present and not `harmless` (e.g. echo: false is harmless, true is not).
  void Unsupported(std::string_view name, const nlohmann::json& harmless, std::string_view why);

  // Records `error` unless one is recorded already.
  void Fail(ApiError error);
  const std::optional<ApiError>& error() const { return error_; }
  // The field name as errors spell it (prefix + name).
  std::string Param(std::string_view name) const { return prefix_ + std::string(name); }

  // The field, or null if absent, null, or an error was recorded earlier.
  const nlohmann::json* Field(std::string_view name) const;

 private:
  void WrongType(std::string_view name, std::string_view expected, const nlohmann::json& got);

  const nlohmann::json& object_;
  std::string prefix_;
  std::optional<ApiError> error_;
};

}  // namespace engine::server
