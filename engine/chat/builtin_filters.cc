// Jinja's filters (`x | trim`, `tools | tojson(indent=2)`), with Jinja2's and
// HF's semantics. HF replaces Jinja's tojson with Python's json.dumps(x,
// ensure_ascii=False, indent=None, separators=None, sort_keys=False).
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "engine/chat/builtins.h"
#include "engine/chat/json.h"
#include "engine/chat/text.h"

namespace engine::jinja {
namespace {

using cluster::Status;
using cluster::StatusOr;

constexpr std::string_view kFilters[] = {
    "abs",  "capitalize", "count",  "d",       "default", "first",   "float",      "indent", "int",
    "items", "join",      "last",   "length",  "list",    "lower",   "map",        "reject", "rejectattr",
    "replace", "reverse", "safe",   "select",  "selectattr", "sort", "string",     "title",  "tojson",
    "trim",  "upper"};
// Jinja2's other built-in filters: known, refused.
constexpr std::string_view kUnsupportedFilters[] = {
    "attr",  "batch", "center", "dictsort", "e",         "escape", "filesizeformat", "forceescape", "format",
    "groupby", "max", "min",    "pprint",   "random",    "round",  "slice",          "striptags",   "sum",
    "truncate", "unique", "urlencode", "urlize", "wordcount", "wordwrap", "xmlattr"};

template <typename Range>
bool Contains(const Range& range, std::string_view name) {
  return std::find(std::begin(range), std::end(range), name) != std::end(range);
}

Status TypeError(const std::string& message) { return cluster::InvalidArgumentError(message); }

Value Str(const std::string& s) { return Value::String(s); }

// Python's iter(value) as a list: str -> characters, dict -> keys,
// Undefined -> empty.
StatusOr<List> Iterate(const Value& v) {
  if (v.is_sequence()) return v.as_items();
  if (v.is_undefined()) return List();
  List items;
  if (v.is_string()) {
    for (char32_t c : text::Decode(v.as_string())) items.push_back(Value::String(text::Encode({&c, 1})));
    return items;
  }
  if (v.is_dict()) {
    for (const auto& [key, value] : v.as_dict()) items.push_back(Value::String(key));
    return items;
  }
  return TypeError("'" + TypeName(v) + "' object is not iterable");
}

// Jinja's attribute path "a.b.0" (make_attrgetter): each part a key, digits an index.
StatusOr<Value> AttributePath(const Value& item, const std::string& path) {
  Value v = item;
  for (const std::string& part : text::Split(path, std::string("."), -1)) {
    const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    CLUSTER_ASSIGN_OR_RETURN(v, GetItem(v, digits ? Value::Int(std::atoll(part.c_str())) : Value::String(part)));
  }
  return v;
}

StatusOr<Value> MapCase(const Value& v, StatusOr<std::string> (*map)(std::string_view)) {
  StatusOr<std::string> r = map(ToStr(v));
  if (!r.ok()) return r.status();
  return Value::String(std::move(r).value());
}

// Python's int(str): optional sign, digits with single underscores, spaces around.
std::optional<int64_t> ParseInt(const std::string& s) {
  const std::string t = text::Strip(s, std::nullopt, true, true);
  std::string digits;
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (c == '_' && i > 0 && i + 1 < t.size() && std::isdigit(static_cast<unsigned char>(t[i - 1])) &&
        std::isdigit(static_cast<unsigned char>(t[i + 1]))) {
      continue;
    }
    if (!(std::isdigit(static_cast<unsigned char>(c)) || ((c == '+' || c == '-') && i == 0))) return std::nullopt;
    digits.push_back(c);
  }
  if (digits.empty() || digits == "+" || digits == "-") return std::nullopt;
  errno = 0;
  const long long v = std::strtoll(digits.c_str(), nullptr, 10);
  if (errno == ERANGE) return std::nullopt;
  return v;
}

std::optional<double> ParseFloat(const std::string& s) {
  const std::string t = text::Strip(s, std::nullopt, true, true);
  if (t.empty() || t.find('_') != std::string::npos || t.find_first_of("xXpP") != std::string::npos) {
    return std::nullopt;
  }
  char* end = nullptr;
  const double d = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size()) return std::nullopt;
  return d;
}

StatusOr<Value> ToInt(const Value& v, const Value& fallback) {
  if (v.is_int()) return v;
  if (v.is_bool()) return Value::Int(v.as_bool());
  if (v.is_float()) {
    if (!std::isfinite(v.as_float())) return fallback;
    return Value::Int(static_cast<int64_t>(std::trunc(v.as_float())));
  }
  if (v.is_string()) {
    if (auto i = ParseInt(v.as_string())) return Value::Int(*i);
    if (auto d = ParseFloat(v.as_string()); d && std::isfinite(*d)) return Value::Int(static_cast<int64_t>(std::trunc(*d)));
  }
  return fallback;
}

StatusOr<Value> ToFloat(const Value& v, const Value& fallback) {
  if (v.is_number()) return Value::Float(v.as_number());
  if (v.is_string()) {
    if (auto d = ParseFloat(v.as_string())) return Value::Float(*d);
  }
  return fallback;
}

// jinja2 3.1 do_indent.
StatusOr<Value> Indent(const Value& v, const std::vector<std::optional<Value>>& a) {
  std::string indention = "    ";
  if (a[0]) {
    if (a[0]->is_string()) {
      indention = a[0]->as_string();
    } else if (a[0]->is_int()) {
      indention = std::string(static_cast<size_t>(std::max<int64_t>(0, a[0]->as_int())), ' ');
    } else {
      return TypeError("indent width must be an int or a str");
    }
  }
  const bool first = a[1] && Truthy(*a[1]);
  const bool blank = a[2] && Truthy(*a[2]);
  const std::vector<std::string> lines = text::SplitLines(ToStr(v) + "\n");
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += "\n";
    if (i > 0 && (blank || !lines[i].empty())) out += indention;
    out += lines[i];
  }
  if (first) out = indention + out;
  return Value::String(std::move(out));
}

StatusOr<Value> ToJsonFilter(const Value& v, const std::vector<std::optional<Value>>& a) {
  JsonOptions options;
  options.ensure_ascii = a[0] && Truthy(*a[0]);
  if (a[1] && !a[1]->is_none()) {
    if (a[1]->is_string()) {
      options.indent = a[1]->as_string();
    } else if (a[1]->is_int()) {
      options.indent = std::string(static_cast<size_t>(std::max<int64_t>(0, a[1]->as_int())), ' ');
    } else {
      return TypeError("tojson indent must be an int or a str");
    }
  }
  if (a[2] && !a[2]->is_none()) {
    if (!a[2]->is_sequence() || a[2]->as_items().size() != 2 || !a[2]->as_items()[0].is_string() ||
        !a[2]->as_items()[1].is_string()) {
      return TypeError("tojson separators must be a pair of strings");
    }
    options.item_separator = a[2]->as_items()[0].as_string();
    options.key_separator = a[2]->as_items()[1].as_string();
  }
  options.sort_keys = a[3] && Truthy(*a[3]);
  CLUSTER_ASSIGN_OR_RETURN(std::string json, ToJson(v, options));
  return Value::String(std::move(json));
}

// select/reject/selectattr/rejectattr.
StatusOr<Value> SelectFilter(std::string_view name, const Value& seq, const CallArgs& args) {
  const bool by_attribute = name == "selectattr" || name == "rejectattr";
  const bool keep = name == "select" || name == "selectattr";
  CallArgs rest;
  size_t next = 0;
  std::string attribute;
  if (by_attribute) {
    if (args.positional.empty() || !args.positional[0].is_string()) {
      return TypeError(std::string(name) + "() needs an attribute name");
    }
    attribute = args.positional[0].as_string();
    next = 1;
  }
  if (!args.keyword.empty()) return TypeError(std::string(name) + "() takes no keyword arguments");
  std::string test;
  if (next < args.positional.size()) {
    if (!args.positional[next].is_string()) return TypeError(std::string(name) + "() test name must be a string");
    test = args.positional[next].as_string();
    if (TestSupport(test) != BuiltinSupport::kSupported) {
      return TypeError(std::string(name) + "(): unknown or unsupported test '" + test + "'");
    }
    rest.positional.assign(args.positional.begin() + static_cast<long>(next) + 1, args.positional.end());
  }
  CLUSTER_ASSIGN_OR_RETURN(List items, Iterate(seq));
  List out;
  for (const Value& item : items) {
    Value subject = item;
    if (by_attribute) {
      CLUSTER_ASSIGN_OR_RETURN(subject, AttributePath(item, attribute));
    }
    bool pass = Truthy(subject);
    if (!test.empty()) {
      CLUSTER_ASSIGN_OR_RETURN(pass, ApplyTest(test, subject, rest));
    }
    if (pass == keep) out.push_back(item);
  }
  return Value::MakeList(std::move(out));
}

StatusOr<Value> MapFilter(const Value& seq, const CallArgs& args) {
  CLUSTER_ASSIGN_OR_RETURN(List items, Iterate(seq));
  List out;
  if (args.positional.empty()) {  // map(attribute='x', default=...)
    std::optional<Value> attribute, fallback;
    for (const auto& [key, value] : args.keyword) {
      if (key == "attribute") {
        attribute = value;
      } else if (key == "default") {
        fallback = value;
      } else {
        return TypeError("map() got an unexpected keyword argument '" + key + "'");
      }
    }
    if (!attribute || !attribute->is_string()) return TypeError("map() needs a filter name or attribute=");
    for (const Value& item : items) {
      CLUSTER_ASSIGN_OR_RETURN(Value v, AttributePath(item, attribute->as_string()));
      out.push_back(v.is_undefined() && fallback ? *fallback : v);
    }
    return Value::MakeList(std::move(out));
  }
  if (!args.positional[0].is_string()) return TypeError("map() filter name must be a string");
  const std::string filter = args.positional[0].as_string();
  if (FilterSupport(filter) != BuiltinSupport::kSupported) {
    return TypeError("map(): unknown or unsupported filter '" + filter + "'");
  }
  CallArgs rest;
  rest.positional.assign(args.positional.begin() + 1, args.positional.end());
  rest.keyword = args.keyword;
  for (const Value& item : items) {
    CLUSTER_ASSIGN_OR_RETURN(Value v, ApplyFilter(filter, item, rest));
    out.push_back(std::move(v));
  }
  return Value::MakeList(std::move(out));
}

StatusOr<Value> SortFilter(const Value& seq, const std::vector<std::optional<Value>>& a) {
  const bool reverse = a[0] && Truthy(*a[0]);
  const bool case_sensitive = a[1] && Truthy(*a[1]);
  CLUSTER_ASSIGN_OR_RETURN(List items, Iterate(seq));
  std::vector<std::pair<Value, Value>> keyed;  // (key, item)
  for (const Value& item : items) {
    Value key = item;
    if (a[2] && !a[2]->is_none()) {
      CLUSTER_ASSIGN_OR_RETURN(key, AttributePath(item, ToStr(*a[2])));
    }
    if (!case_sensitive && key.is_string()) {
      CLUSTER_ASSIGN_OR_RETURN(std::string lower, text::Lower(key.as_string()));
      key = Value::String(std::move(lower));
    }
    keyed.emplace_back(std::move(key), item);
  }
  Status error;
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    StatusOr<int> c = reverse ? Compare(y.first, x.first) : Compare(x.first, y.first);
    if (!c.ok()) {
      if (error.ok()) error = c.status();
      return false;
    }
    return *c < 0;
  });
  CLUSTER_RETURN_IF_ERROR(error);
  List out;
  for (auto& [key, item] : keyed) out.push_back(std::move(item));
  return Value::MakeList(std::move(out));
}

}  // namespace

BuiltinSupport FilterSupport(std::string_view name) {
  if (Contains(kFilters, name)) return BuiltinSupport::kSupported;
  if (Contains(kUnsupportedFilters, name)) return BuiltinSupport::kUnsupported;
  return BuiltinSupport::kUnknown;
}

cluster::StatusOr<Value> ApplyFilter(std::string_view name, const Value& v, const CallArgs& args) {
  const std::string fn = std::string(name);
  if (name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr") {
    return SelectFilter(name, v, args);
  }
  if (name == "map") return MapFilter(v, args);
  if (name == "default" || name == "d") {
    CLUSTER_ASSIGN_OR_RETURN(auto a, BindArgs(fn, args, {"default_value", "boolean"}));
    const Value fallback = a[0] ? *a[0] : Str("");
    const bool use = v.is_undefined() || (a[1] && Truthy(*a[1]) && !Truthy(v));
    return use ? fallback : v;
  }
  if (name == "tojson") {
    CLUSTER_ASSIGN_OR_RETURN(auto a, BindArgs(fn, args, {"ensure_ascii", "indent", "separators", "sort_keys"}));
    return ToJsonFilter(v, a);
  }
  if (name == "trim") {
    CLUSTER_ASSIGN_OR_RETURN(auto a, BindArgs(fn, args, {"chars"}));
    std::optional<std::string> chars;
    if (a[0] && !a[0]->is_none()) chars = ToStr(*a[0]);
    return Str(text::Strip(ToStr(v), chars, true, true));
  }
  if (name == "replace") {
    CLUSTER_ASSIGN_OR_RETURN(auto a, BindArgs(fn, args, {"old", "new", "count"}, 2));
    long count = -1;
    if (a[2] && !a[2]->is_none()) {
      if (!a[2]->is_int()) return TypeError("replace count must be an int");
      count = static_cast<long>(a[2]->as_int());
    }
    return Str(text::Replace(ToStr(v), ToStr(*a[0]), ToStr(*a[1]), count));
  }
  if (name == "join") {
    CLUSTER_ASSIGN_OR_RETURN(auto a, BindArgs(fn, args, {"d", "attribute"}));
    CLUSTER_ASSIGN_OR_RETURN(List items, Iterate(v));
    const std::string separator = a[0] ? ToStr(*a[0]) : "";
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      Value item = items[i];
      if (a[1] && !a[1]->is_none()) {
        CLUSTER_ASSIGN_OR_RETURN(item, AttributePath(item, ToStr(*a[1])));
      }
      if (i > 0) out += separator;
      out += ToStr(item);
    }
    return Str(out);
  }
  if (name == "indent") {
    CLUSTER_ASSIGN_OR_RETURN(auto a, BindArgs(fn, args, {"width", "first", "blank"}));
    return Indent(v, a);
  }
  if (name == "int" || name == "float") {
    CLUSTER_ASSIGN_OR_RETURN(auto a, BindArgs(fn, args, {"default", "base"}));
    if (name == "float" && a[1]) return TypeError("float() got an unexpected keyword argument 'base'");
    if (a[1] && !(a[1]->is_int() && a[1]->as_int() == 10)) {
      return cluster::UnimplementedError("int filter with a base other than 10 is unsupported");
    }
    if (name == "int") return ToInt(v, a[0] ? *a[0] : Value::Int(0));
    return ToFloat(v, a[0] ? *a[0] : Value::Float(0.0));
  }
  if (name == "sort") {
    CLUSTER_ASSIGN_OR_RETURN(auto a, BindArgs(fn, args, {"reverse", "case_sensitive", "attribute"}));
    return SortFilter(v, a);
  }
  CLUSTER_ASSIGN_OR_RETURN(auto none, BindArgs(fn, args, {}));
  (void)none;
  if (name == "length" || name == "count") {
    if (v.is_string()) return Value::Int(static_cast<int64_t>(text::Length(v.as_string())));
    if (v.is_sequence()) return Value::Int(static_cast<int64_t>(v.as_items().size()));
    if (v.is_dict()) return Value::Int(static_cast<int64_t>(v.as_dict().size()));
    if (v.is_undefined()) return Value::Int(0);
    return TypeError("object of type '" + TypeName(v) + "' has no len()");
  }
  if (name == "string" || name == "safe") return Str(ToStr(v));
  if (name == "upper") return MapCase(v, text::Upper);
  if (name == "lower") return MapCase(v, text::Lower);
  if (name == "capitalize") return MapCase(v, text::Capitalize);
  if (name == "title") return MapCase(v, text::TitleFilter);
  if (name == "abs") {
    if (v.is_float()) return Value::Float(std::fabs(v.as_float()));
    if (v.is_number()) return NegateOp(v, v.is_int() && v.as_int() < 0);
    if (v.is_undefined()) return UndefinedError(v);
    return TypeError("bad operand type for abs(): '" + TypeName(v) + "'");
  }
  if (name == "first" || name == "last") {
    CLUSTER_ASSIGN_OR_RETURN(List items, Iterate(v));
    if (items.empty()) return Value::Undefined("No " + fn + " item, sequence was empty.");
    return name == "first" ? items.front() : items.back();
  }
  if (name == "list") {
    CLUSTER_ASSIGN_OR_RETURN(List items, Iterate(v));
    return Value::MakeList(std::move(items));
  }
  if (name == "reverse") {
    if (v.is_string()) {
      std::u32string cps = text::Decode(v.as_string());
      std::reverse(cps.begin(), cps.end());
      return Str(text::Encode(cps));
    }
    CLUSTER_ASSIGN_OR_RETURN(List items, Iterate(v));
    std::reverse(items.begin(), items.end());
    return Value::MakeList(std::move(items));
  }
  if (name == "items") {
    if (v.is_undefined()) return Value::MakeList({});
    if (!v.is_dict()) return TypeError("Can only get item pairs from a mapping.");
    List items;
    for (const auto& [key, value] : v.as_dict()) items.push_back(Value::MakeTuple({Str(key), value}));
    return Value::MakeList(std::move(items));
  }
  return cluster::InternalError("filter '" + fn + "' is listed but not implemented");
}

}  // namespace engine::jinja
