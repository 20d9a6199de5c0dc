// Jinja's tests (`x is defined`, `x is not none`, `n is divisibleby 3`),
// with Jinja2's answers (Python's: a bool is a number, Undefined is iterable).
#include <algorithm>
#include <cmath>

#include "engine/chat/builtins.h"
#include "engine/chat/text.h"

namespace engine::jinja {
namespace {

using cluster::StatusOr;

constexpr std::string_view kUnaryTests[] = {"boolean", "callable", "defined",  "even",    "false",  "float",
                                            "integer", "iterable", "lower",    "mapping", "none",   "number",
                                            "odd",     "sequence", "string",   "true",    "undefined", "upper"};
constexpr std::string_view kBinaryTests[] = {"divisibleby", "eq", "equalto", "==", "ne", "!=", "ge",       ">=",
                                             "gt",          ">",  "greaterthan", "in", "le", "<=", "lessthan", "lt",
                                             "<"};
constexpr std::string_view kUnsupportedTests[] = {"escaped", "filter", "sameas", "test"};

template <typename Range>
bool Contains(const Range& range, std::string_view name) {
  return std::find(std::begin(range), std::end(range), name) != std::end(range);
}

// value % 2 (or % n) for the parity tests, as Python computes it.
StatusOr<double> Modulo(const Value& v, const Value& n, std::string_view test) {
  if (!v.is_number() || !n.is_number()) {
    return cluster::InvalidArgumentError("test '" + std::string(test) + "' needs numbers, got " + TypeName(v));
  }
  CLUSTER_ASSIGN_OR_RETURN(Value m, BinaryOp("%", v, n));
  return m.as_number();
}

StatusOr<bool> Unary(std::string_view name, const Value& v) {
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  if (name == "iterable" || name == "sequence") {
    return v.is_string() || v.is_sequence() || v.is_dict() || v.is_undefined();
  }
  if (name == "callable") return v.is_callable() || v.is_undefined();
  if (name == "lower") return text::IsLower(ToStr(v));
  if (name == "upper") return text::IsUpper(ToStr(v));
  CLUSTER_ASSIGN_OR_RETURN(double m, Modulo(v, Value::Int(2), name));
  return name == "odd" ? m == 1 : m == 0;  // odd, even
}

}  // namespace

BuiltinSupport TestSupport(std::string_view name) {
  if (Contains(kUnaryTests, name) || Contains(kBinaryTests, name)) return BuiltinSupport::kSupported;
  if (Contains(kUnsupportedTests, name)) return BuiltinSupport::kUnsupported;
  return BuiltinSupport::kUnknown;
}

cluster::StatusOr<bool> ApplyTest(std::string_view name, const Value& operand, const CallArgs& args) {
  const std::string fn = "test '" + std::string(name) + "'";
  if (Contains(kUnaryTests, name)) {
    CLUSTER_ASSIGN_OR_RETURN(auto a, BindArgs(fn, args, {}));
    (void)a;
    return Unary(name, operand);
  }
  CLUSTER_ASSIGN_OR_RETURN(auto a, BindArgs(fn, args, {"other"}, 1));
  const Value& other = *a[0];
  if (name == "divisibleby") {
    CLUSTER_ASSIGN_OR_RETURN(double m, Modulo(operand, other, name));
    return m == 0;
  }
  std::string_view op = name;
  if (name == "eq" || name == "equalto") op = "==";
  if (name == "ne") op = "!=";
  if (name == "ge") op = ">=";
  if (name == "gt" || name == "greaterthan") op = ">";
  if (name == "le") op = "<=";
  if (name == "lt" || name == "lessthan") op = "<";
  return CompareOp(op, operand, other);
}

}  // namespace engine::jinja
