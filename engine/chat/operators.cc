// Python's operators on Values, as Jinja2 evaluates them.
#include <cmath>
#include <limits>

#include "engine/chat/builtins.h"
#include "engine/chat/text.h"

namespace engine::jinja {
namespace {

using cluster::Status;
using cluster::StatusOr;

// Repetition ("ab" * n, [x] * n) refuses results larger than this.
constexpr size_t kMaxRepeatBytes = size_t{64} << 20;

Status TypeError(const std::string& message) { return cluster::InvalidArgumentError(message); }

Status Overflow() {
  return cluster::UnimplementedError("integer overflow: Python integers are unbounded, this engine's are 64-bit");
}

Status OperandError(std::string_view op, const Value& a, const Value& b) {
  return TypeError("unsupported operand type(s) for " + std::string(op) + ": '" + TypeName(a) + "' and '" +
                   TypeName(b) + "'");
}

// bool and int as a Python int.
bool IsIntegral(const Value& v) { return v.is_int() || v.is_bool(); }
int64_t AsIntegral(const Value& v) { return v.is_bool() ? (v.as_bool() ? 1 : 0) : v.as_int(); }

StatusOr<Value> Repeat(const Value& seq, int64_t count) {
  if (count < 0) count = 0;
  if (seq.is_string()) {
    const std::string& s = seq.as_string();
    if (!s.empty() && static_cast<size_t>(count) > kMaxRepeatBytes / s.size()) {
      return cluster::ResourceExhaustedError("string repetition result is too large");
    }
    std::string out;
    for (int64_t i = 0; i < count; ++i) out += s;
    return Value::String(std::move(out));
  }
  const List& items = seq.as_items();
  if (!items.empty() && static_cast<size_t>(count) > kMaxRepeatBytes / (items.size() * sizeof(Value))) {
    return cluster::ResourceExhaustedError("list repetition result is too large");
  }
  List out;
  for (int64_t i = 0; i < count; ++i) out.insert(out.end(), items.begin(), items.end());
  return seq.is_tuple() ? Value::MakeTuple(std::move(out)) : Value::MakeList(std::move(out));
}

StatusOr<Value> Arithmetic(std::string_view op, const Value& a, const Value& b) {
  if (IsIntegral(a) && IsIntegral(b)) {
    const int64_t x = AsIntegral(a);
    const int64_t y = AsIntegral(b);
    int64_t r = 0;
    if (op == "+") {
      if (__builtin_add_overflow(x, y, &r)) return Overflow();
      return Value::Int(r);
    }
    if (op == "-") {
      if (__builtin_sub_overflow(x, y, &r)) return Overflow();
      return Value::Int(r);
    }
    if (op == "*") {
      if (__builtin_mul_overflow(x, y, &r)) return Overflow();
      return Value::Int(r);
    }
    if (op == "/") {
      if (y == 0) return TypeError("division by zero");
      return Value::Float(static_cast<double>(x) / static_cast<double>(y));
    }
    if (op == "//" || op == "%") {
      if (y == 0) return TypeError("integer division or modulo by zero");
      if (x == std::numeric_limits<int64_t>::min() && y == -1) return Overflow();
      int64_t q = x / y;
      int64_t m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {  // floor, as Python
        --q;
        m += y;
      }
      return Value::Int(op == "//" ? q : m);
    }
    if (op == "**") {
      if (y < 0) {
        if (x == 0) return TypeError("0.0 cannot be raised to a negative power");
        return Value::Float(std::pow(static_cast<double>(x), static_cast<double>(y)));
      }
      int64_t result = 1;
      for (int64_t i = 0; i < y; ++i) {
        if (__builtin_mul_overflow(result, x, &result)) return Overflow();
        if (result == 0 || result == 1) break;
      }
      if (result == 1 && x == -1 && y % 2 == 1) result = -1;
      return Value::Int(result);
    }
  }
  const double x = a.as_number();
  const double y = b.as_number();
  if (op == "+") return Value::Float(x + y);
  if (op == "-") return Value::Float(x - y);
  if (op == "*") return Value::Float(x * y);
  if (op == "/") {
    if (y == 0) return TypeError("float division by zero");
    return Value::Float(x / y);
  }
  if (op == "//") {
    if (y == 0) return TypeError("float floor division by zero");
    return Value::Float(std::floor(x / y));
  }
  if (op == "%") {
    if (y == 0) return TypeError("float modulo");
    double m = std::fmod(x, y);
    if (m != 0 && ((m < 0) != (y < 0))) m += y;
    return Value::Float(m);
  }
  if (x == 0 && y < 0) return TypeError("0.0 cannot be raised to a negative power");
  const double r = std::pow(x, y);
  if (std::isnan(r)) return cluster::UnimplementedError("complex results of ** are unsupported");
  return Value::Float(r);
}

// Whether Python can order a and b (numbers, strings, same-kind sequences).
bool Orderable(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return true;
  if (a.is_string() && b.is_string()) return true;
  return (a.is_list() && b.is_list()) || (a.is_tuple() && b.is_tuple());
}

StatusOr<bool> Contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::kUndefined:
      return false;  // Undefined iterates as empty
    case Value::Kind::kString:
      if (!item.is_string()) {
        return TypeError("'in <string>' requires string as left operand, not " + TypeName(item));
      }
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Kind::kList:
    case Value::Kind::kTuple:
      for (const Value& v : container.as_items()) {
        if (Equals(v, item)) return true;
      }
      return false;
    case Value::Kind::kDict:
      return item.is_string() && container.as_dict().Find(item.as_string()) != nullptr;
    default:
      return TypeError("argument of type '" + TypeName(container) + "' is not iterable");
  }
}

}  // namespace

StatusOr<Value> BinaryOp(std::string_view op, const Value& a, const Value& b) {
  if (op == "~") return Value::String(ToStr(a) + ToStr(b));
  if (a.is_undefined()) return UndefinedError(a);
  if (b.is_undefined()) return UndefinedError(b);
  if (a.is_number() && b.is_number()) return Arithmetic(op, a, b);
  if (op == "+") {
    if (a.is_string() && b.is_string()) return Value::String(a.as_string() + b.as_string());
    if ((a.is_list() && b.is_list()) || (a.is_tuple() && b.is_tuple())) {
      List items = a.as_items();
      items.insert(items.end(), b.as_items().begin(), b.as_items().end());
      return a.is_tuple() ? Value::MakeTuple(std::move(items)) : Value::MakeList(std::move(items));
    }
    if (a.is_string() || a.is_list() || a.is_tuple()) {
      return TypeError("can only concatenate " + TypeName(a) + " (not \"" + TypeName(b) + "\") to " + TypeName(a));
    }
    return OperandError(op, a, b);
  }
  if (op == "*") {
    if ((a.is_string() || a.is_sequence()) && IsIntegral(b)) return Repeat(a, AsIntegral(b));
    if (IsIntegral(a) && (b.is_string() || b.is_sequence())) return Repeat(b, AsIntegral(a));
    return TypeError("can't multiply sequence by non-int of type '" + TypeName(a.is_number() ? a : b) + "'");
  }
  if (op == "%" && a.is_string()) {
    return cluster::UnimplementedError("printf-style string formatting ('...' % values) is unsupported");
  }
  return OperandError(op, a, b);
}

StatusOr<bool> CompareOp(std::string_view op, const Value& a, const Value& b) {
  if (op == "==") return Equals(a, b);
  if (op == "!=") return !Equals(a, b);
  if (op == "in") return Contains(b, a);
  if (op == "not in") {
    CLUSTER_ASSIGN_OR_RETURN(bool in, Contains(b, a));
    return !in;
  }
  if (a.is_undefined()) return UndefinedError(a);
  if (b.is_undefined()) return UndefinedError(b);
  if (!Orderable(a, b)) {
    return TypeError("'" + std::string(op) + "' not supported between instances of '" + TypeName(a) + "' and '" +
                     TypeName(b) + "'");
  }
  CLUSTER_ASSIGN_OR_RETURN(int c, Compare(a, b));
  if (op == "<") return c < 0;
  if (op == "<=") return c <= 0;
  if (op == ">") return c > 0;
  return c >= 0;
}

StatusOr<int> Compare(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (IsIntegral(a) && IsIntegral(b)) {
      const int64_t x = AsIntegral(a);
      const int64_t y = AsIntegral(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    const double x = a.as_number();
    const double y = b.as_number();
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.as_string().compare(b.as_string());  // UTF-8 byte order == code point order
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if ((a.is_list() && b.is_list()) || (a.is_tuple() && b.is_tuple())) {
    const List& x = a.as_items();
    const List& y = b.as_items();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (Equals(x[i], y[i])) continue;
      return Compare(x[i], y[i]);
    }
    return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  }
  if (a.is_undefined()) return UndefinedError(a);
  if (b.is_undefined()) return UndefinedError(b);
  return TypeError("'<' not supported between instances of '" + TypeName(a) + "' and '" + TypeName(b) + "'");
}

StatusOr<Value> NegateOp(const Value& v, bool negate) {
  if (v.is_undefined()) return UndefinedError(v);
  if (IsIntegral(v)) {
    const int64_t x = AsIntegral(v);
    if (!negate) return Value::Int(x);
    if (x == std::numeric_limits<int64_t>::min()) return Overflow();
    return Value::Int(-x);
  }
  if (v.is_float()) return Value::Float(negate ? -v.as_float() : v.as_float());
  return TypeError(std::string("bad operand type for unary ") + (negate ? "-" : "+") + ": '" + TypeName(v) + "'");
}

}  // namespace engine::jinja
