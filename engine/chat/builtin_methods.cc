// Attribute and item access (Jinja's getattr/getitem) and the methods of str
// and dict that templates call (`content.split('</think>')`, `d.items()`).
#include <algorithm>
#include <memory>

#include "engine/chat/builtins.h"
#include "engine/chat/text.h"

namespace engine::jinja {
namespace {

using cluster::Status;
using cluster::StatusOr;

constexpr std::string_view kStrMethods[] = {
    "capitalize", "endswith", "find",   "join",       "lower",        "lstrip",       "removeprefix",
    "removesuffix", "replace", "rsplit", "rstrip",    "split",        "splitlines",   "startswith",
    "strip",      "title",    "upper",  "count",      "isspace",      "islower",      "isupper"};
// Other methods of Python's str: known, refused.
constexpr std::string_view kStrUnsupported[] = {
    "casefold",  "center",    "encode",    "expandtabs",   "format",     "format_map", "index",     "isalnum",
    "isalpha",   "isascii",   "isdecimal", "isdigit",      "isidentifier", "isnumeric", "isprintable", "istitle",
    "ljust",     "maketrans", "partition", "rfind",        "rindex",     "rjust",      "rpartition", "swapcase",
    "translate", "zfill"};
constexpr std::string_view kDictMethods[] = {"get", "items", "keys", "values"};
constexpr std::string_view kDictUnsupported[] = {"copy", "fromkeys"};
constexpr std::string_view kDictUnsafe[] = {"clear", "pop", "popitem", "setdefault", "update"};
constexpr std::string_view kListUnsupported[] = {"copy", "count", "index"};
constexpr std::string_view kListUnsafe[] = {"append", "clear", "extend", "insert", "pop", "remove", "reverse", "sort"};

template <typename Range>
bool Contains(const Range& range, std::string_view name) {
  return std::find(std::begin(range), std::end(range), name) != std::end(range);
}

Status TypeError(const std::string& message) { return cluster::InvalidArgumentError(message); }

Value MissingAttribute(const Value& obj, std::string_view name) {
  return Value::Undefined("'" + ObjectTypeRepr(obj) + "' has no attribute '" + std::string(name) + "'");
}

Value MissingElement(const Value& obj, const Value& key) {
  return Value::Undefined(ObjectTypeRepr(obj) + " has no element " + Repr(key));
}

StatusOr<std::optional<std::string>> OptionalString(const std::optional<Value>& v, std::string_view what) {
  if (!v || v->is_none()) return std::optional<std::string>();
  if (!v->is_string()) return TypeError(std::string(what) + " must be str or None, not " + TypeName(*v));
  return std::optional<std::string>(v->as_string());
}

StatusOr<long> OptionalInt(const std::optional<Value>& v, long fallback, std::string_view what) {
  if (!v) return fallback;
  if (!v->is_int() && !v->is_bool()) {
    return TypeError(std::string(what) + ": '" + TypeName(*v) + "' object cannot be interpreted as an integer");
  }
  return static_cast<long>(v->is_bool() ? v->as_bool() : v->as_int());
}

Value StringList(const std::vector<std::string>& parts) {
  List items;
  for (const std::string& p : parts) items.push_back(Value::String(p));
  return Value::MakeList(std::move(items));
}

// Python's str.rsplit(sep, maxsplit).
std::vector<std::string> RSplit(const std::string& s, const std::optional<std::string>& sep, long maxsplit) {
  if (maxsplit < 0) return text::Split(s, sep, -1);
  std::vector<std::string> parts;
  if (sep) {
    size_t end = s.size();
    while (static_cast<long>(parts.size()) < maxsplit) {
      if (end < sep->size()) break;
      const size_t at = s.rfind(*sep, end - sep->size());
      if (at == std::string::npos) break;
      parts.push_back(s.substr(at + sep->size(), end - at - sep->size()));
      end = at;
    }
    parts.push_back(s.substr(0, end));
  } else {
    const std::u32string cps = text::Decode(s);
    size_t end = cps.size();
    while (true) {
      while (end > 0 && text::IsSpace(cps[end - 1])) --end;
      if (end == 0) break;
      if (static_cast<long>(parts.size()) == maxsplit) {
        parts.push_back(text::Encode(std::u32string_view(cps).substr(0, end)));
        break;
      }
      size_t begin = end;
      while (begin > 0 && !text::IsSpace(cps[begin - 1])) --begin;
      parts.push_back(text::Encode(std::u32string_view(cps).substr(begin, end - begin)));
      end = begin;
    }
  }
  std::reverse(parts.begin(), parts.end());
  return parts;
}

// startswith/endswith: a str or a tuple of str.
StatusOr<bool> AffixMatch(const std::string& s, const Value& affix, bool prefix, std::string_view method) {
  auto match = [&](const std::string& a) {
    if (a.size() > s.size()) return false;
    return prefix ? s.compare(0, a.size(), a) == 0 : s.compare(s.size() - a.size(), a.size(), a) == 0;
  };
  if (affix.is_string()) return match(affix.as_string());
  if (affix.is_sequence()) {
    for (const Value& a : affix.as_items()) {
      if (!a.is_string()) return TypeError("tuple for " + std::string(method) + " must only contain str");
      if (match(a.as_string())) return true;
    }
    return false;
  }
  return TypeError(std::string(method) + " first arg must be str or a tuple of str, not " + TypeName(affix));
}

StatusOr<Value> CallStrMethod(const std::string& s, std::string_view name, const CallArgs& args) {
  const std::string fn = "str." + std::string(name);
  if (name == "split" || name == "rsplit") {
    CLUSTER_ASSIGN_OR_RETURN(auto a, BindArgs(fn, args, {"sep", "maxsplit"}));
    CLUSTER_ASSIGN_OR_RETURN(std::optional<std::string> sep, OptionalString(a[0], "sep"));
    CLUSTER_ASSIGN_OR_RETURN(long maxsplit, OptionalInt(a[1], -1, "maxsplit"));
    if (sep && sep->empty()) return TypeError("empty separator");
    return StringList(name == "split" ? text::Split(s, sep, maxsplit) : RSplit(s, sep, maxsplit));
  }
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    CLUSTER_ASSIGN_OR_RETURN(auto a, BindArgs(fn, args, {"chars"}));
    CLUSTER_ASSIGN_OR_RETURN(std::optional<std::string> chars, OptionalString(a[0], "chars"));
    return Value::String(text::Strip(s, chars, name != "rstrip", name != "lstrip"));
  }
  if (name == "startswith" || name == "endswith") {
    CLUSTER_ASSIGN_OR_RETURN(auto a, BindArgs(fn, args, {"affix", "start", "end"}, 1));
    if (a[1] || a[2]) return cluster::UnimplementedError(fn + "() with start/end arguments is unsupported");
    CLUSTER_ASSIGN_OR_RETURN(bool match, AffixMatch(s, *a[0], name == "startswith", name));
    return Value::Bool(match);
  }
  if (name == "replace") {
    CLUSTER_ASSIGN_OR_RETURN(auto a, BindArgs(fn, args, {"old", "new", "count"}, 2));
    if (!a[0]->is_string() || !a[1]->is_string()) return TypeError("replace() arguments must be str");
    CLUSTER_ASSIGN_OR_RETURN(long count, OptionalInt(a[2], -1, "count"));
    return Value::String(text::Replace(s, a[0]->as_string(), a[1]->as_string(), count));
  }
  if (name == "find" || name == "count" || name == "removeprefix" || name == "removesuffix") {
    CLUSTER_ASSIGN_OR_RETURN(auto a, BindArgs(fn, args, {"sub"}, 1));
    if (!a[0]->is_string()) return TypeError(fn + "() argument must be str, not " + TypeName(*a[0]));
    const std::string& sub = a[0]->as_string();
    if (name == "find") {
      const size_t at = s.find(sub);
      return Value::Int(at == std::string::npos ? -1 : static_cast<int64_t>(text::Length(s.substr(0, at))));
    }
    if (name == "count") {
      if (sub.empty()) return Value::Int(static_cast<int64_t>(text::Length(s)) + 1);
      int64_t n = 0;
      for (size_t at = s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size())) ++n;
      return Value::Int(n);
    }
    if (name == "removeprefix") {
      return Value::String(s.compare(0, sub.size(), sub) == 0 ? s.substr(sub.size()) : s);
    }
    const bool suffix = s.size() >= sub.size() && s.compare(s.size() - sub.size(), sub.size(), sub) == 0;
    return Value::String(suffix ? s.substr(0, s.size() - sub.size()) : s);
  }
  if (name == "join") {
    CLUSTER_ASSIGN_OR_RETURN(auto a, BindArgs(fn, args, {"iterable"}, 1));
    List items;
    if (a[0]->is_sequence()) {
      items = a[0]->as_items();
    } else if (a[0]->is_dict()) {
      for (const auto& [key, value] : a[0]->as_dict()) items.push_back(Value::String(key));
    } else if (a[0]->is_string()) {
      for (char32_t c : text::Decode(a[0]->as_string())) items.push_back(Value::String(text::Encode({&c, 1})));
    } else {
      return TypeError("can only join an iterable");
    }
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (!items[i].is_string()) {
        return TypeError("sequence item " + std::to_string(i) + ": expected str instance, " + TypeName(items[i]) +
                         " found");
      }
      if (i > 0) out += s;
      out += items[i].as_string();
    }
    return Value::String(std::move(out));
  }
  if (name == "splitlines") {
    CLUSTER_ASSIGN_OR_RETURN(auto a, BindArgs(fn, args, {}));
    return StringList(text::SplitLines(s));
  }
  CLUSTER_ASSIGN_OR_RETURN(auto none, BindArgs(fn, args, {}));
  (void)none;
  if (name == "isspace") {
    const std::u32string cps = text::Decode(s);
    return Value::Bool(!cps.empty() && std::all_of(cps.begin(), cps.end(), text::IsSpace));
  }
  if (name == "islower") return Value::Bool(text::IsLower(s));
  if (name == "isupper") return Value::Bool(text::IsUpper(s));
  StatusOr<std::string> mapped = name == "upper"   ? text::Upper(s)
                                 : name == "lower" ? text::Lower(s)
                                 : name == "title" ? text::Title(s)
                                                   : text::Capitalize(s);
  if (!mapped.ok()) return mapped.status();
  return Value::String(std::move(mapped).value());
}

StatusOr<Value> CallDictMethod(const Dict& d, std::string_view name, const CallArgs& args) {
  const std::string fn = "dict." + std::string(name);
  if (name == "get") {
    CLUSTER_ASSIGN_OR_RETURN(auto a, BindArgs(fn, args, {"key", "default"}, 1));
    const Value* v = a[0]->is_string() ? d.Find(a[0]->as_string()) : nullptr;
    if (v != nullptr) return *v;
    return a[1] ? *a[1] : Value::None();
  }
  CLUSTER_ASSIGN_OR_RETURN(auto none, BindArgs(fn, args, {}));
  (void)none;
  List items;
  for (const auto& [key, value] : d) {
    if (name == "items") {
      items.push_back(Value::MakeTuple({Value::String(key), value}));
    } else {
      items.push_back(name == "keys" ? Value::String(key) : value);
    }
  }
  return Value::MakeList(std::move(items));
}

}  // namespace

cluster::StatusOr<std::vector<std::optional<Value>>> BindArgs(std::string_view function, const CallArgs& args,
                                                             std::initializer_list<std::string_view> params,
                                                             size_t required) {
  const std::vector<std::string_view> names(params);
  std::vector<std::optional<Value>> out(names.size());
  if (args.positional.size() > names.size()) {
    return TypeError(std::string(function) + "() takes at most " + std::to_string(names.size()) + " argument(s) (" +
                     std::to_string(args.positional.size()) + " given)");
  }
  for (size_t i = 0; i < args.positional.size(); ++i) out[i] = args.positional[i];
  for (const auto& [key, value] : args.keyword) {
    const auto it = std::find(names.begin(), names.end(), key);
    if (it == names.end()) {
      return TypeError(std::string(function) + "() got an unexpected keyword argument '" + key + "'");
    }
    auto& slot = out[static_cast<size_t>(it - names.begin())];
    if (slot) return TypeError(std::string(function) + "() got multiple values for argument '" + key + "'");
    slot = value;
  }
  for (size_t i = 0; i < required; ++i) {
    if (!out[i]) {
      return TypeError(std::string(function) + "() missing required argument '" + std::string(names[i]) + "'");
    }
  }
  return out;
}

cluster::Status UndefinedError(const Value& undefined) {
  const std::string& reason = undefined.is_undefined() ? undefined.undefined_reason() : std::string();
  return cluster::InvalidArgumentError(reason.empty() ? "a value is undefined" : reason);
}

std::string ObjectTypeRepr(const Value& v) {
  if (v.is_none()) return "None";
  return TypeName(v) + " object";
}

bool HasMethod(const Value& obj, std::string_view name) {
  if (obj.is_string()) return Contains(kStrMethods, name) || Contains(kStrUnsupported, name);
  if (obj.is_dict()) {
    return Contains(kDictMethods, name) || Contains(kDictUnsupported, name) || Contains(kDictUnsafe, name);
  }
  if (obj.is_sequence()) return Contains(kListUnsupported, name) || Contains(kListUnsafe, name);
  return false;
}

cluster::StatusOr<Value> CallMethod(const Value& self, std::string_view name, const CallArgs& args) {
  const std::string type = TypeName(self);
  if (Contains(kListUnsafe, name) || Contains(kDictUnsafe, name)) {
    return cluster::PermissionDeniedError("access to attribute '" + std::string(name) + "' of '" + type +
                                          "' object is unsafe (templates render in Jinja's immutable sandbox)");
  }
  if (self.is_string() && Contains(kStrMethods, name)) return CallStrMethod(self.as_string(), name, args);
  if (self.is_dict() && Contains(kDictMethods, name)) return CallDictMethod(self.as_dict(), name, args);
  return cluster::UnimplementedError("unsupported method " + type + "." + std::string(name) + "()");
}

Value GetAttribute(const Value& obj, std::string_view name) {
  if (HasMethod(obj, name)) {
    auto callable = std::make_shared<Callable>();
    callable->name = TypeName(obj) + "." + std::string(name);
    callable->repr = "<built-in method " + std::string(name) + " of " + TypeName(obj) + " object>";
    callable->builtin = [obj, method = std::string(name)](const CallArgs& args) {
      return CallMethod(obj, method, args);
    };
    return Value::MakeCallable(std::move(callable));
  }
  if (obj.is_dict()) {
    if (const Value* v = obj.as_dict().Find(name)) return *v;
  } else if (obj.is_namespace()) {
    if (const Value* v = obj.namespace_attributes().Find(name)) return *v;
  }
  return MissingAttribute(obj, name);
}

cluster::StatusOr<Value> GetItem(const Value& obj, const Value& key) {
  if (obj.is_undefined()) return UndefinedError(obj);
  if (key.is_string()) {
    if (obj.is_dict()) {
      if (const Value* v = obj.as_dict().Find(key.as_string())) return *v;
    }
    return GetAttribute(obj, key.as_string());
  }
  if ((obj.is_sequence() || obj.is_string()) && (key.is_int() || key.is_bool())) {
    int64_t i = key.is_bool() ? key.as_bool() : key.as_int();
    if (obj.is_string()) {
      const std::u32string cps = text::Decode(obj.as_string());
      const auto n = static_cast<int64_t>(cps.size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return MissingElement(obj, key);
      return Value::String(text::Encode(std::u32string_view(cps).substr(static_cast<size_t>(i), 1)));
    }
    const List& items = obj.as_items();
    const auto n = static_cast<int64_t>(items.size());
    if (i < 0) i += n;
    if (i < 0 || i >= n) return MissingElement(obj, key);
    return items[static_cast<size_t>(i)];
  }
  return MissingElement(obj, key);
}

}  // namespace engine::jinja
