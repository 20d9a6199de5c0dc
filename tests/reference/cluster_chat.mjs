// The npm `openai` client (v6) against a cluster's endpoint, as a user's
// program sees it after `clusterctl up`: lists the models and, unless MODEL
// is "-", asks MODEL one chat question. Prints {"models": [...]} or
// {"models": [...], "answer": "...", "finish_reason": "..."} as the last line
// of stdout. ("-" is for servers that answer no chat: the STAND-IN vLLM of
// tests/lifecycle/standin serves /health and /v1/models only.)
//
//   node cluster_chat.mjs BASE_URL MODEL|- [API_KEY]
//
// Without node 20+ or the npm packages it prints "skipped: <why>" and exits 4.
const SKIP = 4;
if (process.argv.length < 4) {
  console.error("usage: node cluster_chat.mjs BASE_URL MODEL|- [API_KEY]");
  process.exit(2);
}
const [baseURL, model, apiKey] = process.argv.slice(2);
if (Number(process.versions.node.split(".")[0]) < 20) {
  console.log(`skipped: node ${process.versions.node} is older than 20, which the openai package needs`);
  process.exit(SKIP);
}
let OpenAI;
try {
  ({ default: OpenAI } = await import("openai"));
} catch (e) {
  console.log(`skipped: the openai npm package is not installed (run scripts/setup --test): ${e.message}`);
  process.exit(SKIP);
}
const client = new OpenAI({ baseURL, apiKey: apiKey || "none", maxRetries: 0, timeout: 60000 });
const models = (await client.models.list()).data.map((m) => m.id);
if (model === "-") {
  console.log(JSON.stringify({ models }));
  process.exit(0);
}
const chat = await client.chat.completions.create({
  model,
  messages: [{ role: "user", content: "Tell me something about computers." }],
  max_tokens: 48,
  temperature: 0,
});
console.log(JSON.stringify({ models, answer: chat.choices[0].message.content, finish_reason: chat.choices[0].finish_reason }));
