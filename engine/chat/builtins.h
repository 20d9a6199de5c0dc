// Built-ins: filters, tests, methods of str/dict, attribute and item access,
// and Python's ordering.
//
// Internal to engine_chat. Built-ins return position-less errors; the
// evaluator prefixes the position of the construct that called them. Names
// that Jinja2 or Python know but this engine does not implement fail with
// kUnimplemented and say so, so a template never renders wrongly.
#pragma once

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "engine/chat/value.h"

namespace engine::jinja {

struct Stmt;

// Evaluated call arguments: f(a, b, key=c).
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

// A function value: a built-in (range, namespace, a bound str method, ...) or
// a macro, which the evaluator runs.
struct Callable {
  std::string name;
  std::string repr;  // what printing it shows, as Python would
  std::function<cluster::StatusOr<Value>(const CallArgs&)> builtin;  // empty for a macro
  const Stmt* macro = nullptr;                                       // the {% macro %}, for a macro
};

// Binds arguments to parameters the way Python does for
// `function(p0, p1, ...)`: positionals in order, then keywords by name.
// Fails on too many arguments, unknown or repeated keywords, or a missing one
// among the first `required`. Unbound parameters come back empty.
cluster::StatusOr<std::vector<std::optional<Value>>> BindArgs(std::string_view function, const CallArgs& args,
                                                             std::initializer_list<std::string_view> params,
                                                             size_t required = 0);

// The error for using an Undefined where a value is needed: its reason
// ("'foo' is undefined") or a generic one.
cluster::Status UndefinedError(const Value& undefined);

// Python's ordering for <, <=, >, >= and sorting: -1, 0 or 1. Numbers with
// numbers, strings with strings (by code point), lists/tuples
// lexicographically; anything else is a TypeError.
cluster::StatusOr<int> Compare(const Value& a, const Value& b);

// ---- operators (operators.cc) ----
// Python's binary operators + - * / // % ** and Jinja's ~ (string concatenation).
cluster::StatusOr<Value> BinaryOp(std::string_view op, const Value& a, const Value& b);
// Python's comparisons == != < <= > >= and membership `in`, `not in`.
cluster::StatusOr<bool> CompareOp(std::string_view op, const Value& a, const Value& b);
// Unary minus and plus.
cluster::StatusOr<Value> NegateOp(const Value& v, bool negate);

enum class BuiltinSupport { kSupported, kUnsupported, kUnknown };

// ---- filters (builtin_filters.cc) ----
BuiltinSupport FilterSupport(std::string_view name);
// REQUIRES: FilterSupport(name) == kSupported.
cluster::StatusOr<Value> ApplyFilter(std::string_view name, const Value& operand, const CallArgs& args);

// ---- tests (builtin_tests.cc) ----
BuiltinSupport TestSupport(std::string_view name);
// REQUIRES: TestSupport(name) == kSupported.
cluster::StatusOr<bool> ApplyTest(std::string_view name, const Value& operand, const CallArgs& args);

// ---- attribute access and methods (builtin_methods.cc) ----
// Jinja's `obj.name`: a method of str/dict (as a bound callable), else a dict
// key or namespace attribute, else an Undefined whose reason is Jinja's
// ("'dict object' has no attribute 'name'").
Value GetAttribute(const Value& obj, std::string_view name);
// Jinja's `obj[key]`: list/tuple/str index (negative from the end), dict key,
// namespace attribute; else an Undefined with Jinja's reason. Errors only when
// obj itself is Undefined (the reason of obj).
cluster::StatusOr<Value> GetItem(const Value& obj, const Value& key);
// Whether `obj.name(...)` names a method (supported or not) of obj's type.
bool HasMethod(const Value& obj, std::string_view name);
// Calls method `name` of `self`. REQUIRES: HasMethod(self, name).
cluster::StatusOr<Value> CallMethod(const Value& self, std::string_view name, const CallArgs& args);

// Jinja's name for an object's type in messages: "dict object", "None".
std::string ObjectTypeRepr(const Value& v);

}  // namespace engine::jinja
