// engine::jinja::Template: a parsed Jinja template, rendered with a context.
//
// The Jinja subset that real Hugging Face chat templates use, with Jinja2's
// semantics as transformers configures them (trim_blocks, lstrip_blocks,
// loopcontrols, HF's tojson and raise_exception and strftime_now, the
// immutable sandbox). docs/chat-templates.md lists what is supported. A
// template that uses anything else fails to parse or render with an error
// naming the construct and its LINE:COL; it never renders wrongly.
//
// Errors: kInvalidArgument for a malformed template or a failed render
// (undefined value used, type error, raise_exception("...")), kUnimplemented
// for Jinja this engine does not support, kPermissionDenied for what the
// sandbox forbids (list.append, ...), kResourceExhausted past the limits in
// RenderOptions.
//
// Thread safety: a Template is immutable; Render may be called from several
// threads at once. Copies share the parsed tree.
#pragma once

#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/chat/value.h"

namespace engine::jinja {

struct Stmt;

struct ParseOptions {
  bool trim_blocks = true;    // HF's setting
  bool lstrip_blocks = true;  // HF's setting
};

struct RenderOptions {
  // The local time strftime_now() formats; default: the system clock.
  std::function<std::tm()> local_time;
  // Nesting of macro calls beyond this fails (runaway recursion).
  int max_call_depth = 100;
  // Output and loop work beyond these fail with kResourceExhausted.
  size_t max_output_bytes = size_t{64} << 20;
  size_t max_loop_iterations = 10'000'000;
};

class Template {
 public:
  // Parses source. Fails with "LINE:COL: ..." (see the file comment).
  static cluster::StatusOr<Template> Parse(std::string_view source, const ParseOptions& options = {});

  // Renders with `context` (a dict: the template's variables). Fails with
  // "LINE:COL: ..." naming where rendering stopped.
  cluster::StatusOr<std::string> Render(const Value& context, const RenderOptions& options = {}) const;

 private:
  explicit Template(std::shared_ptr<const std::vector<std::unique_ptr<Stmt>>> body) : body_(std::move(body)) {}

  std::shared_ptr<const std::vector<std::unique_ptr<Stmt>>> body_;
};

}  // namespace engine::jinja
