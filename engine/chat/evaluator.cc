#include "engine/chat/evaluator.h"

#include <memory>
#include <utility>

#include "engine/chat/builtins.h"
#include "engine/chat/text.h"

namespace engine::jinja {
namespace {

using cluster::Status;
using cluster::StatusOr;

// Variables of one scope, chained to the enclosing one.
class Scope {
 public:
  explicit Scope(const Scope* parent) : parent_(parent) {}
  const Value* Find(std::string_view name) const {
    for (const Scope* s = this; s != nullptr; s = s->parent_) {
      if (const Value* v = s->vars_.Find(name)) return v;
    }
    return nullptr;
  }
  void Set(std::string name, Value value) { vars_.Set(std::move(name), std::move(value)); }

 private:
  const Scope* parent_;
  Dict vars_;
};

enum class Flow { kNormal, kBreak, kContinue };

// Python's iter(v) for a for loop: list, tuple, str (characters), dict (keys),
// Undefined (nothing).
StatusOr<List> IterateForLoop(const Value& v) {
  if (v.is_sequence()) return v.as_items();
  List items;
  if (v.is_undefined()) return items;
  if (v.is_string()) {
    for (char32_t c : text::Decode(v.as_string())) items.push_back(Value::String(text::Encode({&c, 1})));
    return items;
  }
  if (v.is_dict()) {
    for (const auto& [key, value] : v.as_dict()) items.push_back(Value::String(key));
    return items;
  }
  return cluster::InvalidArgumentError("'" + TypeName(v) + "' object is not iterable");
}

// Python's seq[start:stop:step] on list, tuple or str.
StatusOr<Value> Slice(const Value& v, const Value* start_v, const Value* stop_v, const Value* step_v) {
  auto index = [](const Value* x, std::optional<int64_t>& out) -> Status {
    if (x == nullptr || x->is_none()) return Status::Ok();
    if (x->is_int()) {
      out = x->as_int();
    } else if (x->is_bool()) {
      out = x->as_bool();
    } else {
      return cluster::InvalidArgumentError("slice indices must be integers or None");
    }
    return Status::Ok();
  };
  std::optional<int64_t> start, stop, step;
  CLUSTER_RETURN_IF_ERROR(index(start_v, start));
  CLUSTER_RETURN_IF_ERROR(index(stop_v, stop));
  CLUSTER_RETURN_IF_ERROR(index(step_v, step));
  const int64_t s = step.value_or(1);
  if (s == 0) return cluster::InvalidArgumentError("slice step cannot be zero");
  std::u32string cps;
  if (v.is_string()) cps = text::Decode(v.as_string());
  const auto n = static_cast<int64_t>(v.is_string() ? cps.size() : v.as_items().size());
  auto clamp = [&](std::optional<int64_t> x, int64_t fallback, int64_t low, int64_t high) {
    if (!x) return fallback;
    int64_t i = *x < 0 ? *x + n : *x;
    return i < low ? low : i > high ? high : i;
  };
  const int64_t begin = s > 0 ? clamp(start, 0, 0, n) : clamp(start, n - 1, -1, n - 1);
  const int64_t end = s > 0 ? clamp(stop, n, 0, n) : clamp(stop, -1, -1, n - 1);
  std::u32string out_cps;
  List out_items;
  for (int64_t i = begin; s > 0 ? i < end : i > end; i += s) {
    if (v.is_string()) {
      out_cps.push_back(cps[static_cast<size_t>(i)]);
    } else {
      out_items.push_back(v.as_items()[static_cast<size_t>(i)]);
    }
  }
  if (v.is_string()) return Value::String(text::Encode(out_cps));
  return v.is_tuple() ? Value::MakeTuple(std::move(out_items)) : Value::MakeList(std::move(out_items));
}

class Evaluator {
 public:
  Evaluator(const Dict& context, const RenderOptions& options)
      : context_(context), options_(options), globals_(MakeGlobals(options)) {}

  StatusOr<std::string> Render(const Body& body) {
    Scope root(nullptr);
    root_ = &root;
    std::string out;
    Flow flow = Flow::kNormal;
    CLUSTER_RETURN_IF_ERROR(ExecBody(body, root, out, flow));
    return out;
  }

 private:
  Status ExecBody(const Body& body, Scope& scope, std::string& out, Flow& flow) {
    for (const StmtPtr& s : body) {
      CLUSTER_RETURN_IF_ERROR(Exec(*s, scope, out, flow));
      if (flow != Flow::kNormal) return Status::Ok();
    }
    return Status::Ok();
  }

  Status CheckOutput(const std::string& out, Pos pos) const {
    if (out.size() <= options_.max_output_bytes) return Status::Ok();
    return AtPos(pos, cluster::ResourceExhaustedError("rendered output exceeds " +
                                                      std::to_string(options_.max_output_bytes) + " bytes"));
  }

  Status Exec(const Stmt& s, Scope& scope, std::string& out, Flow& flow) {
    switch (s.kind) {
      case StmtKind::kText:
        out += s.text;
        return CheckOutput(out, s.pos);
      case StmtKind::kOutput: {
        CLUSTER_ASSIGN_OR_RETURN(Value v, Eval(*s.expr, scope));
        out += ToStr(v);
        return CheckOutput(out, s.pos);
      }
      case StmtKind::kIf:
        for (const Branch& branch : s.branches) {
          CLUSTER_ASSIGN_OR_RETURN(Value condition, Eval(*branch.condition, scope));
          if (Truthy(condition)) return ExecBody(branch.body, scope, out, flow);
        }
        return ExecBody(s.else_body, scope, out, flow);
      case StmtKind::kFor:
        return ExecFor(s, scope, out);
      case StmtKind::kSet: {
        CLUSTER_ASSIGN_OR_RETURN(Value v, Eval(*s.expr, scope));
        return Assign(s, std::move(v), scope);
      }
      case StmtKind::kSetBlock: {
        std::string captured;
        Flow inner = Flow::kNormal;
        CLUSTER_RETURN_IF_ERROR(ExecBody(s.body, scope, captured, inner));
        scope.Set(s.targets[0], Value::String(std::move(captured)));
        return Status::Ok();
      }
      case StmtKind::kMacro: {
        auto callable = std::make_shared<Callable>();
        callable->name = s.name;
        callable->repr = "<Macro '" + s.name + "'>";
        callable->macro = &s;
        scope.Set(s.name, Value::MakeCallable(std::move(callable)));
        return Status::Ok();
      }
      case StmtKind::kBreak:
        flow = Flow::kBreak;
        return Status::Ok();
      case StmtKind::kContinue:
        flow = Flow::kContinue;
        return Status::Ok();
    }
    return Status::Ok();
  }

  // Binds names to a value: `x = v` or `a, b = v` (unpacking).
  Status Bind(const std::vector<std::string>& targets, const Value& v, Scope& scope, Pos pos) {
    if (targets.size() == 1) {
      scope.Set(targets[0], v);
      return Status::Ok();
    }
    StatusOr<List> items = IterateForLoop(v);
    if (!items.ok()) return AtPos(pos, cluster::InvalidArgumentError("cannot unpack non-iterable " + TypeName(v)));
    if (items->size() != targets.size()) {
      return RenderErrorAt(pos, items->size() < targets.size()
                                    ? "not enough values to unpack (expected " + std::to_string(targets.size()) +
                                          ", got " + std::to_string(items->size()) + ")"
                                    : "too many values to unpack (expected " + std::to_string(targets.size()) + ")");
    }
    for (size_t i = 0; i < targets.size(); ++i) scope.Set(targets[i], (*items)[i]);
    return Status::Ok();
  }

  Status Assign(const Stmt& s, Value v, Scope& scope) {
    if (s.attribute.empty()) return Bind(s.targets, v, scope, s.pos);
    const Value ns = Lookup(s.targets[0], scope);
    if (!ns.is_namespace()) return RenderErrorAt(s.pos, "cannot assign attribute on non-namespace object");
    ns.namespace_attributes().Set(s.attribute, std::move(v));
    return Status::Ok();
  }

  Status ExecFor(const Stmt& s, Scope& scope, std::string& out) {
    CLUSTER_ASSIGN_OR_RETURN(Value iterable, Eval(*s.expr, scope));
    StatusOr<List> all = IterateForLoop(iterable);
    if (!all.ok()) return AtPos(s.expr->pos, all.status());
    List items;
    for (const Value& item : *all) {
      if (s.filter) {
        Scope filter_scope(&scope);
        CLUSTER_RETURN_IF_ERROR(Bind(s.targets, item, filter_scope, s.pos));
        CLUSTER_ASSIGN_OR_RETURN(Value keep, Eval(*s.filter, filter_scope));
        if (!Truthy(keep)) continue;
      }
      items.push_back(item);
    }
    if (items.empty()) {
      Scope else_scope(&scope);
      Flow flow = Flow::kNormal;
      return ExecBody(s.else_body, else_scope, out, flow);
    }
    const auto n = static_cast<int64_t>(items.size());
    for (int64_t i = 0; i < n; ++i) {
      if (++iterations_ > options_.max_loop_iterations) {
        return RenderErrorAt(s.pos, "more than " + std::to_string(options_.max_loop_iterations) +
                                        " loop iterations in one render");
      }
      Scope iteration(&scope);
      iteration.Set("loop", MakeLoop(items, i));
      CLUSTER_RETURN_IF_ERROR(Bind(s.targets, items[static_cast<size_t>(i)], iteration, s.pos));
      Flow flow = Flow::kNormal;
      CLUSTER_RETURN_IF_ERROR(ExecBody(s.body, iteration, out, flow));
      if (flow == Flow::kBreak) break;
    }
    return Status::Ok();
  }

  // Jinja's `loop` object for iteration i of items.
  static Value MakeLoop(const List& items, int64_t i) {
    const auto n = static_cast<int64_t>(items.size());
    Dict loop;
    loop.Set("index", Value::Int(i + 1));
    loop.Set("index0", Value::Int(i));
    loop.Set("revindex", Value::Int(n - i));
    loop.Set("revindex0", Value::Int(n - i - 1));
    loop.Set("first", Value::Bool(i == 0));
    loop.Set("last", Value::Bool(i == n - 1));
    loop.Set("length", Value::Int(n));
    loop.Set("depth", Value::Int(1));
    loop.Set("depth0", Value::Int(0));
    loop.Set("previtem", i > 0 ? items[static_cast<size_t>(i - 1)] : Value::Undefined("there is no previous item"));
    loop.Set("nextitem", i + 1 < n ? items[static_cast<size_t>(i + 1)] : Value::Undefined("there is no next item"));
    auto cycle = std::make_shared<Callable>();
    cycle->name = "loop.cycle";
    cycle->repr = "<bound method LoopContext.cycle>";
    cycle->builtin = [i](const CallArgs& args) -> StatusOr<Value> {
      if (!args.keyword.empty()) return cluster::InvalidArgumentError("loop.cycle() takes no keyword arguments");
      if (args.positional.empty()) return cluster::InvalidArgumentError("no items for cycling given");
      return args.positional[static_cast<size_t>(i) % args.positional.size()];
    };
    loop.Set("cycle", Value::MakeCallable(std::move(cycle)));
    auto changed = std::make_shared<Callable>();
    changed->name = "loop.changed";
    changed->repr = "<bound method LoopContext.changed>";
    changed->builtin = [](const CallArgs&) -> StatusOr<Value> {
      return cluster::UnimplementedError("loop.changed() is unsupported");
    };
    loop.Set("changed", Value::MakeCallable(std::move(changed)));
    return Value::MakeDict(std::move(loop));
  }

  Value Lookup(const std::string& name, const Scope& scope) const {
    if (const Value* v = scope.Find(name)) return *v;
    if (const Value* v = context_.Find(name)) return *v;
    if (const Value* v = globals_.Find(name)) return *v;
    return Value::Undefined("'" + name + "' is undefined");
  }

  StatusOr<CallArgs> EvalArgs(const ArgList& args, Scope& scope) {
    CallArgs out;
    for (const ExprPtr& e : args.positional) {
      CLUSTER_ASSIGN_OR_RETURN(Value v, Eval(*e, scope));
      out.positional.push_back(std::move(v));
    }
    for (const auto& [key, e] : args.keyword) {
      CLUSTER_ASSIGN_OR_RETURN(Value v, Eval(*e, scope));
      out.keyword.emplace_back(key, std::move(v));
    }
    return out;
  }

  StatusOr<Value> Eval(const Expr& e, Scope& scope) {
    switch (e.kind) {
      case ExprKind::kLiteral: return e.literal;
      case ExprKind::kName: return Lookup(e.name, scope);
      case ExprKind::kList:
      case ExprKind::kTuple: {
        List items;
        for (const ExprPtr& c : e.children) {
          CLUSTER_ASSIGN_OR_RETURN(Value v, Eval(*c, scope));
          items.push_back(std::move(v));
        }
        return e.kind == ExprKind::kList ? Value::MakeList(std::move(items)) : Value::MakeTuple(std::move(items));
      }
      case ExprKind::kDict: {
        Dict dict;
        for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
          CLUSTER_ASSIGN_OR_RETURN(Value key, Eval(*e.children[i], scope));
          if (!key.is_string()) {
            return UnsupportedAt(e.children[i]->pos, "dict keys other than strings are unsupported");
          }
          CLUSTER_ASSIGN_OR_RETURN(Value value, Eval(*e.children[i + 1], scope));
          dict.Set(key.as_string(), std::move(value));
        }
        return Value::MakeDict(std::move(dict));
      }
      case ExprKind::kGetattr: {
        CLUSTER_ASSIGN_OR_RETURN(Value obj, Eval(*e.children[0], scope));
        if (obj.is_undefined()) return AtPos(e.pos, UndefinedError(obj));
        return GetAttribute(obj, e.name);
      }
      case ExprKind::kGetitem: {
        CLUSTER_ASSIGN_OR_RETURN(Value obj, Eval(*e.children[0], scope));
        CLUSTER_ASSIGN_OR_RETURN(Value key, Eval(*e.children[1], scope));
        StatusOr<Value> v = GetItem(obj, key);
        if (!v.ok()) return AtPos(e.pos, v.status());
        return v;
      }
      case ExprKind::kSlice: return EvalSlice(e, scope);
      case ExprKind::kCall: return EvalCall(e, scope);
      case ExprKind::kFilter: {
        CLUSTER_ASSIGN_OR_RETURN(Value operand, Eval(*e.children[0], scope));
        CLUSTER_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e.args, scope));
        StatusOr<Value> v = ApplyFilter(e.name, operand, args);
        if (!v.ok()) return AtPos(e.pos, v.status());
        return v;
      }
      case ExprKind::kTest: {
        CLUSTER_ASSIGN_OR_RETURN(Value operand, Eval(*e.children[0], scope));
        CLUSTER_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e.args, scope));
        StatusOr<bool> v = ApplyTest(e.name, operand, args);
        if (!v.ok()) return AtPos(e.pos, v.status());
        return Value::Bool(*v != e.negated);
      }
      case ExprKind::kNot: {
        CLUSTER_ASSIGN_OR_RETURN(Value v, Eval(*e.children[0], scope));
        return Value::Bool(!Truthy(v));
      }
      case ExprKind::kNegate:
      case ExprKind::kPlus: {
        CLUSTER_ASSIGN_OR_RETURN(Value v, Eval(*e.children[0], scope));
        StatusOr<Value> r = NegateOp(v, e.kind == ExprKind::kNegate);
        if (!r.ok()) return AtPos(e.pos, r.status());
        return r;
      }
      case ExprKind::kBinary: {
        CLUSTER_ASSIGN_OR_RETURN(Value a, Eval(*e.children[0], scope));
        CLUSTER_ASSIGN_OR_RETURN(Value b, Eval(*e.children[1], scope));
        StatusOr<Value> r = BinaryOp(e.op, a, b);
        if (!r.ok()) return AtPos(e.pos, r.status());
        return r;
      }
      case ExprKind::kAnd:
      case ExprKind::kOr: {
        CLUSTER_ASSIGN_OR_RETURN(Value a, Eval(*e.children[0], scope));
        if (Truthy(a) == (e.kind == ExprKind::kOr)) return a;
        return Eval(*e.children[1], scope);
      }
      case ExprKind::kCompare: {
        CLUSTER_ASSIGN_OR_RETURN(Value left, Eval(*e.children[0], scope));
        for (size_t i = 0; i < e.ops.size(); ++i) {
          CLUSTER_ASSIGN_OR_RETURN(Value right, Eval(*e.children[i + 1], scope));
          StatusOr<bool> ok = CompareOp(e.ops[i], left, right);
          if (!ok.ok()) return AtPos(e.pos, ok.status());
          if (!*ok) return Value::Bool(false);
          left = std::move(right);
        }
        return Value::Bool(true);
      }
      case ExprKind::kCondExpr: {
        CLUSTER_ASSIGN_OR_RETURN(Value condition, Eval(*e.children[0], scope));
        if (Truthy(condition)) return Eval(*e.children[1], scope);
        if (e.children[2]) return Eval(*e.children[2], scope);
        return Value::Undefined("the inline if-expression at " + ToString(e.pos) +
                                " evaluated to false and no else section was defined");
      }
    }
    return cluster::InternalError("unknown expression kind");
  }

  StatusOr<Value> EvalSlice(const Expr& e, Scope& scope) {
    CLUSTER_ASSIGN_OR_RETURN(Value obj, Eval(*e.children[0], scope));
    Value parts[3];
    for (int i = 0; i < 3; ++i) {
      if (e.children[static_cast<size_t>(i) + 1]) {
        CLUSTER_ASSIGN_OR_RETURN(parts[i], Eval(*e.children[static_cast<size_t>(i) + 1], scope));
      }
    }
    auto part = [&](int i) { return e.children[static_cast<size_t>(i) + 1] ? &parts[i] : nullptr; };
    if (obj.is_undefined()) return AtPos(e.pos, UndefinedError(obj));
    if (!obj.is_sequence() && !obj.is_string()) {  // Jinja2 slices with Python's [] directly
      return RenderErrorAt(e.pos, "'" + TypeName(obj) + "' object is not subscriptable");
    }
    StatusOr<Value> r = Slice(obj, part(0), part(1), part(2));
    if (!r.ok()) return AtPos(e.pos, r.status());
    return r;
  }

  StatusOr<Value> EvalCall(const Expr& e, Scope& scope) {
    const Expr& callee = *e.children[0];
    Value fn;
    if (callee.kind == ExprKind::kGetattr) {  // obj.method(...) without a bound-method object
      CLUSTER_ASSIGN_OR_RETURN(Value obj, Eval(*callee.children[0], scope));
      if (obj.is_undefined()) return AtPos(callee.pos, UndefinedError(obj));
      if (HasMethod(obj, callee.name)) {
        CLUSTER_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e.args, scope));
        StatusOr<Value> r = CallMethod(obj, callee.name, args);
        if (!r.ok()) return AtPos(e.pos, r.status());
        return r;
      }
      fn = GetAttribute(obj, callee.name);
    } else {
      CLUSTER_ASSIGN_OR_RETURN(fn, Eval(callee, scope));
    }
    if (fn.is_undefined()) return AtPos(e.pos, UndefinedError(fn));
    if (!fn.is_callable()) return RenderErrorAt(e.pos, "'" + TypeName(fn) + "' object is not callable");
    CLUSTER_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(e.args, scope));
    const Callable& callable = fn.as_callable();
    if (callable.macro != nullptr) return CallMacro(callable, args, e.pos);
    StatusOr<Value> r = callable.builtin(args);
    if (!r.ok()) return AtPos(e.pos, r.status());
    return r;
  }

  StatusOr<Value> CallMacro(const Callable& callable, const CallArgs& args, Pos pos) {
    const Stmt& macro = *callable.macro;
    const std::string name = "macro '" + macro.name + "'";
    if (depth_ >= options_.max_call_depth) {
      return AtPos(pos, cluster::ResourceExhaustedError("macro calls nested deeper than " +
                                                        std::to_string(options_.max_call_depth)));
    }
    if (args.positional.size() > macro.params.size()) {
      return RenderErrorAt(pos, name + " takes not more than " + std::to_string(macro.params.size()) + " argument(s)");
    }
    Scope scope(root_);
    std::vector<bool> bound(macro.params.size(), false);
    for (size_t i = 0; i < args.positional.size(); ++i) {
      scope.Set(macro.params[i].name, args.positional[i]);
      bound[i] = true;
    }
    for (const auto& [key, value] : args.keyword) {
      size_t i = 0;
      while (i < macro.params.size() && macro.params[i].name != key) ++i;
      if (i == macro.params.size()) return RenderErrorAt(pos, name + " takes no keyword argument '" + key + "'");
      if (bound[i]) return RenderErrorAt(pos, name + " got multiple values for argument '" + key + "'");
      scope.Set(key, value);
      bound[i] = true;
    }
    for (size_t i = 0; i < macro.params.size(); ++i) {  // defaults see earlier parameters
      if (bound[i]) continue;
      Value v = Value::Undefined("'" + macro.params[i].name + "' is undefined");
      if (macro.params[i].default_value) {
        CLUSTER_ASSIGN_OR_RETURN(v, Eval(*macro.params[i].default_value, scope));
      }
      scope.Set(macro.params[i].name, std::move(v));
    }
    std::string out;
    Flow flow = Flow::kNormal;
    ++depth_;
    const Status status = ExecBody(macro.body, scope, out, flow);
    --depth_;
    CLUSTER_RETURN_IF_ERROR(status);
    return Value::String(std::move(out));
  }

  const Dict& context_;
  const RenderOptions& options_;
  const Dict globals_;
  Scope* root_ = nullptr;
  int depth_ = 0;
  size_t iterations_ = 0;
};

}  // namespace

cluster::StatusOr<std::string> RenderBody(const Body& body, const Dict& context, const RenderOptions& options) {
  return Evaluator(context, options).Render(body);
}

}  // namespace engine::jinja
