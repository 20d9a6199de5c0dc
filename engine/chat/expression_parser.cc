#include "engine/chat/expression_parser.h"

#include <algorithm>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "engine/chat/builtins.h"

namespace engine::jinja {
namespace {

template <typename Range>
bool Contains(const Range& range, std::string_view name) {
  return std::find(std::begin(range), std::end(range), name) != std::end(range);
}

ExprPtr MakeExpr(ExprKind kind, Pos pos) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->pos = pos;
  return e;
}

ExprPtr MakeLiteral(Value v, Pos pos) {
  ExprPtr e = MakeExpr(ExprKind::kLiteral, pos);
  e->literal = std::move(v);
  return e;
}

ExprPtr MakeUnary(ExprKind kind, Pos pos, ExprPtr operand) {
  ExprPtr e = MakeExpr(kind, pos);
  e->children.push_back(std::move(operand));
  return e;
}

ExprPtr MakeBinary(ExprKind kind, Pos pos, std::string op, ExprPtr left, ExprPtr right) {
  ExprPtr e = MakeExpr(kind, pos);
  e->op = std::move(op);
  e->children.push_back(std::move(left));
  e->children.push_back(std::move(right));
  return e;
}

}  // namespace

using cluster::Status;
using cluster::StatusOr;

// Comma-separated expressions; a tuple if there is a comma.
StatusOr<ExprPtr> ExpressionParser::ParseTuple(bool with_condexpr) {
  const Pos pos = Peek().pos;
  std::vector<ExprPtr> items;
  bool is_tuple = false;
  while (true) {
    CLUSTER_ASSIGN_OR_RETURN(ExprPtr item, ParseExpression(with_condexpr));
    items.push_back(std::move(item));
    if (!IsOp(",")) break;
    Next();
    is_tuple = true;
    const Token& t = Peek();
    if (t.kind == TokenKind::kBlockEnd || t.kind == TokenKind::kVariableEnd || IsOp(")") || IsName("if")) break;
  }
  if (!is_tuple) return std::move(items[0]);
  ExprPtr e = MakeExpr(ExprKind::kTuple, pos);
  e->children = std::move(items);
  return e;
}

StatusOr<ExprPtr> ExpressionParser::ParseExpression(bool with_condexpr) {
  if (!with_condexpr) return ParseOr();
  CLUSTER_ASSIGN_OR_RETURN(ExprPtr expr, ParseOr());
  while (IsName("if")) {
    const Pos pos = Next().pos;
    ExprPtr e = MakeExpr(ExprKind::kCondExpr, pos);
    CLUSTER_ASSIGN_OR_RETURN(ExprPtr condition, ParseOr());
    ExprPtr otherwise;
    if (IsName("else")) {
      Next();
      CLUSTER_ASSIGN_OR_RETURN(otherwise, ParseExpression(true));
    }
    e->children.push_back(std::move(condition));
    e->children.push_back(std::move(expr));
    e->children.push_back(std::move(otherwise));
    expr = std::move(e);
  }
  return expr;
}

StatusOr<ExprPtr> ExpressionParser::ParseOr() {
  CLUSTER_ASSIGN_OR_RETURN(ExprPtr left, ParseAnd());
  while (IsName("or")) {
    const Pos pos = Next().pos;
    CLUSTER_ASSIGN_OR_RETURN(ExprPtr right, ParseAnd());
    left = MakeBinary(ExprKind::kOr, pos, "or", std::move(left), std::move(right));
  }
  return left;
}

StatusOr<ExprPtr> ExpressionParser::ParseAnd() {
  CLUSTER_ASSIGN_OR_RETURN(ExprPtr left, ParseNot());
  while (IsName("and")) {
    const Pos pos = Next().pos;
    CLUSTER_ASSIGN_OR_RETURN(ExprPtr right, ParseNot());
    left = MakeBinary(ExprKind::kAnd, pos, "and", std::move(left), std::move(right));
  }
  return left;
}

StatusOr<ExprPtr> ExpressionParser::ParseNot() {
  if (IsName("not")) {
    const Pos pos = Next().pos;
    CLUSTER_ASSIGN_OR_RETURN(ExprPtr operand, ParseNot());
    return MakeUnary(ExprKind::kNot, pos, std::move(operand));
  }
  return ParseCompare();
}

StatusOr<ExprPtr> ExpressionParser::ParseCompare() {
  const Pos pos = Peek().pos;
  CLUSTER_ASSIGN_OR_RETURN(ExprPtr first, ParseMath1());
  ExprPtr e = MakeExpr(ExprKind::kCompare, pos);
  e->children.push_back(std::move(first));
  while (true) {
    std::string op;
    if (Peek().kind == TokenKind::kOperator &&
        Contains(std::initializer_list<std::string_view>{"==", "!=", "<", "<=", ">", ">="}, Peek().text)) {
      op = Next().text;
    } else if (IsName("in")) {
      Next();
      op = "in";
    } else if (IsName("not") && IsName("in", 1)) {
      Next();
      Next();
      op = "not in";
    } else {
      break;
    }
    CLUSTER_ASSIGN_OR_RETURN(ExprPtr next, ParseMath1());
    e->ops.push_back(std::move(op));
    e->children.push_back(std::move(next));
  }
  if (e->ops.empty()) return std::move(e->children[0]);
  return e;
}

// Left-associative binary levels: + -, then ~, then * / // %, then **.
StatusOr<ExprPtr> ExpressionParser::ParseBinaryLevel(int level) {
  static const std::initializer_list<std::string_view> kLevels[] = {{"+", "-"}, {"~"}, {"*", "/", "//", "%"}, {"**"}};
  auto operand = [&]() -> StatusOr<ExprPtr> {
    if (level == 3) return ParseUnary(true);
    return ParseBinaryLevel(level + 1);
  };
  CLUSTER_ASSIGN_OR_RETURN(ExprPtr left, operand());
  while (Peek().kind == TokenKind::kOperator && Contains(kLevels[level], Peek().text)) {
    const Token& op = Next();
    CLUSTER_ASSIGN_OR_RETURN(ExprPtr right, operand());
    left = MakeBinary(ExprKind::kBinary, op.pos, op.text, std::move(left), std::move(right));
  }
  return left;
}

StatusOr<ExprPtr> ExpressionParser::ParseUnary(bool with_filter) {
  ExprPtr node;
  if (IsOp("-") || IsOp("+")) {
    const Token& op = Next();
    CLUSTER_ASSIGN_OR_RETURN(ExprPtr operand, ParseUnary(false));
    node = MakeUnary(op.text == "-" ? ExprKind::kNegate : ExprKind::kPlus, op.pos, std::move(operand));
  } else {
    CLUSTER_ASSIGN_OR_RETURN(node, ParsePrimary());
  }
  CLUSTER_ASSIGN_OR_RETURN(node, ParsePostfix(std::move(node)));
  if (with_filter) {
    CLUSTER_ASSIGN_OR_RETURN(node, ParseFilterExpr(std::move(node)));
  }
  return node;
}

StatusOr<ExprPtr> ExpressionParser::ParsePrimary() {
  const Token& t = Next();
  switch (t.kind) {
    case TokenKind::kName:
      if (t.text == "true" || t.text == "True") return MakeLiteral(Value::Bool(true), t.pos);
      if (t.text == "false" || t.text == "False") return MakeLiteral(Value::Bool(false), t.pos);
      if (t.text == "none" || t.text == "None") return MakeLiteral(Value::None(), t.pos);
      {
        ExprPtr e = MakeExpr(ExprKind::kName, t.pos);
        e->name = t.text;
        return e;
      }
    case TokenKind::kString: {
      std::string s = t.text;
      while (Peek().kind == TokenKind::kString) s += Next().text;  // 'a' 'b' == 'ab'
      return MakeLiteral(Value::String(std::move(s)), t.pos);
    }
    case TokenKind::kInteger: return MakeLiteral(Value::Int(t.int_value), t.pos);
    case TokenKind::kFloat: return MakeLiteral(Value::Float(t.float_value), t.pos);
    case TokenKind::kOperator:
      if (t.text == "(") {
        if (IsOp(")")) {
          Next();
          return MakeExpr(ExprKind::kTuple, t.pos);
        }
        CLUSTER_ASSIGN_OR_RETURN(ExprPtr inner, ParseTuple(true));
        CLUSTER_RETURN_IF_ERROR(ExpectOp(")"));
        return inner;
      }
      if (t.text == "[" || t.text == "{") {
        const bool dict = t.text == "{";
        ExprPtr e = MakeExpr(dict ? ExprKind::kDict : ExprKind::kList, t.pos);
        const std::string close = dict ? "}" : "]";
        while (!IsOp(close)) {
          CLUSTER_ASSIGN_OR_RETURN(ExprPtr item, ParseExpression(true));
          e->children.push_back(std::move(item));
          if (dict) {
            CLUSTER_RETURN_IF_ERROR(ExpectOp(":"));
            CLUSTER_ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(true));
            e->children.push_back(std::move(value));
          }
          if (!IsOp(",")) break;
          Next();
        }
        CLUSTER_RETURN_IF_ERROR(ExpectOp(close));
        return e;
      }
      break;
    default:
      break;
  }
  return SyntaxErrorAt(t.pos, "unexpected " + Describe(t) + ", expected an expression");
}

StatusOr<ExprPtr> ExpressionParser::ParsePostfix(ExprPtr node) {
  while (true) {
    if (IsOp(".") || IsOp("[")) {
      CLUSTER_ASSIGN_OR_RETURN(node, ParseSubscript(std::move(node)));
    } else if (IsOp("(")) {
      CLUSTER_ASSIGN_OR_RETURN(node, ParseCall(std::move(node)));
    } else {
      return node;
    }
  }
}

StatusOr<ExprPtr> ExpressionParser::ParseFilterExpr(ExprPtr node) {
  while (true) {
    if (IsOp("|")) {
      CLUSTER_ASSIGN_OR_RETURN(node, ParseFilterOrTest(std::move(node), /*test=*/false));
    } else if (IsName("is")) {
      CLUSTER_ASSIGN_OR_RETURN(node, ParseFilterOrTest(std::move(node), /*test=*/true));
    } else if (IsOp("(")) {
      CLUSTER_ASSIGN_OR_RETURN(node, ParseCall(std::move(node)));
    } else {
      return node;
    }
  }
}

StatusOr<ExprPtr> ExpressionParser::ParseSubscript(ExprPtr object) {
  const Pos pos = object->pos;
  if (Next().text == ".") {
    const Token& t = Next();
    if (t.kind == TokenKind::kName) {
      ExprPtr e = MakeUnary(ExprKind::kGetattr, pos, std::move(object));
      e->name = t.text;
      return e;
    }
    if (t.kind == TokenKind::kInteger) {
      ExprPtr e = MakeUnary(ExprKind::kGetitem, pos, std::move(object));
      e->children.push_back(MakeLiteral(Value::Int(t.int_value), t.pos));
      return e;
    }
    return SyntaxErrorAt(t.pos, "unexpected " + Describe(t) + " after '.', expected an attribute name");
  }
  // obj[key] or obj[start:stop:step]
  ExprPtr parts[3];
  bool slice = false;
  if (!IsOp(":")) {
    CLUSTER_ASSIGN_OR_RETURN(parts[0], ParseExpression(true));
  }
  if (IsOp(":")) {
    slice = true;
    Next();
    if (!IsOp("]") && !IsOp(":")) {
      CLUSTER_ASSIGN_OR_RETURN(parts[1], ParseExpression(true));
    }
    if (IsOp(":")) {
      Next();
      if (!IsOp("]")) {
        CLUSTER_ASSIGN_OR_RETURN(parts[2], ParseExpression(true));
      }
    }
  }
  if (IsOp(",")) return UnsupportedAt(Peek().pos, "tuple subscripts (x[a, b]) are unsupported");
  CLUSTER_RETURN_IF_ERROR(ExpectOp("]"));
  ExprPtr e = MakeUnary(slice ? ExprKind::kSlice : ExprKind::kGetitem, pos, std::move(object));
  for (int i = 0; i < (slice ? 3 : 1); ++i) e->children.push_back(std::move(parts[i]));
  return e;
}

Status ExpressionParser::ParseArgs(ArgList& args) {
  CLUSTER_RETURN_IF_ERROR(ExpectOp("("));
  while (!IsOp(")")) {
    if (IsOp("*") || IsOp("**")) return UnsupportedAt(Peek().pos, "argument unpacking (*args, **kwargs) is unsupported");
    if (Peek().kind == TokenKind::kName && IsOp("=", 1)) {
      std::string key = Next().text;
      Next();
      CLUSTER_ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(true));
      args.keyword.emplace_back(std::move(key), std::move(value));
    } else {
      if (!args.keyword.empty()) return SyntaxErrorAt(Peek().pos, "positional argument follows keyword argument");
      CLUSTER_ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(true));
      args.positional.push_back(std::move(value));
    }
    if (!IsOp(",")) break;
    Next();
  }
  return ExpectOp(")");
}

StatusOr<ExprPtr> ExpressionParser::ParseCall(ExprPtr callee) {
  const Pos pos = callee->pos;
  ExprPtr e = MakeUnary(ExprKind::kCall, pos, std::move(callee));
  CLUSTER_RETURN_IF_ERROR(ParseArgs(e->args));
  return e;
}

// `| name(args)` or `is [not] name(args)` / `is name arg`.
StatusOr<ExprPtr> ExpressionParser::ParseFilterOrTest(ExprPtr operand, bool test) {
  Next();  // '|' or 'is'
  bool negated = false;
  if (test && IsName("not")) {
    Next();
    negated = true;
  }
  const Token& name = Peek();
  if (name.kind != TokenKind::kName) return Unexpected(name, test ? "a test name" : "a filter name");
  Next();
  const BuiltinSupport support = test ? TestSupport(name.text) : FilterSupport(name.text);
  const std::string what = test ? "test" : "filter";
  if (support == BuiltinSupport::kUnknown) return SyntaxErrorAt(name.pos, "unknown " + what + " '" + name.text + "'");
  if (support == BuiltinSupport::kUnsupported) {
    return UnsupportedAt(name.pos, "unsupported " + what + " '" + name.text + "'");
  }
  ExprPtr e = MakeUnary(test ? ExprKind::kTest : ExprKind::kFilter, name.pos, std::move(operand));
  e->name = name.text;
  e->negated = negated;
  if (IsOp("(")) {
    CLUSTER_RETURN_IF_ERROR(ParseArgs(e->args));
  } else if (test && !IsName("else") && !IsName("or") && !IsName("and") &&
             (Peek().kind == TokenKind::kName || Peek().kind == TokenKind::kString ||
              Peek().kind == TokenKind::kInteger || Peek().kind == TokenKind::kFloat || IsOp("[") || IsOp("{"))) {
    if (IsName("is")) return SyntaxErrorAt(Peek().pos, "tests cannot be chained with 'is'");
    CLUSTER_ASSIGN_OR_RETURN(ExprPtr arg, ParsePrimary());  // `x is divisibleby 3`
    CLUSTER_ASSIGN_OR_RETURN(arg, ParsePostfix(std::move(arg)));
    e->args.positional.push_back(std::move(arg));
  }
  return e;
}

}  // namespace engine::jinja
