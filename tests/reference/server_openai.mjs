// The npm `openai` client (v6) against `infer-engine serve`: what a user's
// program sees. Run by CTest (engine_server_openai_test).
//
//   node server_openai.mjs INFER_ENGINE_BIN MODEL_DIR WORK_DIR
//
// INFER_ENGINE_SERVE_ARGS, when set, adds serve flags to both servers
// (e.g. "--device cuda" on a GPU machine: scripts/gpu/run-tests).
//
// Starts two servers on 127.0.0.1 (ephemeral ports), each stopped by its pid
// at the end (SIGTERM; a clean exit 0 is checked too):
//   1. MODEL_DIR (models/demo: a chat model, no <think>) with an API key;
//   2. a copy of it in WORK_DIR whose chat template opens a <think> block, as
//      the DeepSeek-R1 distills do.
// Covers completions, chat, streaming with usage, logprobs, stop strings,
// n > 1, seeds, several prompts, error mapping, the API key, and a bounded
// load: 200 requests at concurrency 64, half of the clients leaving early. Without node
// 20+ or the npm packages it prints "skipped: <why>" and exits 4.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startServer } from "./serve_process.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const SKIP = 4;

if (process.argv.length !== 5) {
  console.error("usage: node server_openai.mjs INFER_ENGINE_BIN MODEL_DIR WORK_DIR");
  process.exit(2);
}
const [bin, modelDir, workDir] = process.argv.slice(2);
const nodeMajor = Number(process.versions.node.split(".")[0]);
if (nodeMajor < 20) {
  console.log(`skipped: node ${process.versions.node} is older than 20, which the openai package needs`);
  process.exit(SKIP);
}
let OpenAI;
try {
  ({ default: OpenAI } = await import("openai"));
} catch (e) {
  console.log(`skipped: the npm package 'openai' is not installed (${e.code ?? e.message}); run 'npm ci' in ${here}`);
  process.exit(SKIP);
}
if (!fs.existsSync(path.join(modelDir, "model.safetensors"))) {
  console.log(`skipped: no model at ${modelDir}`);
  process.exit(SKIP);
}

// --- a tiny test runner: named cases, first failure reported, all run ---
const cases = [];
function test(name, fn) {
  cases.push({ name, fn });
}
async function runCases() {
  let failed = 0;
  for (const { name, fn } of cases) {
    try {
      await fn();
      console.log(`ok - ${name}`);
    } catch (e) {
      ++failed;
      console.log(`FAILED - ${name}\n  ${(e.stack ?? String(e)).split("\n").join("\n  ")}`);
    }
  }
  return failed;
}

// --- fixtures ---
fs.mkdirSync(workDir, { recursive: true });
const keyFile = path.join(workDir, "api_key");
const apiKey = "sk-test-" + Math.random().toString(36).slice(2);
fs.writeFileSync(keyFile, apiKey + "\n", { mode: 0o600 });

// The demo model with a template whose generation prompt opens <think>.
const thinkDir = path.join(workDir, "think-model");
fs.rmSync(thinkDir, { recursive: true, force: true });
fs.mkdirSync(thinkDir);
for (const f of ["config.json", "generation_config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]) {
  fs.symlinkSync(path.resolve(modelDir, f), path.join(thinkDir, f));
}
const template = fs.readFileSync(path.join(modelDir, "chat_template.jinja"), "utf8");
const thinkTemplate = template.replace("{{ '<|assistant|>\\n' }}", "{{ '<|assistant|>\\n<think>\\n' }}");
assert.notEqual(thinkTemplate, template, "the demo template's generation prompt was not found");
fs.writeFileSync(path.join(thinkDir, "chat_template.jinja"), thinkTemplate);

const extra = (process.env.INFER_ENGINE_SERVE_ARGS ?? "").split(/\s+/).filter((a) => a.length > 0);
const demo = await startServer(bin, ["--model", modelDir, "--api-key-file", keyFile, ...extra]);
let think;
try {
  think = await startServer(bin, ["--model", thinkDir, "--served-model-name", "demo-think", ...extra]);
} catch (e) {
  await demo.stop();
  throw e;
}

const client = new OpenAI({ baseURL: `${demo.url}/v1`, apiKey, maxRetries: 0, timeout: 120000 });
const thinkClient = new OpenAI({ baseURL: `${think.url}/v1`, apiKey: "unused", maxRetries: 0, timeout: 120000 });
const greedy = { model: "demo", temperature: 0 };

async function collect(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

test("models.list names the served model", async () => {
  const models = [];
  for await (const m of client.models.list()) models.push(m);
  assert.deepEqual(models.map((m) => m.id), ["demo"]);
  assert.equal(models[0].object, "model");
});

test("a completion returns text, a finish reason and consistent usage", async () => {
  const r = await client.completions.create({ ...greedy, prompt: "Once upon a time", max_tokens: 16 });
  assert.equal(r.object, "text_completion");
  assert.equal(r.choices.length, 1);
  assert.equal(typeof r.choices[0].text, "string");
  assert.ok(r.choices[0].text.length > 0);
  assert.ok(["stop", "length"].includes(r.choices[0].finish_reason));
  assert.ok(r.usage.prompt_tokens > 0);
  assert.ok(r.usage.completion_tokens > 0 && r.usage.completion_tokens <= 16);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  assert.equal(typeof r.usage.prompt_tokens_details.cached_tokens, "number");
});

test("greedy decoding is deterministic, and max_tokens is a hard bound with finish_reason length", async () => {
  const a = await client.completions.create({ ...greedy, prompt: "The weather today", max_tokens: 12, ignore_eos: true });
  const b = await client.completions.create({ ...greedy, prompt: "The weather today", max_tokens: 12, ignore_eos: true });
  assert.equal(a.choices[0].text, b.choices[0].text);
  assert.equal(a.usage.completion_tokens, 12);
  assert.equal(a.choices[0].finish_reason, "length");
});

test("a streamed completion with include_usage gives the same text, then a usage chunk", async () => {
  const whole = await client.completions.create({ ...greedy, prompt: "In the beginning", max_tokens: 20 });
  const chunks = await collect(
    await client.completions.create({ ...greedy, prompt: "In the beginning", max_tokens: 20, stream: true,
                                      stream_options: { include_usage: true } }));
  const text = chunks.flatMap((c) => c.choices.map((x) => x.text)).join("");
  assert.equal(text, whole.choices[0].text);
  const finishes = chunks.flatMap((c) => c.choices.map((x) => x.finish_reason)).filter((f) => f);
  assert.deepEqual(finishes, [whole.choices[0].finish_reason]);
  const last = chunks.at(-1);
  assert.deepEqual(last.choices, []);
  assert.deepEqual(last.usage, whole.usage);
});

test("a chat completion answers as the assistant", async () => {
  const r = await client.chat.completions.create({
    ...greedy,
    messages: [{ role: "system", content: "You are terse." }, { role: "user", content: "Tell me a joke" }],
    max_completion_tokens: 16,
  });
  assert.equal(r.object, "chat.completion");
  assert.equal(r.choices[0].message.role, "assistant");
  assert.equal(typeof r.choices[0].message.content, "string");
  assert.equal(r.choices[0].message.reasoning_content, undefined);  // the demo template opens no <think>
  assert.ok(r.usage.completion_tokens <= 16);
});

test("a streamed chat opens with the role, matches the whole answer, and ends with usage", async () => {
  const request = { ...greedy, messages: [{ role: "user", content: "Hello there" }], max_tokens: 24 };
  const whole = await client.chat.completions.create(request);
  const chunks = await collect(
    await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } }));
  assert.equal(chunks[0].choices[0].delta.role, "assistant");
  assert.equal(chunks[0].object, "chat.completion.chunk");
  const content = chunks.flatMap((c) => c.choices.map((x) => x.delta.content ?? "")).join("");
  assert.equal(content, whole.choices[0].message.content);
  assert.deepEqual(chunks.at(-1).choices, []);
  assert.deepEqual(chunks.at(-1).usage, whole.usage);
  for (const c of chunks.slice(0, -1)) assert.equal(c.usage, null);
});

test("completion logprobs give each token, its logprob and the top alternatives", async () => {
  const r = await client.completions.create({ ...greedy, prompt: "Hello", max_tokens: 8, logprobs: 2, ignore_eos: true });
  const lp = r.choices[0].logprobs;
  assert.equal(lp.tokens.length, 8);
  assert.equal(lp.token_logprobs.length, 8);
  assert.equal(lp.top_logprobs.length, 8);
  // Tokens are spelled with special tokens (e.g. <|end|>); the text skips them.
  assert.equal(lp.tokens.join("").replace(/<\|[a-z_]+\|>/g, ""), r.choices[0].text);
  for (let i = 0; i < 8; ++i) {
    assert.ok(lp.token_logprobs[i] <= 0);
    const top = Object.entries(lp.top_logprobs[i]);
    assert.ok(top.length >= 1 && top.length <= 2);
    // Greedy: the chosen token is the most likely one.
    assert.equal(Math.max(...top.map(([, v]) => v)), lp.token_logprobs[i]);
  }
  assert.deepEqual(lp.text_offset.slice(0, 2), [0, lp.tokens[0].length]);
});

test("chat logprobs give token, logprob, bytes and top_logprobs", async () => {
  const r = await client.chat.completions.create({
    ...greedy, messages: [{ role: "user", content: "Hi" }], max_tokens: 6, logprobs: true, top_logprobs: 3,
  });
  const content = r.choices[0].logprobs.content;
  assert.equal(content.length, r.usage.completion_tokens);
  for (const t of content) {
    assert.equal(typeof t.token, "string");
    assert.ok(t.logprob <= 0);
    assert.deepEqual(t.bytes, [...Buffer.from(t.token, "utf8")]);
    assert.equal(t.top_logprobs.length, 3);
    assert.equal(t.top_logprobs[0].logprob, t.logprob);
  }
  assert.ok(content.map((t) => t.token).join("").startsWith(r.choices[0].message.content));
});

test("a stop string cuts the text just before it, with finish_reason stop", async () => {
  const base = await client.completions.create({ ...greedy, prompt: "Once upon a time", max_tokens: 30, ignore_eos: true });
  const text = base.choices[0].text;
  // A stop string from the middle of the greedy text: the output must end right before its first occurrence.
  const stop = text.slice(10, 13);
  assert.equal(stop.length, 3, `greedy text too short: ${JSON.stringify(text)}`);
  const cut = await client.completions.create({ ...greedy, prompt: "Once upon a time", max_tokens: 30, ignore_eos: true,
                                                stop: [stop, "@@never@@"] });
  assert.equal(cut.choices[0].text, text.slice(0, text.indexOf(stop)));
  assert.equal(cut.choices[0].finish_reason, "stop");
});

test("n > 1 gives n choices; a seed makes sampling reproducible", async () => {
  const request = { model: "demo", prompt: "My favourite food", max_tokens: 10, n: 3, temperature: 1.0, seed: 42 };
  const a = await client.completions.create(request);
  const b = await client.completions.create(request);
  assert.deepEqual(a.choices.map((c) => c.index), [0, 1, 2]);
  assert.deepEqual(a.choices.map((c) => c.text), b.choices.map((c) => c.text));
  assert.ok(new Set(a.choices.map((c) => c.text)).size > 1, "the three samples should differ");
  const g = await client.chat.completions.create({ ...greedy, messages: [{ role: "user", content: "Hi" }], max_tokens: 8, n: 2 });
  assert.equal(g.choices.length, 2);
  assert.equal(g.choices[0].message.content, g.choices[1].message.content);  // greedy choices agree
});

test("several prompts, as text and as token ids, give one choice each in order", async () => {
  const single = await client.completions.create({ ...greedy, prompt: "Good morning", max_tokens: 6 });
  const r = await client.completions.create({ ...greedy, prompt: [[0, 100, 200, 300], "Good morning"], max_tokens: 6 });
  assert.equal(r.choices.length, 2);
  assert.equal(r.choices[1].text, single.choices[0].text);
  assert.equal(r.usage.prompt_tokens, 4 + single.usage.prompt_tokens);
});

test("bad requests raise the client's typed errors with the server's message", async () => {
  await assert.rejects(client.completions.create({ model: "demo", prompt: "x", temperature: 5 }), (e) => {
    assert.equal(e.status, 400);
    assert.equal(e.constructor.name, "BadRequestError");
    assert.equal(e.error.message, "Invalid 'temperature': must be between 0 and 2, got 5.");
    assert.equal(e.param, "temperature");
    return true;
  });
  await assert.rejects(client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: "x" }] }),
                       (e) => e.status === 404 && e.constructor.name === "NotFoundError" && e.code === "model_not_found");
  await assert.rejects(client.completions.create({ model: "demo", prompt: "x", max_tokens: 100000 }),
                       (e) => e.status === 400 && e.code === "context_length_exceeded" &&
                              /maximum context length is 512 tokens/.test(e.error.message));
});

test("the API key is required: 401 without it or with a wrong one; /health needs none", async () => {
  const anonymous = new OpenAI({ baseURL: `${demo.url}/v1`, apiKey: "sk-wrong", maxRetries: 0 });
  await assert.rejects(anonymous.models.list(), (e) => e.status === 401 && e.constructor.name === "AuthenticationError");
  const noHeader = await fetch(`${demo.url}/v1/models`);
  assert.equal(noHeader.status, 401);
  assert.equal((await noHeader.json()).error.code, "invalid_api_key");
  const health = await fetch(`${demo.url}/health`);
  assert.equal(health.status, 200);
  const metrics = await fetch(`${demo.url}/metrics`, { headers: { Authorization: `Bearer ${apiKey}` } });
  assert.equal(metrics.status, 200);
  assert.match(await metrics.text(), /infer_kv_blocks_free \d+/);
});

test("a reasoning template's answer comes as reasoning_content, whole and streamed", async () => {
  const request = { model: "demo-think", temperature: 0, messages: [{ role: "user", content: "What is 2+2?" }], max_tokens: 20 };
  const whole = await thinkClient.chat.completions.create(request);
  const message = whole.choices[0].message;
  // The demo model never writes </think>: everything it says is reasoning
  // (the split at </think> itself is covered by the C++ tests).
  assert.equal(typeof message.reasoning_content, "string");
  assert.ok(message.reasoning_content.length > 0);
  assert.equal(message.content, "");
  const chunks = await collect(await thinkClient.chat.completions.create({ ...request, stream: true }));
  const reasoning = chunks.flatMap((c) => c.choices.map((x) => x.delta.reasoning_content ?? "")).join("");
  const content = chunks.flatMap((c) => c.choices.map((x) => x.delta.content ?? "")).join("");
  assert.equal(reasoning, message.reasoning_content);
  assert.equal(content, "");
});

// Reads one gauge from /metrics.
async function gauge(name) {
  const text = await (await fetch(`${demo.url}/metrics`, { headers: { Authorization: `Bearer ${apiKey}` } })).text();
  const m = text.match(new RegExp(`^${name} (\\d+)$`, "m"));
  assert.ok(m, `/metrics has no ${name}`);
  return Number(m[1]);
}

test("200 streamed chats at concurrency 64, every second client leaving after two chunks: no 5xx, every KV block back", async () => {
  const total = 200, concurrency = 64;
  let next = 0;
  const outcomes = { finished: 0, left: 0 };
  const serverErrors = [];
  async function client_loop() {
    while (next < total) {
      const i = next++;
      const leaves = i % 2 === 1;
      const stream = await client.chat.completions.create({
        ...greedy, stream: true, stream_options: { include_usage: true }, max_tokens: 24, ignore_eos: true,
        messages: [{ role: "user", content: `Question ${i}: tell me something about computers.` }],
      }).catch((e) => {
        serverErrors.push(`request ${i}: ${e.status} ${e.message}`);
        return null;
      });
      if (stream === null) continue;
      let chunks = 0, generated = 0;
      try {
        for await (const chunk of stream) {
          if (chunk.choices.length > 0) ++chunks;
          if (chunk.usage) generated = chunk.usage.completion_tokens;
          if (leaves && chunks === 2) break;  // leaving: the client closes the connection
        }
      } catch (e) {
        serverErrors.push(`request ${i} while streaming: ${e.message}`);
        continue;
      }
      if (leaves) ++outcomes.left;
      else if (generated === 24) ++outcomes.finished;
      else serverErrors.push(`request ${i}: ${generated} tokens of 24`);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, client_loop));
  assert.deepEqual(serverErrors, []);
  assert.deepEqual(outcomes, { finished: 100, left: 100 });
  // The server notices a closed connection at its next write: allow it a few seconds.
  let used = -1;
  for (let tries = 0; tries < 100 && used !== 0; ++tries) {
    used = await gauge("infer_kv_blocks_used");
    if (used !== 0) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(used, 0, "KV blocks still held by sequences after every client is gone");
  assert.equal(await gauge("infer_kv_blocks_free") + await gauge("infer_kv_blocks_cached"),
               await gauge("infer_kv_blocks_total"));
});

let failed;
try {
  failed = await runCases();
} finally {
  const codes = [await demo.stop(), await think.stop()];
  if (codes.some((c) => c !== 0)) {
    console.log(`FAILED - the servers should exit 0 on SIGTERM, got ${codes.join(", ")}`);
    failed = (failed ?? 0) + 1;
  } else {
    console.log("ok - both servers exited 0 on SIGTERM");
  }
}
console.log(`${cases.length - failed} of ${cases.length} cases passed`);
process.exit(failed === 0 ? 0 : 1);
