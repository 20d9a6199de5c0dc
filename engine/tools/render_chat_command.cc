// infer-engine render-chat: a conversation (JSON on stdin) in, the prompt
// text the model's chat template makes of it out (stdout, exactly).
//
// Input: a list of messages [{"role": "user", "content": "Hi"}, ...], or
// {"messages": [...], "add_generation_prompt": true}. add_generation_prompt
// defaults to true (what a request to generate a reply needs). A message may
// carry "reasoning_content" (a string) besides its content.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include "engine/chat/chat_template.h"
#include "engine/tools/command_support.h"
#include "engine/tools/commands.h"

namespace engine::tools {
namespace {

struct RenderChatFlags {
  std::string model;
};

int RunRenderChat(const RenderChatFlags& f) {
  const std::string input(std::istreambuf_iterator<char>(std::cin), {});
  const nlohmann::json doc = nlohmann::json::parse(input, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return UsageError("render-chat: stdin is not valid JSON");
  const nlohmann::json* messages = &doc;
  bool add_generation_prompt = true;
  if (doc.is_object()) {
    auto it = doc.find("messages");
    if (it == doc.end()) return UsageError("render-chat: the object on stdin has no \"messages\"");
    messages = &*it;
    if (auto agp = doc.find("add_generation_prompt"); agp != doc.end()) {
      if (!agp->is_boolean()) return UsageError("render-chat: add_generation_prompt must be true or false");
      add_generation_prompt = agp->get<bool>();
    }
  }
  if (!messages->is_array()) return UsageError("render-chat: expected a list of messages");
  std::vector<ChatMessage> conversation;
  for (std::size_t i = 0; i < messages->size(); ++i) {
    const nlohmann::json& m = (*messages)[i];
    const std::string where = "render-chat: message " + std::to_string(i) + ": ";
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
      return UsageError(where + "expected an object with a string \"role\"");
    }
    ChatMessage message;
    message.role = m["role"].get<std::string>();
    if (m.contains("content") && !m["content"].is_null()) {
      if (!m["content"].is_string()) return UsageError(where + "\"content\" must be a string");
      message.content = m["content"].get<std::string>();
    }
    if (m.contains("reasoning_content") && m["reasoning_content"].is_string()) {
      message.reasoning_content = m["reasoning_content"].get<std::string>();
    }
    conversation.push_back(std::move(message));
  }
  auto chat = ChatTemplate::FromModelDir(f.model);
  if (!chat.ok()) return Failure(chat.status());
  auto text = chat->Render(conversation, add_generation_prompt);
  if (!text.ok()) return Failure(text.status());
  std::fwrite(text->data(), 1, text->size(), stdout);
  return kExitOk;
}

}  // namespace

Subcommand AddRenderChatCommand(CLI::App& parent) {
  auto flags = std::make_shared<RenderChatFlags>();
  CLI::App* app = parent.add_subcommand("render-chat", "Render a JSON conversation (stdin) with the chat template");
  app->add_option("--model", flags->model, "Model folder (tokenizer_config.json or chat_template.jinja)")->required();
  return {app, [flags] { return RunRenderChat(*flags); }};
}

}  // namespace engine::tools
