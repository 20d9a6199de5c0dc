// Fuzzes chat templates (engine/chat): any template source parses or fails
// with a position, and one that parses renders any conversation within the
// render limits (output, loop work, call depth) or fails - never crashes.
#include <cstddef>
#include <ctime>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/chat/chat_template.h"
#include "engine/chat/template.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // "TEMPLATE\0CONTENT": the template, then the messages' content.
  const auto split = input.find('\0');
  const std::string source(input.substr(0, split));
  const std::string content = split == std::string_view::npos ? "" : std::string(input.substr(split + 1));
  auto parsed = engine::jinja::Template::Parse(source);
  if (!parsed.ok()) return 0;
  engine::jinja::RenderOptions options;
  options.max_output_bytes = 1 << 20;
  options.max_loop_iterations = 100'000;
  options.max_call_depth = 50;
  options.local_time = [] { return std::tm{}; };
  engine::jinja::Dict context;
  context.Set("messages", engine::MessagesToValue({{"system", content}, {"user", content}, {"assistant", content}}));
  context.Set("add_generation_prompt", engine::jinja::Value::Bool(true));
  context.Set("bos_token", engine::jinja::Value::String("<s>"));
  (void)parsed->Render(engine::jinja::Value::MakeDict(std::move(context)), options);
  return 0;
}
