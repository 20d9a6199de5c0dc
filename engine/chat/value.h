// engine::jinja::Value: the values a chat template computes with.
//
// Templates are written for Python's Jinja2, so a Value behaves like the
// Python object it stands for: str, int, float, bool, None, list, tuple, dict
// (insertion-ordered, string keys), Jinja's namespace, a callable (macro or
// built-in function), and Jinja's Undefined (what a missing variable, key or
// attribute evaluates to).
//
// Values are cheap to copy: lists and dicts are shared and immutable once
// built (templates cannot mutate them; HF renders in Jinja's immutable
// sandbox). Only a namespace is mutable (`{% set ns.x = 1 %}`), and copies of
// a namespace Value refer to the same object, as in Python.
//
// Thread safety: a Value that holds no namespace may be read from several
// threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace engine::jinja {

class Value;
using List = std::vector<Value>;

class Dict;
struct Callable;  // a macro or built-in function; built only by the template engine

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kTuple, kDict, kNamespace, kCallable };

  // An Undefined without a reason.
  Value() = default;

  // An Undefined that remembers why it is undefined, in Jinja's words
  // ("'foo' is undefined", "'dict object' has no attribute 'bar'"); the
  // message of the error raised when the template uses it in a way that
  // needs a value.
  static Value Undefined(std::string reason);
  static Value None();
  static Value Bool(bool b);
  static Value Int(int64_t i);
  static Value Float(double d);
  static Value String(std::string s);
  static Value MakeList(List items);
  static Value MakeTuple(List items);
  static Value MakeDict(Dict dict);
  static Value MakeNamespace(Dict attributes);
  static Value MakeCallable(std::shared_ptr<const Callable> callable);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_tuple() const { return kind_ == Kind::kTuple; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_namespace() const { return kind_ == Kind::kNamespace; }
  bool is_callable() const { return kind_ == Kind::kCallable; }
  // bool, int or float (Python's numbers.Number; bool is an int in Python).
  bool is_number() const { return kind_ == Kind::kBool || kind_ == Kind::kInt || kind_ == Kind::kFloat; }
  // list or tuple.
  bool is_sequence() const { return kind_ == Kind::kList || kind_ == Kind::kTuple; }

  // Accessors. REQUIRES: the matching kind (as_items: list or tuple;
  // as_number: is_number()). Asserted in debug builds.
  bool as_bool() const;
  int64_t as_int() const;
  double as_float() const;
  double as_number() const;
  const std::string& as_string() const;
  const List& as_items() const;
  const Dict& as_dict() const;
  // The attributes of a namespace; mutable through any copy of the Value.
  Dict& namespace_attributes() const;
  const Callable& as_callable() const;
  // Why an Undefined is undefined (may be empty).
  const std::string& undefined_reason() const;

 private:
  using Storage = std::variant<std::monostate, bool, int64_t, double, std::string, std::shared_ptr<const List>,
                               std::shared_ptr<const Dict>, std::shared_ptr<Dict>, std::shared_ptr<const Callable>>;
  Value(Kind kind, Storage storage) : kind_(kind), storage_(std::move(storage)) {}

  Kind kind_ = Kind::kUndefined;
  Storage storage_;  // the Undefined reason is kept in the std::string slot
};

// A string-keyed map that keeps insertion order, like a Python dict.
class Dict {
 public:
  using Entry = std::pair<std::string, Value>;

  // Returns the value for key, or nullptr.
  const Value* Find(std::string_view key) const;
  // Replaces the value of an existing key in place, or appends a new key.
  void Set(std::string key, Value value);

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  std::vector<Entry>::const_iterator begin() const { return entries_.begin(); }
  std::vector<Entry>::const_iterator end() const { return entries_.end(); }

 private:
  std::vector<Entry> entries_;
};

// Python's truth value: Undefined, None, False, 0, 0.0, "" and empty
// containers are false.
bool Truthy(const Value& v);

// Python's == (1 == 1.0 == True; lists and tuples are never equal to each
// other; dicts compare by content; Undefined equals only Undefined).
bool Equals(const Value& a, const Value& b);

// Python's type name: "str", "int", "float", "bool", "NoneType", "list",
// "tuple", "dict", "Namespace", "function", "Undefined".
std::string TypeName(const Value& v);

// Python's str(v) as Jinja prints it: Undefined prints as "", None as "None",
// booleans as "True"/"False", floats as Python's repr, containers as
// Python's repr ("['a', 1]", "{'k': None}").
std::string ToStr(const Value& v);

// Python's repr(v): strings quoted and escaped as Python does.
std::string Repr(const Value& v);

// Python's repr(float): shortest round-trip digits, "1.0", "1e-05", "1e+16",
// "inf", "nan".
std::string FormatFloat(double d);

}  // namespace engine::jinja
