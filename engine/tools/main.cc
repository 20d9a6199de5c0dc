// infer-engine: the bundled inference engine's command line.
//
//   infer-engine generate    --model DIR (--prompt TEXT | --prompt-ids 1,2,3) [sampling flags] [--json]
//   infer-engine tokenize    --model DIR [--json-lines] [--add-special] [--decode]   (lines on stdin)
//   infer-engine render-chat --model DIR                                            (JSON on stdin)
//   infer-engine serve       --model DIR [--host ADDR] [--port N] [--api-key-file F] (OpenAI HTTP API)
//   infer-engine probe       [--device cuda[:N]] [--json]                          (can the engine open the GPU?)
//   infer-engine bench-comm  --world-size N --rank R --tensor-parallel T --pipeline-parallel P
//                            --rendezvous ADDRESS:PORT [--json]               (collective bandwidth)
//   infer-engine bench       --model DIR [--device ...] [--batch ...] [--context ...] [--prefill ...] [--json]
//                                                           (speed against the device's measured limits)
//   infer-engine --version   (version, commit, CUDA and NCCL of the build)
// generate, serve and bench take --device cpu|cuda[:N] and --dtype (engine_setup.h).
//
// main parses with CLI11 and catches its errors itself (no CLI11_PARSE):
// --help and --version exit 0, a usage error 2 (an unknown command says the
// closest one); each subcommand returns its own code (command_support.h).
// No exception leaves main.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <string_view>
#include <vector>

#include "common/build_info.h"
#include "common/spelling.h"
#include "engine/tools/command_support.h"
#include "engine/tools/commands.h"

namespace {

constexpr const char* kFooter =
    "Examples:\n"
    "  infer-engine generate --model models/demo --prompt 'Hello' --max-tokens 32\n"
    "  infer-engine serve --model /srv/models/demo --device cuda --port 8000\n"
    "  infer-engine probe --device cuda --json     # can the engine open the GPU?\n"
    "  infer-engine COMMAND --help                 # the flags of one command\n"
    "\n"
    "clusterctl up starts `infer-engine serve` on every rank; docs/engine.md describes the commands.\n"
    "\n"
    "Exit codes: 0 ok, 1 failure (a model that cannot be read or run), 2 usage error.";

}  // namespace

int main(int argc, char** argv) {
  using namespace engine::tools;
  CLI::App app{"infer-engine: run an LLM from a Hugging Face model folder (Llama, Qwen2) on the CPU or an NVIDIA GPU",
               "infer-engine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", cluster::VersionLine("infer-engine"));
  app.footer(kFooter);
  const std::vector<Subcommand> subcommands = {AddGenerateCommand(app), AddTokenizeCommand(app),
                                               AddRenderChatCommand(app), AddServeCommand(app),
                                               AddProbeCommand(app), AddBenchCommCommand(app),
                                               AddBenchCommand(app)};
  std::vector<std::string_view> names;
  for (const Subcommand& s : subcommands) names.push_back(s.app->get_name());
  if (auto unknown = cluster::UnknownCommandIn(argc, argv, names, {"-h", "--help", "--version"})) {
    std::fprintf(stderr, "infer-engine: %s\nRun 'infer-engine --help' for the commands.\n", unknown->c_str());
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help or the error
    return code == 0 ? kExitOk : kExitUsage;
  }
  try {
    for (const Subcommand& s : subcommands) {
      if (s.app->parsed()) return s.run();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "infer-engine: internal error: %s\n", e.what());
    return kExitFailure;
  }
  return kExitUsage;
}
