// engine::ChatTemplate: a model's chat template, turning a conversation into
// the prompt text the model was trained on, exactly as Hugging Face
// transformers' apply_chat_template(..., tokenize=False) renders it.
//
//   auto t = ChatTemplate::FromModelDir("/models/DeepSeek-R1-Distill-Llama-70B");
//   if (!t.ok()) return t.status();
//   auto prompt = t->Render({{"user", "Hi"}}, /*add_generation_prompt=*/true);
//
// Thread safety: immutable after construction; Render may run on several
// threads at once.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/chat/template.h"
#include "engine/chat/value.h"

namespace engine {

struct ChatMessage {
  std::string role;     // "system", "user", "assistant", "tool", ...
  std::string content;
  // The reasoning of a past assistant turn when the client sends it apart
  // from content (Qwen3 reads message.reasoning_content). Absent: the
  // message has no such key.
  std::optional<std::string> reasoning_content;
};

class ChatTemplate {
 public:
  // Loads the template of a transformers model folder: the file
  // chat_template.jinja when present (newer saves), else tokenizer_config.json's
  // "chat_template" (a string, or a list of {"name", "template"} from which
  // "default" is taken). bos_token/eos_token come from tokenizer_config.json,
  // as strings or AddedToken objects {"content": ...}; a null or absent token
  // stays undefined in the template, as in transformers. Fails with kNotFound
  // when tokenizer_config.json or a chat template is missing, and with the
  // parse error ("<path>: LINE:COL: ...") when the template is unsupported.
  static cluster::StatusOr<ChatTemplate> FromModelDir(const std::filesystem::path& dir);

  // A template from its source text, with the special tokens it may print.
  static cluster::StatusOr<ChatTemplate> FromSource(std::string source, std::string bos_token,
                                                    std::string eos_token);

  // Render errors read "chat template: LINE:COL: ..." whatever the template's
  // file: they reach HTTP clients, which must not learn the server's paths.
  //
  // Renders a plain conversation the way transformers does:
  // render(messages=..., tools=None, documents=None,
  //        add_generation_prompt=..., bos_token=..., eos_token=...).
  cluster::StatusOr<std::string> Render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const;

  // Renders with any context (a dict): messages as values (tool_calls, content
  // null, ...), tools, and extra keywords such as enable_thinking. bos_token
  // and eos_token are added unless the context sets them.
  cluster::StatusOr<std::string> Render(const jinja::Value& context) const;

  // Whether the generation prompt ends by opening a reasoning block
  // ("...<think>\n"), as DeepSeek-R1 distills do: the model's output then
  // starts inside the block and the server must expect "</think>" first.
  // Decided once, by rendering a one-user-message conversation.
  bool OpensThinkBlock() const { return opens_think_block_; }

  const std::string& source() const { return source_; }
  const std::optional<std::string>& bos_token() const { return bos_token_; }
  const std::optional<std::string>& eos_token() const { return eos_token_; }

 private:
  ChatTemplate(jinja::Template parsed, std::string source, std::optional<std::string> bos,
               std::optional<std::string> eos);
  static cluster::StatusOr<ChatTemplate> Build(std::string source, std::string origin,
                                               std::optional<std::string> bos, std::optional<std::string> eos);

  jinja::Template parsed_;
  std::string source_;
  std::optional<std::string> bos_token_;
  std::optional<std::string> eos_token_;
  bool opens_think_block_ = false;
};

// The messages as template values: [{"role": ..., "content": ...,
// "reasoning_content": ...}, ...] (keys in that order, as transformers builds them).
jinja::Value MessagesToValue(const std::vector<ChatMessage>& messages);

}  // namespace engine
