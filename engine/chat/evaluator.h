// Evaluator: renders a syntax tree with a context, as Jinja2 does.
//
// Internal to engine_chat. Scoping follows Jinja2's compiled templates:
//   - `if` blocks share the enclosing scope;
//   - every `for` iteration gets a fresh scope, so `{% set %}` inside a loop
//     body is not seen by the next iteration nor after the loop (use a
//     namespace to carry state out), and the loop variables and `loop` live
//     only inside;
//   - a macro call gets a scope under the template's top level.
// Lookup order: enclosing scopes, then the render context, then globals
// (range, namespace, dict, raise_exception, strftime_now).
#pragma once

#include <string>

#include "common/status.h"
#include "engine/chat/ast.h"
#include "engine/chat/template.h"

namespace engine::jinja {

cluster::StatusOr<std::string> RenderBody(const Body& body, const Dict& context, const RenderOptions& options);

// The global functions (builtin_globals.cc).
Dict MakeGlobals(const RenderOptions& options);

}  // namespace engine::jinja
