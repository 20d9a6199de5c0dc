// A cursor over a template's tokens, shared by the statement and expression
// parsers. Internal to engine_chat.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "engine/chat/lexer.h"

namespace engine::jinja {

class TokenStream {
 public:
  // REQUIRES: tokens ends with a kEnd token (as Tokenize returns them).
  explicit TokenStream(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  // The token `ahead` positions on; past the end, the kEnd token.
  const Token& Peek(size_t ahead = 0) const { return tokens_[std::min(index_ + ahead, tokens_.size() - 1)]; }
  // Consumes and returns the current token (kEnd stays current at the end).
  const Token& Next() { return tokens_[std::min(index_++, tokens_.size() - 1)]; }

  bool IsOp(std::string_view op, size_t ahead = 0) const {
    return Peek(ahead).kind == TokenKind::kOperator && Peek(ahead).text == op;
  }
  bool IsName(std::string_view name, size_t ahead = 0) const {
    return Peek(ahead).kind == TokenKind::kName && Peek(ahead).text == name;
  }

  // "LINE:COL: unexpected <token>, expected <expected>".
  cluster::Status Unexpected(const Token& t, std::string_view expected) const {
    return SyntaxErrorAt(t.pos, "unexpected " + Describe(t) + ", expected " + std::string(expected));
  }
  cluster::Status ExpectOp(std::string_view op) {
    if (!IsOp(op)) return Unexpected(Peek(), "'" + std::string(op) + "'");
    Next();
    return cluster::Status::Ok();
  }
  cluster::StatusOr<std::string> ExpectName() {
    if (Peek().kind != TokenKind::kName) return Unexpected(Peek(), "a name");
    return Next().text;
  }

 private:
  std::vector<Token> tokens_;
  size_t index_ = 0;
};

}  // namespace engine::jinja
