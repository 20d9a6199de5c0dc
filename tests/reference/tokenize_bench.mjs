// The JavaScript side of scripts/bench-tokenizer: the same procedure as
// tests/engine/tokenizer/tokenizer_bench.cc, with @huggingface/tokenizers.
//
//   node tests/reference/tokenize_bench.mjs [--mb 5] [--corpus FILE]
//
// Per tokenizer: load, encode the corpus once ("cold"), then encode it line by
// line, repeated until --mb megabytes ("warm"). Prints
//   RESULT NAME cold_mb_s warm_mb_s warm_tokens_s warm_tokens checksum load_s warm_cpu_mb_s
// with the same FNV-1a checksum over the ids as the C++ benchmark.
// warm_cpu_mb_s divides by the CPU time of the process (all of node's threads,
// garbage collection included) rather than by wall time.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { TOKENIZERS, loadTokenizer, readCorpus, missingPackages } from "./tokenize_reference.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
let megabytes = 5;
let corpusFile = path.join(here, "../engine/tokenizer/corpus.jsonl");
for (let i = 0; i < args.length; ++i) {
  if (args[i] === "--mb") megabytes = Number(args[++i]);
  else if (args[i] === "--corpus") corpusFile = args[++i];
}
const missing = missingPackages();
if (missing.length > 0) {
  console.log(`skipped: missing ${missing.join(", ")}; run 'npm ci' in ${here}`);
  process.exit(4);
}

const corpus = readCorpus(corpusFile);
const lineBytes = corpus.map((l) => Buffer.byteLength(l, "utf8"));
const corpusBytes = lineBytes.reduce((a, b) => a + b, 0);
const target = megabytes * 1e6;
const options = { add_special_tokens: false };

for (const name of Object.keys(TOKENIZERS)) {
  let start = performance.now();
  const tokenizer = await loadTokenizer(name);
  const loadS = (performance.now() - start) / 1e3;

  start = performance.now();
  for (const line of corpus) tokenizer.encode(line, options);
  const coldS = (performance.now() - start) / 1e3;

  let bytes = 0, tokens = 0, checksum = 2166136261;
  start = performance.now();
  const cpuStart = process.cpuUsage();
  while (bytes < target) {
    for (let i = 0; i < corpus.length; ++i) {
      const ids = tokenizer.encode(corpus[i], options).ids;
      for (const id of ids) checksum = Math.imul(checksum ^ id, 16777619) >>> 0;
      tokens += ids.length;
      bytes += lineBytes[i];
    }
  }
  const warmS = (performance.now() - start) / 1e3;
  const cpu = process.cpuUsage(cpuStart);
  const warmCpuS = (cpu.user + cpu.system) / 1e6;
  console.log(`RESULT ${name} ${(corpusBytes / 1e6 / coldS).toFixed(2)} ${(bytes / 1e6 / warmS).toFixed(2)} ` +
    `${(tokens / warmS).toFixed(0)} ${tokens} ${checksum.toString(16).padStart(8, "0")} ${loadS.toFixed(2)} ` +
    `${(bytes / 1e6 / warmCpuS).toFixed(2)}`);
}
