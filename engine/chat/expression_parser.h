// Expression parser: Jinja2's expression grammar and precedence, loosest first:
//   x if c else y  <  or  <  and  <  not  <  comparisons, in, not in
//   <  + -  <  ~  <  * / // %  <  **  <  unary - +
//   <  filters |f and tests `is t` (bind to the postfix expression before them)
//   <  .attr [item] [a:b:c] call()
// Internal to engine_chat. Unknown filters and tests are syntax errors;
// known-but-unsupported ones, argument unpacking and tuple subscripts are
// refused as unsupported.
#pragma once

#include "common/status.h"
#include "engine/chat/ast.h"
#include "engine/chat/token_stream.h"

namespace engine::jinja {

class ExpressionParser {
 public:
  explicit ExpressionParser(TokenStream& tokens) : tokens_(tokens) {}

  // Comma-separated expressions; a tuple if there is a comma. Without
  // condexpr, a trailing `if` is left for the caller (for-loop filters).
  cluster::StatusOr<ExprPtr> ParseTuple(bool with_condexpr);
  cluster::StatusOr<ExprPtr> ParseExpression(bool with_condexpr);
  // `( args )` of a call, a filter or a macro call.
  cluster::Status ParseArgs(ArgList& args);

 private:
  const Token& Peek(size_t ahead = 0) const { return tokens_.Peek(ahead); }
  const Token& Next() { return tokens_.Next(); }
  bool IsOp(std::string_view op, size_t ahead = 0) const { return tokens_.IsOp(op, ahead); }
  bool IsName(std::string_view name, size_t ahead = 0) const { return tokens_.IsName(name, ahead); }
  cluster::Status Unexpected(const Token& t, std::string_view expected) const {
    return tokens_.Unexpected(t, expected);
  }
  cluster::Status ExpectOp(std::string_view op) { return tokens_.ExpectOp(op); }

  cluster::StatusOr<ExprPtr> ParseOr();
  cluster::StatusOr<ExprPtr> ParseAnd();
  cluster::StatusOr<ExprPtr> ParseNot();
  cluster::StatusOr<ExprPtr> ParseCompare();
  cluster::StatusOr<ExprPtr> ParseBinaryLevel(int level);
  cluster::StatusOr<ExprPtr> ParseMath1() { return ParseBinaryLevel(0); }
  cluster::StatusOr<ExprPtr> ParseUnary(bool with_filter);
  cluster::StatusOr<ExprPtr> ParsePrimary();
  cluster::StatusOr<ExprPtr> ParsePostfix(ExprPtr node);
  cluster::StatusOr<ExprPtr> ParseFilterExpr(ExprPtr node);
  cluster::StatusOr<ExprPtr> ParseSubscript(ExprPtr object);
  cluster::StatusOr<ExprPtr> ParseCall(ExprPtr callee);
  cluster::StatusOr<ExprPtr> ParseFilterOrTest(ExprPtr operand, bool test);

  TokenStream& tokens_;
};

}  // namespace engine::jinja
