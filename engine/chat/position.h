// Positions in template source and the errors that name them.
//
// Internal to engine_chat. Every error a template can meet names where it is
// as "LINE:COLUMN: what happened" (1-based, columns count code points), so a
// user can find the construct in tokenizer_config.json's chat_template.
#pragma once

#include <string>

#include "common/status.h"

namespace engine::jinja {

struct Pos {
  int line = 1;
  int column = 1;
};

inline std::string ToString(Pos pos) { return std::to_string(pos.line) + ":" + std::to_string(pos.column); }

// The template is malformed (Jinja itself would reject it too).
inline cluster::Status SyntaxErrorAt(Pos pos, const std::string& message) {
  return cluster::InvalidArgumentError(ToString(pos) + ": " + message);
}

// The template uses Jinja that this engine does not implement.
inline cluster::Status UnsupportedAt(Pos pos, const std::string& message) {
  return cluster::UnimplementedError(ToString(pos) + ": " + message);
}

// Rendering failed (undefined value used, type error, raise_exception()).
inline cluster::Status RenderErrorAt(Pos pos, const std::string& message) {
  return cluster::InvalidArgumentError(ToString(pos) + ": " + message);
}

// Prefixes a position-less error from a built-in with the position of the
// construct that called it; keeps the code.
inline cluster::Status AtPos(Pos pos, const cluster::Status& status) {
  if (status.ok()) return status;
  return cluster::Status(status.code(), ToString(pos) + ": " + status.message());
}

}  // namespace engine::jinja
