#include "engine/chat/chat_template.h"

#include <system_error>

#include "common/files.h"
#include "engine/chat/json.h"

namespace engine {
namespace {

namespace fs = std::filesystem;
using cluster::StatusOr;
using jinja::Value;

// A special token from tokenizer_config.json: "text", {"content": "text", ...}
// (AddedToken), or null/absent.
StatusOr<std::optional<std::string>> SpecialToken(const jinja::Dict& config, const std::string& key,
                                                   const std::string& path) {
  const Value* v = config.Find(key);
  if (v == nullptr || v->is_none()) return std::optional<std::string>();
  if (v->is_string()) return std::optional<std::string>(v->as_string());
  if (v->is_dict()) {
    const Value* content = v->as_dict().Find("content");
    if (content != nullptr && content->is_string()) return std::optional<std::string>(content->as_string());
  }
  return cluster::InvalidArgumentError(path + ": \"" + key +
                                       "\" must be a string, null or an object with a string \"content\"");
}

// tokenizer_config.json's "chat_template": a string, or a list of named
// templates from which transformers uses "default".
StatusOr<std::string> TemplateFromConfig(const jinja::Dict& config, const std::string& path) {
  const Value* t = config.Find("chat_template");
  if (t == nullptr || t->is_none()) {
    return cluster::NotFoundError(path + " has no \"chat_template\" and the folder has no chat_template.jinja; "
                                  "this model has no chat template (a base model?)");
  }
  if (t->is_string()) return t->as_string();
  if (t->is_list()) {
    std::string names;
    for (const Value& entry : t->as_items()) {
      const Value* name = entry.is_dict() ? entry.as_dict().Find("name") : nullptr;
      const Value* text = entry.is_dict() ? entry.as_dict().Find("template") : nullptr;
      if (name == nullptr || !name->is_string() || text == nullptr || !text->is_string()) {
        return cluster::InvalidArgumentError(path + ": \"chat_template\" list entries must be "
                                             "{\"name\": string, \"template\": string}");
      }
      if (name->as_string() == "default") return text->as_string();
      names += (names.empty() ? "'" : ", '") + name->as_string() + "'";
    }
    return cluster::NotFoundError(path + ": \"chat_template\" lists no template named 'default' (it has " +
                                  (names.empty() ? std::string("none") : names) + ")");
  }
  return cluster::InvalidArgumentError(path + ": \"chat_template\" must be a string or a list of named templates");
}

}  // namespace

jinja::Value MessagesToValue(const std::vector<ChatMessage>& messages) {
  jinja::List items;
  items.reserve(messages.size());
  for (const ChatMessage& m : messages) {
    jinja::Dict d;
    d.Set("role", Value::String(m.role));
    d.Set("content", Value::String(m.content));
    if (m.reasoning_content) d.Set("reasoning_content", Value::String(*m.reasoning_content));
    items.push_back(Value::MakeDict(std::move(d)));
  }
  return Value::MakeList(std::move(items));
}

ChatTemplate::ChatTemplate(jinja::Template parsed, std::string source, std::optional<std::string> bos,
                           std::optional<std::string> eos)
    : parsed_(std::move(parsed)),
      source_(std::move(source)),
      bos_token_(std::move(bos)),
      eos_token_(std::move(eos)) {}

StatusOr<ChatTemplate> ChatTemplate::Build(std::string source, std::string origin, std::optional<std::string> bos,
                                           std::optional<std::string> eos) {
  StatusOr<jinja::Template> parsed = jinja::Template::Parse(source);
  if (!parsed.ok()) return parsed.status().WithContext(origin);
  ChatTemplate t(std::move(parsed).value(), std::move(source), std::move(bos), std::move(eos));
  StatusOr<std::string> probe = t.Render({{"user", "Hi"}}, /*add_generation_prompt=*/true);
  if (probe.ok()) {
    std::string_view p = *probe;
    while (!p.empty() && (p.back() == '\n' || p.back() == ' ' || p.back() == '\t' || p.back() == '\r')) {
      p.remove_suffix(1);
    }
    t.opens_think_block_ = p.size() >= 7 && p.substr(p.size() - 7) == "<think>";
  }
  return t;
}

StatusOr<ChatTemplate> ChatTemplate::FromSource(std::string source, std::string bos_token, std::string eos_token) {
  return Build(std::move(source), "chat template", std::move(bos_token), std::move(eos_token));
}

StatusOr<ChatTemplate> ChatTemplate::FromModelDir(const fs::path& dir) {
  const fs::path config_path = dir / "tokenizer_config.json";
  StatusOr<std::string> config_text = cluster::ReadFile(config_path);
  if (!config_text.ok()) return config_text.status();
  StatusOr<Value> config = jinja::ValueFromJson(*config_text);
  if (!config.ok()) return config.status().WithContext(config_path.string());
  if (!config->is_dict()) return cluster::InvalidArgumentError(config_path.string() + ": expected a JSON object");
  const jinja::Dict& fields = config->as_dict();
  CLUSTER_ASSIGN_OR_RETURN(auto bos, SpecialToken(fields, "bos_token", config_path.string()));
  CLUSTER_ASSIGN_OR_RETURN(auto eos, SpecialToken(fields, "eos_token", config_path.string()));

  const fs::path jinja_path = dir / "chat_template.jinja";
  std::error_code ec;
  if (fs::exists(jinja_path, ec)) {
    CLUSTER_ASSIGN_OR_RETURN(std::string source, cluster::ReadFile(jinja_path));
    return Build(std::move(source), jinja_path.string(), std::move(bos), std::move(eos));
  }
  CLUSTER_ASSIGN_OR_RETURN(std::string source, TemplateFromConfig(fields, config_path.string()));
  return Build(std::move(source), config_path.string() + " chat_template", std::move(bos), std::move(eos));
}

StatusOr<std::string> ChatTemplate::Render(const std::vector<ChatMessage>& messages,
                                           bool add_generation_prompt) const {
  jinja::Dict context;
  context.Set("messages", MessagesToValue(messages));
  context.Set("tools", Value::None());
  context.Set("documents", Value::None());
  context.Set("add_generation_prompt", Value::Bool(add_generation_prompt));
  return Render(Value::MakeDict(std::move(context)));
}

StatusOr<std::string> ChatTemplate::Render(const Value& context) const {
  if (!context.is_dict()) {
    return cluster::InvalidArgumentError("chat template: the render context must be a dict, not " +
                                         jinja::TypeName(context));
  }
  jinja::Dict full = context.as_dict();
  if (bos_token_ && full.Find("bos_token") == nullptr) full.Set("bos_token", Value::String(*bos_token_));
  if (eos_token_ && full.Find("eos_token") == nullptr) full.Set("eos_token", Value::String(*eos_token_));
  StatusOr<std::string> out = parsed_.Render(Value::MakeDict(std::move(full)));
  // Render errors reach HTTP clients: they name the template, never the
  // server's file path (Build names the file, for the operator, at load time).
  if (!out.ok()) return out.status().WithContext("chat template");
  return out;
}

}  // namespace engine
