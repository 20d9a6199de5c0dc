#include "engine/chat/parser.h"

#include <algorithm>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "engine/chat/expression_parser.h"
#include "engine/chat/token_stream.h"

namespace engine::jinja {
namespace {

using cluster::Status;
using cluster::StatusOr;

// Tags that Jinja2 knows and this engine refuses.
constexpr std::string_view kUnsupportedTags[] = {"block", "call",   "extends",    "filter", "from",   "import",
                                                 "include", "with", "autoescape", "trans",  "pluralize", "do",
                                                 "print"};
// Tags that only close or continue a block.
constexpr std::string_view kClosingTags[] = {"elif",    "else",     "endif",         "endfor",   "endset",
                                             "endmacro", "endblock", "endgeneration", "endcall",  "endfilter",
                                             "endwith", "endautoescape", "endraw", "endtrans"};

template <typename Range>
bool Contains(const Range& range, std::string_view name) {
  return std::find(std::begin(range), std::end(range), name) != std::end(range);
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)), expressions_(tokens_) {}

  StatusOr<Body> ParseAll() {
    Body body;
    CLUSTER_RETURN_IF_ERROR(Subparse({}, body));
    return body;
  }

 private:
  struct OpenBlock {
    std::string tag;
    Pos pos;
  };

  const Token& Peek(size_t ahead = 0) const { return tokens_.Peek(ahead); }
  const Token& Next() { return tokens_.Next(); }
  bool IsOp(std::string_view op, size_t ahead = 0) const { return tokens_.IsOp(op, ahead); }
  bool IsName(std::string_view name, size_t ahead = 0) const { return tokens_.IsName(name, ahead); }
  Status Unexpected(const Token& t, std::string_view expected) const { return tokens_.Unexpected(t, expected); }
  Status ExpectOp(std::string_view op) { return tokens_.ExpectOp(op); }
  StatusOr<std::string> ExpectName() { return tokens_.ExpectName(); }
  Status ExpectBlockEnd() {
    if (Peek().kind != TokenKind::kBlockEnd) return Unexpected(Peek(), "'%}'");
    Next();
    return Status::Ok();
  }
  StatusOr<ExprPtr> ParseTuple(bool with_condexpr) { return expressions_.ParseTuple(with_condexpr); }
  StatusOr<ExprPtr> ParseExpression(bool with_condexpr) { return expressions_.ParseExpression(with_condexpr); }
  bool InsideFor() const {
    return std::any_of(open_.begin(), open_.end(), [](const OpenBlock& b) { return b.tag == "for"; });
  }

  // Parses statements into `body` until a block tag named in end_tags (left
  // unconsumed: index_ is at its name) or, when end_tags is empty, the end.
  Status Subparse(std::initializer_list<std::string_view> end_tags, Body& body) {
    while (true) {
      const Token& t = Peek();
      switch (t.kind) {
        case TokenKind::kText: {
          auto s = std::make_unique<Stmt>();
          s->kind = StmtKind::kText;
          s->pos = t.pos;
          s->text = t.text;
          body.push_back(std::move(s));
          Next();
          break;
        }
        case TokenKind::kVariableBegin: {
          Next();
          auto s = std::make_unique<Stmt>();
          s->kind = StmtKind::kOutput;
          s->pos = t.pos;
          CLUSTER_ASSIGN_OR_RETURN(s->expr, ParseTuple(true));
          if (Peek().kind != TokenKind::kVariableEnd) return Unexpected(Peek(), "'}}'");
          Next();
          body.push_back(std::move(s));
          break;
        }
        case TokenKind::kBlockBegin: {
          if (Peek(1).kind == TokenKind::kName && Contains(end_tags, Peek(1).text)) {
            Next();
            return Status::Ok();
          }
          CLUSTER_RETURN_IF_ERROR(ParseStatement(body));
          break;
        }
        case TokenKind::kEnd: {
          if (end_tags.size() == 0) return Status::Ok();
          const OpenBlock& open = open_.back();
          std::string expected;
          for (std::string_view tag : end_tags) {
            expected += (expected.empty() ? "'" : " or '") + std::string(tag) + "'";
          }
          return SyntaxErrorAt(open.pos, "unclosed '" + open.tag + "' block: expected " + expected +
                                             " before the end of the template");
        }
        default:
          return Unexpected(t, "text, '{{' or '{%'");
      }
    }
  }

  // At "{%": one statement (with its whole block) appended to body.
  Status ParseStatement(Body& body) {
    const Pos pos = Next().pos;
    const Token& name_token = Peek();
    if (name_token.kind != TokenKind::kName) return Unexpected(name_token, "a tag name");
    const std::string tag = Next().text;
    auto s = std::make_unique<Stmt>();
    s->pos = pos;
    if (tag == "if") {
      CLUSTER_RETURN_IF_ERROR(ParseIf(*s));
    } else if (tag == "for") {
      CLUSTER_RETURN_IF_ERROR(ParseFor(*s));
    } else if (tag == "set") {
      CLUSTER_RETURN_IF_ERROR(ParseSet(*s));
    } else if (tag == "macro") {
      CLUSTER_RETURN_IF_ERROR(ParseMacro(*s));
    } else if (tag == "break" || tag == "continue") {
      if (!InsideFor()) return SyntaxErrorAt(pos, "'" + tag + "' outside a 'for' loop");
      s->kind = tag == "break" ? StmtKind::kBreak : StmtKind::kContinue;
      CLUSTER_RETURN_IF_ERROR(ExpectBlockEnd());
    } else if (tag == "generation") {
      // HF's marker for assistant tokens: renders its body unchanged.
      CLUSTER_RETURN_IF_ERROR(ExpectBlockEnd());
      open_.push_back({tag, pos});
      CLUSTER_RETURN_IF_ERROR(Subparse({"endgeneration"}, body));
      open_.pop_back();
      Next();
      return ExpectBlockEnd();
    } else if (Contains(kUnsupportedTags, tag)) {
      return UnsupportedAt(pos, "unsupported tag '" + tag + "'");
    } else if (Contains(kClosingTags, tag)) {
      std::string message = "unexpected '" + tag + "'";
      if (!open_.empty()) {
        message += ": the innermost open block is '" + open_.back().tag + "' (opened at " + ToString(open_.back().pos) +
                   ")";
      }
      return SyntaxErrorAt(pos, message);
    } else {
      return SyntaxErrorAt(pos, "unknown tag '" + tag + "'");
    }
    body.push_back(std::move(s));
    return Status::Ok();
  }

  Status ParseIf(Stmt& s) {
    s.kind = StmtKind::kIf;
    open_.push_back({"if", s.pos});
    while (true) {
      Branch branch;
      CLUSTER_ASSIGN_OR_RETURN(branch.condition, ParseTuple(true));
      CLUSTER_RETURN_IF_ERROR(ExpectBlockEnd());
      CLUSTER_RETURN_IF_ERROR(Subparse({"elif", "else", "endif"}, branch.body));
      s.branches.push_back(std::move(branch));
      const std::string tag = Next().text;
      if (tag == "elif") continue;
      if (tag == "else") {
        CLUSTER_RETURN_IF_ERROR(ExpectBlockEnd());
        CLUSTER_RETURN_IF_ERROR(Subparse({"endif"}, s.else_body));
        Next();
      }
      break;
    }
    open_.pop_back();
    return ExpectBlockEnd();
  }

  // Names separated by commas, optionally in parentheses: `x`, `k, v`, `(k, v)`.
  Status ParseTargets(std::vector<std::string>& targets) {
    const bool parens = IsOp("(");
    if (parens) Next();
    while (true) {
      CLUSTER_ASSIGN_OR_RETURN(std::string name, ExpectName());
      targets.push_back(std::move(name));
      if (!IsOp(",")) break;
      Next();
      if (parens && IsOp(")")) break;
      if (Peek().kind != TokenKind::kName) break;
    }
    if (parens) CLUSTER_RETURN_IF_ERROR(ExpectOp(")"));
    return Status::Ok();
  }

  Status ParseFor(Stmt& s) {
    s.kind = StmtKind::kFor;
    CLUSTER_RETURN_IF_ERROR(ParseTargets(s.targets));
    if (!IsName("in")) return Unexpected(Peek(), "'in'");
    Next();
    CLUSTER_ASSIGN_OR_RETURN(s.expr, ParseTuple(false));
    if (IsName("if")) {
      Next();
      CLUSTER_ASSIGN_OR_RETURN(s.filter, ParseExpression(true));
    }
    if (IsName("recursive")) return UnsupportedAt(Peek().pos, "unsupported loop modifier 'recursive'");
    CLUSTER_RETURN_IF_ERROR(ExpectBlockEnd());
    open_.push_back({"for", s.pos});
    CLUSTER_RETURN_IF_ERROR(Subparse({"endfor", "else"}, s.body));
    if (Next().text == "else") {
      CLUSTER_RETURN_IF_ERROR(ExpectBlockEnd());
      CLUSTER_RETURN_IF_ERROR(Subparse({"endfor"}, s.else_body));
      Next();
    }
    open_.pop_back();
    return ExpectBlockEnd();
  }

  Status ParseSet(Stmt& s) {
    s.kind = StmtKind::kSet;
    if (Peek().kind == TokenKind::kName && IsOp(".", 1)) {  // {% set ns.attr = ... %}
      s.targets.push_back(Next().text);
      Next();
      CLUSTER_ASSIGN_OR_RETURN(s.attribute, ExpectName());
    } else {
      CLUSTER_RETURN_IF_ERROR(ParseTargets(s.targets));
    }
    if (IsOp("=")) {
      Next();
      CLUSTER_ASSIGN_OR_RETURN(s.expr, ParseTuple(true));
      return ExpectBlockEnd();
    }
    if (IsOp("|")) return UnsupportedAt(Peek().pos, "filters on block assignments ({% set x | f %}) are unsupported");
    if (s.targets.size() != 1 || !s.attribute.empty()) {
      return SyntaxErrorAt(s.pos, "a block assignment ({% set x %}...{% endset %}) takes one name");
    }
    CLUSTER_RETURN_IF_ERROR(ExpectBlockEnd());
    s.kind = StmtKind::kSetBlock;
    open_.push_back({"set", s.pos});
    CLUSTER_RETURN_IF_ERROR(Subparse({"endset"}, s.body));
    open_.pop_back();
    Next();
    return ExpectBlockEnd();
  }

  Status ParseMacro(Stmt& s) {
    s.kind = StmtKind::kMacro;
    for (const OpenBlock& b : open_) {
      if (b.tag == "for" || b.tag == "macro" || b.tag == "set") {
        return UnsupportedAt(s.pos, "macro definitions inside '" + b.tag + "' are unsupported; define macros at the top level");
      }
    }
    CLUSTER_ASSIGN_OR_RETURN(s.name, ExpectName());
    CLUSTER_RETURN_IF_ERROR(ExpectOp("("));
    while (!IsOp(")")) {
      Param p;
      CLUSTER_ASSIGN_OR_RETURN(p.name, ExpectName());
      if (IsOp("=")) {
        Next();
        CLUSTER_ASSIGN_OR_RETURN(p.default_value, ParseExpression(true));
      } else if (!s.params.empty() && s.params.back().default_value) {
        return SyntaxErrorAt(Peek().pos, "non-default argument follows default argument");
      }
      s.params.push_back(std::move(p));
      if (!IsOp(",")) break;
      Next();
    }
    CLUSTER_RETURN_IF_ERROR(ExpectOp(")"));
    CLUSTER_RETURN_IF_ERROR(ExpectBlockEnd());
    open_.push_back({"macro", s.pos});
    CLUSTER_RETURN_IF_ERROR(Subparse({"endmacro"}, s.body));
    open_.pop_back();
    Next();
    if (Peek().kind == TokenKind::kName) Next();  // {% endmacro name %}
    return ExpectBlockEnd();
  }

  TokenStream tokens_;
  ExpressionParser expressions_;
  std::vector<OpenBlock> open_;
};

}  // namespace

StatusOr<std::shared_ptr<const Body>> ParseTemplate(std::string_view source, const LexOptions& options) {
  CLUSTER_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(source, options));
  CLUSTER_ASSIGN_OR_RETURN(Body body, Parser(std::move(tokens)).ParseAll());
  return std::make_shared<const Body>(std::move(body));
}

}  // namespace engine::jinja
