#include "engine/chat/value.h"

#include <locale.h>
#include <wctype.h>

#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "engine/chat/builtins.h"
#include "engine/chat/text.h"

namespace engine::jinja {

// ---- Dict -------------------------------------------------------------------

const Value* Dict::Find(std::string_view key) const {
  for (const Entry& e : entries_) {
    if (e.first == key) return &e.second;
  }
  return nullptr;
}

void Dict::Set(std::string key, Value value) {
  for (Entry& e : entries_) {
    if (e.first == key) {
      e.second = std::move(value);
      return;
    }
  }
  entries_.emplace_back(std::move(key), std::move(value));
}

// ---- Value ------------------------------------------------------------------

Value Value::Undefined(std::string reason) { return Value(Kind::kUndefined, std::move(reason)); }
Value Value::None() { return Value(Kind::kNone, std::monostate()); }
Value Value::Bool(bool b) { return Value(Kind::kBool, b); }
Value Value::Int(int64_t i) { return Value(Kind::kInt, i); }
Value Value::Float(double d) { return Value(Kind::kFloat, d); }
Value Value::String(std::string s) { return Value(Kind::kString, std::move(s)); }
Value Value::MakeList(List items) {
  return Value(Kind::kList, std::make_shared<const List>(std::move(items)));
}
Value Value::MakeTuple(List items) {
  return Value(Kind::kTuple, std::make_shared<const List>(std::move(items)));
}
Value Value::MakeDict(Dict dict) { return Value(Kind::kDict, std::make_shared<const Dict>(std::move(dict))); }
Value Value::MakeNamespace(Dict attributes) {
  return Value(Kind::kNamespace, std::make_shared<Dict>(std::move(attributes)));
}
Value Value::MakeCallable(std::shared_ptr<const Callable> callable) {
  return Value(Kind::kCallable, std::move(callable));
}

bool Value::as_bool() const {
  assert(is_bool());
  return std::get<bool>(storage_);
}
int64_t Value::as_int() const {
  assert(is_int());
  return std::get<int64_t>(storage_);
}
double Value::as_float() const {
  assert(is_float());
  return std::get<double>(storage_);
}
double Value::as_number() const {
  assert(is_number());
  if (is_bool()) return as_bool() ? 1.0 : 0.0;
  if (is_int()) return static_cast<double>(as_int());
  return as_float();
}
const std::string& Value::as_string() const {
  assert(is_string());
  return std::get<std::string>(storage_);
}
const List& Value::as_items() const {
  assert(is_sequence());
  return *std::get<std::shared_ptr<const List>>(storage_);
}
const Dict& Value::as_dict() const {
  assert(is_dict());
  return *std::get<std::shared_ptr<const Dict>>(storage_);
}
Dict& Value::namespace_attributes() const {
  assert(is_namespace());
  return *std::get<std::shared_ptr<Dict>>(storage_);
}
const Callable& Value::as_callable() const {
  assert(is_callable());
  return *std::get<std::shared_ptr<const Callable>>(storage_);
}
const std::string& Value::undefined_reason() const {
  static const std::string kEmpty;
  assert(is_undefined());
  const auto* reason = std::get_if<std::string>(&storage_);
  return reason ? *reason : kEmpty;
}

// ---- Python semantics -------------------------------------------------------

bool Truthy(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone:
      return false;
    case Value::Kind::kBool:
      return v.as_bool();
    case Value::Kind::kInt:
      return v.as_int() != 0;
    case Value::Kind::kFloat:
      return v.as_float() != 0.0;
    case Value::Kind::kString:
      return !v.as_string().empty();
    case Value::Kind::kList:
    case Value::Kind::kTuple:
      return !v.as_items().empty();
    case Value::Kind::kDict:
      return !v.as_dict().empty();
    case Value::Kind::kNamespace:
    case Value::Kind::kCallable:
      return true;
  }
  return false;
}

bool Equals(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (!a.is_float() && !b.is_float()) {
      const int64_t x = a.is_bool() ? a.as_bool() : a.as_int();
      const int64_t y = b.is_bool() ? b.as_bool() : b.as_int();
      return x == y;
    }
    return a.as_number() == b.as_number();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone:
      return true;
    case Value::Kind::kString:
      return a.as_string() == b.as_string();
    case Value::Kind::kList:
    case Value::Kind::kTuple: {
      const List& x = a.as_items();
      const List& y = b.as_items();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!Equals(x[i], y[i])) return false;
      }
      return true;
    }
    case Value::Kind::kDict: {
      const Dict& x = a.as_dict();
      const Dict& y = b.as_dict();
      if (x.size() != y.size()) return false;
      for (const auto& [key, value] : x) {
        const Value* other = y.Find(key);
        if (other == nullptr || !Equals(value, *other)) return false;
      }
      return true;
    }
    case Value::Kind::kNamespace:
      return &a.namespace_attributes() == &b.namespace_attributes();
    case Value::Kind::kCallable:
      return &a.as_callable() == &b.as_callable();
    default:
      return false;
  }
}

std::string TypeName(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return "Undefined";
    case Value::Kind::kNone: return "NoneType";
    case Value::Kind::kBool: return "bool";
    case Value::Kind::kInt: return "int";
    case Value::Kind::kFloat: return "float";
    case Value::Kind::kString: return "str";
    case Value::Kind::kList: return "list";
    case Value::Kind::kTuple: return "tuple";
    case Value::Kind::kDict: return "dict";
    case Value::Kind::kNamespace: return "Namespace";
    case Value::Kind::kCallable: return "function";
  }
  return "object";
}

std::string FormatFloat(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  if (d == 0.0) return std::signbit(d) ? "-0.0" : "0.0";
  // Shortest round-trip digits in scientific form ("1.2345e+02"), then laid
  // out as Python's repr: positional for exponents -4..15, scientific outside.
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  const std::string sci(buf, result.ptr);
  const size_t e_at = sci.find('e');
  std::string mantissa = sci.substr(0, e_at);
  const int exponent = std::atoi(sci.c_str() + e_at + 1);
  const bool negative = mantissa[0] == '-';
  if (negative) mantissa.erase(0, 1);
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits.push_back(c);
  }
  std::string out = negative ? "-" : "";
  if (exponent < -4 || exponent >= 16) {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp_buf[16];
    std::snprintf(exp_buf, sizeof exp_buf, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    return out + exp_buf;
  }
  if (exponent < 0) {
    return out + "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
  }
  const size_t int_digits = static_cast<size_t>(exponent) + 1;
  if (digits.size() <= int_digits) {
    return out + digits + std::string(int_digits - digits.size(), '0') + ".0";
  }
  return out + digits.substr(0, int_digits) + "." + digits.substr(int_digits);
}

namespace {

// Python's str.isprintable() for one code point, as far as the C library's
// Unicode tables and the format/space lists below know it.
bool IsPrintable(char32_t c) {
  if (c < 0x80) return c >= 0x20 && c < 0x7F;
  if (c <= 0xA0 || c == 0xAD || c == 0x1680 || (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F) ||
      (c >= 0x205F && c <= 0x206F) || c == 0x3000 || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFB) ||
      (c >= 0x600 && c <= 0x605) || c == 0x61C || c == 0x6DD || c == 0x70F || c == 0x180E ||
      (c >= 0xD800 && c <= 0xDFFF) || (c >= 0xE000 && c <= 0xF8FF) || c >= 0xE0000) {
    return false;
  }
  static const locale_t locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  return locale == nullptr || iswprint_l(static_cast<wint_t>(c), locale);
}

std::string ReprString(const std::string& s) {
  const bool has_single = s.find('\'') != std::string::npos;
  const bool has_double = s.find('"') != std::string::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  for (char32_t c : text::Decode(s)) {
    if (c == '\\' || c == static_cast<char32_t>(quote)) {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (IsPrintable(c)) {
      text::AppendUtf8(out, c);
    } else {
      char buf[16];
      if (c < 0x100) {
        std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
      } else if (c < 0x10000) {
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      } else {
        std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(c));
      }
      out += buf;
    }
  }
  out.push_back(quote);
  return out;
}

std::string ReprItems(const List& items, const char* open, const char* close, bool tuple) {
  std::string out = open;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += Repr(items[i]);
  }
  if (tuple && items.size() == 1) out += ",";
  return out + close;
}

std::string ReprDict(const Dict& dict) {
  std::string out = "{";
  bool first = true;
  for (const auto& [key, value] : dict) {
    if (!first) out += ", ";
    first = false;
    out += ReprString(key) + ": " + Repr(value);
  }
  return out + "}";
}

}  // namespace

std::string Repr(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return "Undefined";
    case Value::Kind::kString: return ReprString(v.as_string());
    default: return ToStr(v);
  }
}

std::string ToStr(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return "";
    case Value::Kind::kNone: return "None";
    case Value::Kind::kBool: return v.as_bool() ? "True" : "False";
    case Value::Kind::kInt: return std::to_string(v.as_int());
    case Value::Kind::kFloat: return FormatFloat(v.as_float());
    case Value::Kind::kString: return v.as_string();
    case Value::Kind::kList: return ReprItems(v.as_items(), "[", "]", false);
    case Value::Kind::kTuple: return ReprItems(v.as_items(), "(", ")", true);
    case Value::Kind::kDict: return ReprDict(v.as_dict());
    case Value::Kind::kNamespace: return "<Namespace " + ReprDict(v.namespace_attributes()) + ">";
    case Value::Kind::kCallable: return v.as_callable().repr;
  }
  return "";
}

}  // namespace engine::jinja
