#include "engine/chat/json.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>

#include "engine/chat/text.h"

namespace engine::jinja {
namespace {

using cluster::StatusOr;
using Json = nlohmann::ordered_json;

constexpr int kMaxDepth = 512;

StatusOr<Value> FromJson(const Json& j, int depth) {
  if (depth > kMaxDepth) return cluster::InvalidArgumentError("JSON nested deeper than 512 levels");
  switch (j.type()) {
    case Json::value_t::null: return Value::None();
    case Json::value_t::boolean: return Value::Bool(j.get<bool>());
    case Json::value_t::number_integer: return Value::Int(j.get<int64_t>());
    case Json::value_t::number_unsigned: {
      const auto u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return cluster::UnimplementedError("JSON integer " + std::to_string(u) + " does not fit in 64 bits");
      }
      return Value::Int(static_cast<int64_t>(u));
    }
    case Json::value_t::number_float: return Value::Float(j.get<double>());
    case Json::value_t::string: return Value::String(j.get<std::string>());
    case Json::value_t::array: {
      List items;
      items.reserve(j.size());
      for (const Json& item : j) {
        CLUSTER_ASSIGN_OR_RETURN(Value v, FromJson(item, depth + 1));
        items.push_back(std::move(v));
      }
      return Value::MakeList(std::move(items));
    }
    case Json::value_t::object: {
      Dict dict;
      for (const auto& [key, item] : j.items()) {
        CLUSTER_ASSIGN_OR_RETURN(Value v, FromJson(item, depth + 1));
        dict.Set(key, std::move(v));
      }
      return Value::MakeDict(std::move(dict));
    }
    default:
      return cluster::InvalidArgumentError("unsupported JSON value (binary or discarded)");
  }
}

// Python's json string encoder (py_encode_basestring[_ascii]).
void AppendJsonString(std::string& out, const std::string& s, bool ensure_ascii) {
  out.push_back('"');
  char buf[16];
  for (char32_t c : text::Decode(s)) {
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      default: break;
    }
    if (c < 0x20 || (ensure_ascii && c >= 0x7F)) {
      if (c >= 0x10000) {
        const char32_t v = c - 0x10000;
        std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", static_cast<unsigned>(0xD800 | (v >> 10)),
                      static_cast<unsigned>(0xDC00 | (v & 0x3FF)));
      } else {
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      }
      out += buf;
    } else {
      text::AppendUtf8(out, c);
    }
  }
  out.push_back('"');
}

class Encoder {
 public:
  explicit Encoder(const JsonOptions& o)
      : indent_(o.indent),
        ensure_ascii_(o.ensure_ascii),
        item_separator_(o.item_separator ? *o.item_separator : (o.indent ? "," : ", ")),
        key_separator_(o.key_separator ? *o.key_separator : ": "),
        sort_keys_(o.sort_keys) {}

  cluster::Status Encode(const Value& v, int level, std::string& out) const {
    if (level > kMaxDepth) return cluster::InvalidArgumentError("tojson: value nested deeper than 512 levels");
    switch (v.kind()) {
      case Value::Kind::kNone: out += "null"; return cluster::Status::Ok();
      case Value::Kind::kBool: out += v.as_bool() ? "true" : "false"; return cluster::Status::Ok();
      case Value::Kind::kInt: out += std::to_string(v.as_int()); return cluster::Status::Ok();
      case Value::Kind::kFloat: {
        const double d = v.as_float();
        out += std::isnan(d) ? "NaN" : std::isinf(d) ? (d < 0 ? "-Infinity" : "Infinity") : FormatFloat(d);
        return cluster::Status::Ok();
      }
      case Value::Kind::kString: AppendJsonString(out, v.as_string(), ensure_ascii_); return cluster::Status::Ok();
      case Value::Kind::kList:
      case Value::Kind::kTuple: {
        const List& items = v.as_items();
        if (items.empty()) {
          out += "[]";
          return cluster::Status::Ok();
        }
        out += "[";
        for (size_t i = 0; i < items.size(); ++i) {
          out += i == 0 ? NewLine(level + 1) : item_separator_ + NewLine(level + 1);
          CLUSTER_RETURN_IF_ERROR(Encode(items[i], level + 1, out));
        }
        out += NewLine(level) + "]";
        return cluster::Status::Ok();
      }
      case Value::Kind::kDict: {
        std::vector<const Dict::Entry*> entries;
        for (const Dict::Entry& e : v.as_dict()) entries.push_back(&e);
        if (sort_keys_) {
          std::stable_sort(entries.begin(), entries.end(),
                           [](const Dict::Entry* a, const Dict::Entry* b) { return a->first < b->first; });
        }
        if (entries.empty()) {
          out += "{}";
          return cluster::Status::Ok();
        }
        out += "{";
        for (size_t i = 0; i < entries.size(); ++i) {
          out += i == 0 ? NewLine(level + 1) : item_separator_ + NewLine(level + 1);
          AppendJsonString(out, entries[i]->first, ensure_ascii_);
          out += key_separator_;
          CLUSTER_RETURN_IF_ERROR(Encode(entries[i]->second, level + 1, out));
        }
        out += NewLine(level) + "}";
        return cluster::Status::Ok();
      }
      default:
        return cluster::InvalidArgumentError("Object of type " + TypeName(v) + " is not JSON serializable");
    }
  }

 private:
  std::string NewLine(int level) const {
    if (!indent_) return "";
    std::string s = "\n";
    for (int i = 0; i < level; ++i) s += *indent_;
    return s;
  }

  std::optional<std::string> indent_;
  bool ensure_ascii_;
  std::string item_separator_;
  std::string key_separator_;
  bool sort_keys_;
};

}  // namespace

cluster::StatusOr<Value> ValueFromJson(std::string_view json_text) {
  Json j;
  try {
    j = Json::parse(json_text.begin(), json_text.end());
  } catch (const Json::exception& e) {  // nlohmann reports where; convert at this edge
    return cluster::InvalidArgumentError(std::string("invalid JSON: ") + e.what());
  }
  return FromJson(j, 0);
}

cluster::StatusOr<std::string> ToJson(const Value& value, const JsonOptions& options) {
  std::string out;
  CLUSTER_RETURN_IF_ERROR(Encoder(options).Encode(value, 0, out));
  return out;
}

}  // namespace engine::jinja
