#include "engine/server/field_reader.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

namespace engine::server {
namespace {

// Shortest decimal that reads back as `v` ("0.5", "3", "1e+300").
std::string FormatNumber(double v) {
  std::string text;
  for (int precision = 1; precision <= 17; ++precision) {
    std::ostringstream out;
    out.precision(precision);
    out << v;
    text = out.str();
    if (std::strtod(text.c_str(), nullptr) == v) break;
  }
  return text;
}

}  // namespace

std::string JsonTypeName(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return "an integer";
    case nlohmann::json::value_t::number_float: return "a decimal number";
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::array: return "an array";
    default: return "an unsupported value";
  }
}

FieldReader::FieldReader(const nlohmann::json& object, std::string prefix)
    : object_(object), prefix_(std::move(prefix)) {}

const nlohmann::json* FieldReader::Field(std::string_view name) const {
  if (error_ || !object_.is_object()) return nullptr;
  auto it = object_.find(name);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

void FieldReader::Fail(ApiError error) {
  if (!error_) error_ = std::move(error);
}

void FieldReader::WrongType(std::string_view name, std::string_view expected, const nlohmann::json& got) {
  Fail(InvalidRequest("Invalid type for '" + Param(name) + "': expected " + std::string(expected) + ", but got " +
                          JsonTypeName(got) + " instead.",
                      Param(name), "invalid_type"));
}

void FieldReader::String(std::string_view name, std::optional<std::string>* out) {
  const nlohmann::json* f = Field(name);
  if (f == nullptr) return;
  if (!f->is_string()) return WrongType(name, "a string", *f);
  *out = f->get<std::string>();
}

void FieldReader::Bool(std::string_view name, std::optional<bool>* out) {
  const nlohmann::json* f = Field(name);
  if (f == nullptr) return;
  if (!f->is_boolean()) return WrongType(name, "a boolean", *f);
  *out = f->get<bool>();
}

void FieldReader::Number(std::string_view name, NumberRange range, std::optional<double>* out) {
  const nlohmann::json* f = Field(name);
  if (f == nullptr) return;
  if (!f->is_number()) return WrongType(name, "a number", *f);
  const double v = f->get<double>();
  const bool below = range.min_exclusive ? !(v > range.min) : !(v >= range.min);
  if (below || !(v <= range.max) || !std::isfinite(v)) {
    std::string bounds;
    if (std::isinf(range.max)) {
      bounds = std::string(range.min_exclusive ? "greater than " : "at least ") + FormatNumber(range.min);
    } else if (std::isinf(range.min)) {
      bounds = "at most " + FormatNumber(range.max);
    } else {
      bounds = "between " + FormatNumber(range.min) + (range.min_exclusive ? " (exclusive)" : "") + " and " +
               FormatNumber(range.max);
    }
    return Fail(InvalidRequest("Invalid '" + Param(name) + "': must be " + bounds + ", got " + FormatNumber(v) + ".",
                               Param(name)));
  }
  *out = v;
}

void FieldReader::Integer(std::string_view name, IntegerRange range, std::optional<std::int64_t>* out) {
  const nlohmann::json* f = Field(name);
  if (f == nullptr) return;
  if (!f->is_number_integer()) return WrongType(name, "an integer", *f);
  std::int64_t v = 0;
  bool in_range = true;
  if (f->is_number_unsigned()) {
    const auto u = f->get<std::uint64_t>();
    in_range = u <= static_cast<std::uint64_t>(range.max);
    v = in_range ? static_cast<std::int64_t>(u) : range.max;
  } else {
    v = f->get<std::int64_t>();
  }
  if (!in_range || v < range.min || v > range.max) {
    std::string bounds;
    if (range.max == std::numeric_limits<std::int64_t>::max()) {
      bounds = "at least " + std::to_string(range.min);
    } else {
      bounds = "between " + std::to_string(range.min) + " and " + std::to_string(range.max);
    }
    return Fail(InvalidRequest("Invalid '" + Param(name) + "': must be " + bounds + ", got " + f->dump() + ".",
                               Param(name)));
  }
  *out = v;
}

void FieldReader::StringOrList(std::string_view name, std::size_t max_items, std::vector<std::string>* out) {
  const nlohmann::json* f = Field(name);
  if (f == nullptr) return;
  std::vector<std::string> items;
  if (f->is_string()) {
    items.push_back(f->get<std::string>());
  } else if (f->is_array()) {
    for (std::size_t i = 0; i < f->size(); ++i) {
      const nlohmann::json& item = (*f)[i];
      if (!item.is_string()) {
        return WrongType(std::string(name) + "[" + std::to_string(i) + "]", "a string", item);
      }
      items.push_back(item.get<std::string>());
    }
    if (items.size() > max_items) {
      return Fail(InvalidRequest("Invalid '" + Param(name) + "': at most " + std::to_string(max_items) +
                                     " strings are allowed, got " + std::to_string(items.size()) + ".",
                                 Param(name)));
    }
  } else {
    return WrongType(name, "a string or an array of strings", *f);
  }
  for (const std::string& s : items) {
    if (s.empty()) {
      return Fail(InvalidRequest("Invalid '" + Param(name) + "': empty strings are not allowed.", Param(name)));
    }
  }
  *out = std::move(items);
}

const nlohmann::json* FieldReader::Object(std::string_view name) {
  const nlohmann::json* f = Field(name);
  if (f == nullptr) return nullptr;
  if (!f->is_object()) {
    WrongType(name, "an object", *f);
    return nullptr;
  }
  return f;
}

bool FieldReader::Require(std::string_view name) {
  if (error_) return false;
  if (Field(name) != nullptr) return true;
  Fail(InvalidRequest("Missing required parameter: '" + Param(name) + "'.", Param(name),
                      "missing_required_parameter"));
  return false;
}

void FieldReader::Unsupported(std::string_view name, const nlohmann::json& harmless, std::string_view why) {
  const nlohmann::json* f = Field(name);
  if (f == nullptr || *f == harmless) return;
  Fail(InvalidRequest("'" + Param(name) + "' is not supported by this server: " + std::string(why) + ".",
                      Param(name), "unsupported_parameter"));
}

}  // namespace engine::server
