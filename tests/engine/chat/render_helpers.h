// Helpers for the engine_chat unit tests: render a template source with a
// context written as JSON.
#pragma once

#include <catch2/catch.hpp>
#include <string>
#include <string_view>

#include "engine/chat/json.h"
#include "engine/chat/template.h"

namespace chat_test {

// Parses and renders `source` with the JSON object `context`; the Status of
// the first step that fails.
inline cluster::StatusOr<std::string> TryRender(std::string_view source, std::string_view context = "{}",
                                                const engine::jinja::RenderOptions& options = {}) {
  auto parsed = engine::jinja::Template::Parse(source);
  if (!parsed.ok()) return parsed.status();
  auto value = engine::jinja::ValueFromJson(context);
  if (!value.ok()) return value.status();
  return parsed->Render(*value, options);
}

// Renders and requires success.
inline std::string Render(std::string_view source, std::string_view context = "{}") {
  auto out = TryRender(source, context);
  INFO("template: " << source);
  INFO(out.status().ToString());
  REQUIRE(out.ok());
  return *out;
}

// Renders and requires failure; the error.
inline cluster::Status RenderError(std::string_view source, std::string_view context = "{}",
                                   const engine::jinja::RenderOptions& options = {}) {
  auto out = TryRender(source, context, options);
  INFO("template: " << source);
  INFO("rendered: " << (out.ok() ? *out : std::string("(failed)")));
  REQUIRE_FALSE(out.ok());
  return out.status();
}

}  // namespace chat_test
