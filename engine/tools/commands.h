// The infer-engine subcommands, one file each. Each Add*Command registers its
// flags on the parent app and returns the function that runs it (returning
// the exit code), called by main after parsing.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace engine::tools {

struct Subcommand {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Subcommand AddGenerateCommand(CLI::App& parent);     // generate_command.cc
Subcommand AddTokenizeCommand(CLI::App& parent);     // tokenize_command.cc
Subcommand AddRenderChatCommand(CLI::App& parent);   // render_chat_command.cc
Subcommand AddServeCommand(CLI::App& parent);        // serve_command.cc
Subcommand AddProbeCommand(CLI::App& parent);        // probe_command.cc
Subcommand AddBenchCommCommand(CLI::App& parent);    // bench_comm_command.cc
Subcommand AddBenchCommand(CLI::App& parent);        // bench_command.cc

}  // namespace engine::tools
