// Parser: template source -> syntax tree, following Jinja2's grammar
// (statements here, expressions in expression_parser.h).
//
// Internal to engine_chat. Every construct outside the supported subset is
// refused here when it can be known from the source (unknown or unsupported
// tag, filter or test; `recursive` loops; call blocks; argument unpacking;
// macros inside loops), with "LINE:COL: ..." naming it.
#pragma once

#include <memory>
#include <string_view>

#include "common/status.h"
#include "engine/chat/ast.h"
#include "engine/chat/lexer.h"

namespace engine::jinja {

cluster::StatusOr<std::shared_ptr<const Body>> ParseTemplate(std::string_view source,
                                                             const LexOptions& options = {});

}  // namespace engine::jinja
