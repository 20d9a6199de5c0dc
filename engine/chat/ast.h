// The syntax tree of a parsed template.
//
// Internal to engine_chat. Nodes are "fat": one struct per family (Expr,
// Stmt) whose fields are used as the comment of each kind says. The tree is
// immutable after parsing, so one parsed template may be rendered by several
// threads at once.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/chat/position.h"
#include "engine/chat/value.h"

namespace engine::jinja {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

// Call arguments as written: f(a, b, key=c).
struct ArgList {
  std::vector<ExprPtr> positional;
  std::vector<std::pair<std::string, ExprPtr>> keyword;
};

enum class ExprKind {
  kLiteral,   // literal
  kName,      // name
  kList,      // children = items
  kTuple,     // children = items
  kDict,      // children = key0, value0, key1, value1, ...
  kGetattr,   // children[0].name   (name = attribute)
  kGetitem,   // children[0][children[1]]
  kSlice,     // children[0][children[1]:children[2]:children[3]] (omitted parts are null)
  kCall,      // children[0](args)
  kFilter,    // children[0] | name(args)
  kTest,      // children[0] is [not] name(args)  (negated)
  kNot,       // not children[0]
  kNegate,    // -children[0]
  kPlus,      // +children[0]
  kBinary,    // children[0] op children[1]; op is + - * / // % ** ~
  kAnd,       // children[0] and children[1]
  kOr,        // children[0] or children[1]
  kCompare,   // children[0] ops[0] children[1] ops[1] children[2] ...; ops: == != < <= > >= in "not in"
  kCondExpr,  // children[1] if children[0] else children[2] (children[2] null: no else)
};

struct Expr {
  ExprKind kind = ExprKind::kLiteral;
  // Where the construct is: its first token; for a filter or test, its name;
  // for an operator, the operator.
  Pos pos;
  Value literal;
  std::string name;
  std::string op;
  bool negated = false;
  std::vector<ExprPtr> children;
  std::vector<std::string> ops;
  ArgList args;
};

enum class StmtKind {
  kText,      // text
  kOutput,    // {{ expr }}
  kIf,        // branches (condition, body) ..., else_body
  kFor,       // {% for targets in expr if filter %} body {% else %} else_body
  kSet,       // {% set targets = expr %}, or {% set targets[0].attribute = expr %}
  kSetBlock,  // {% set targets[0] %} body {% endset %}
  kMacro,     // {% macro name(params) %} body
  kBreak,
  kContinue,
};

struct Branch {
  ExprPtr condition;
  Body body;
};

struct Param {
  std::string name;
  ExprPtr default_value;  // null: required
};

struct Stmt {
  StmtKind kind = StmtKind::kText;
  Pos pos;  // the tag's "{%" (or the text's start)
  std::string text;
  ExprPtr expr;
  ExprPtr filter;
  std::vector<Branch> branches;
  Body body;
  Body else_body;
  std::vector<std::string> targets;
  std::string attribute;  // kSet on a namespace: targets[0].attribute
  std::string name;
  std::vector<Param> params;
};

}  // namespace engine::jinja
