#include "engine/chat/template.h"

#include "engine/chat/evaluator.h"
#include "engine/chat/parser.h"

namespace engine::jinja {

cluster::StatusOr<Template> Template::Parse(std::string_view source, const ParseOptions& options) {
  LexOptions lex;
  lex.trim_blocks = options.trim_blocks;
  lex.lstrip_blocks = options.lstrip_blocks;
  CLUSTER_ASSIGN_OR_RETURN(std::shared_ptr<const Body> body, ParseTemplate(source, lex));
  return Template(std::move(body));
}

cluster::StatusOr<std::string> Template::Render(const Value& context, const RenderOptions& options) const {
  if (!context.is_dict()) {
    return cluster::InvalidArgumentError("the render context must be a dict, not " + TypeName(context));
  }
  return RenderBody(*body_, context.as_dict(), options);
}

}  // namespace engine::jinja
