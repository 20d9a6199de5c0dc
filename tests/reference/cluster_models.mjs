// The npm `openai` client (v6) against a cluster's endpoint, listing its
// models only: for servers that do not answer chat completions (the STAND-IN
// vLLM of tests/lifecycle/standin serves /health and /v1/models, nothing
// more). Prints {"models": [...]} as the last line of stdout.
//
//   node cluster_models.mjs BASE_URL [API_KEY]
//
// Without node 20+ or the npm packages it prints "skipped: <why>" and exits 4.
const SKIP = 4;
if (process.argv.length < 3) {
  console.error("usage: node cluster_models.mjs BASE_URL [API_KEY]");
  process.exit(2);
}
const [baseURL, apiKey] = process.argv.slice(2);
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
const client = new OpenAI({ baseURL, apiKey: apiKey || "none", maxRetries: 0, timeout: 30000 });
const models = await client.models.list();
console.log(JSON.stringify({ models: models.data.map((m) => m.id) }));
