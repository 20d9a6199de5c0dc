// clusterctl: serve a large language model across a few GPU servers.
//
// main parses flags (CLI11 errors are caught here, never with CLI11_PARSE),
// dispatches to the chosen subcommand and returns its exit code. An unknown
// command is refused before parsing, with the closest command's name.
#include <CLI/CLI.hpp>
#include <signal.h>

#include <iostream>
#include <string_view>
#include <vector>

#include "cli/command.h"
#include "common/build_info.h"
#include "common/logging.h"
#include "common/spelling.h"
#include "runtimes/deployments.h"

namespace {

constexpr const char* kDescription =
    "clusterctl: serve a large language model across a few GPU servers on an air-gapped network.\n"
    "\n"
    "Typical flow:\n"
    "  clusterctl validate -f cluster.yaml   # schema and semantics, precise errors\n"
    "  clusterctl plan     -f cluster.yaml   # rank placement and memory per GPU: will it fit? how fast?\n"
    "  clusterctl push     -f cluster.yaml   # models and images to every host, verified, resumable\n"
    "  clusterctl check    -f cluster.yaml   # GPUs, dtype, network, disk, ports, clock, model hash\n"
    "  clusterctl up       -f cluster.yaml   # agents, then every rank or container; waits until serving\n"
    "  clusterctl status   -f cluster.yaml   # agents, GPUs, ranks, endpoint health and rates\n"
    "  clusterctl logs     -f cluster.yaml   # logs of the ranks or containers (--follow)\n"
    "  clusterctl down     -f cluster.yaml   # stop everything, verify nothing is left\n"
    "\n"
    "-f is optional: without it the inventory is $CLUSTERCTL_FILE, else ./cluster.yaml.\n"
    "\n"
    "Exit codes: 0 ok, 1 failure, 2 usage or configuration error.";

// Options of clusterctl itself, which may come before the command; none takes a value.
const std::vector<std::string_view> kGlobalFlags = {"-v", "-vv",    "-vvv",   "--verbose", "--json",
                                                    "--json-lines", "-h", "--help", "--version"};

constexpr cluster::cli::CommandAdder kCommands[] = {
    cluster::cli::AddValidateCommand,
    cluster::cli::AddPlanCommand,
    cluster::cli::AddPushCommand,
    cluster::cli::AddCheckCommand,
    cluster::cli::AddUpCommand,
    cluster::cli::AddStatusCommand,
    cluster::cli::AddLogsCommand,
    cluster::cli::AddDownCommand,
};

}  // namespace

int main(int argc, char** argv) {
  using namespace cluster::cli;
  CLI::App app(kDescription, "clusterctl");
  app.require_subcommand(1);
  app.fallthrough();  // global flags may follow the subcommand name
  app.set_version_flag("--version", cluster::VersionLine("clusterctl"));

  const Runtimes runtimes = cluster::runtimes::BuiltinRuntimes();
  GlobalOptions global;
  global.runtimes = &runtimes;
  app.add_flag("-v,--verbose", global.verbosity, "More log output on stderr (-v info, -vv debug)");
  app.add_flag("--json", global.json, "Machine-readable JSON on stdout: one document (field names are stable)");
  app.add_flag("--json-lines", global.json_lines,
               "JSON on stdout, one object per line per event, for commands that stream (push, status --watch, "
               "logs --follow)");

  CommandRunner run;
  for (CommandAdder add : kCommands) add(app, global, &run);

  std::vector<std::string_view> commands;
  for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) commands.push_back(sub->get_name());
  if (auto unknown = cluster::UnknownCommandIn(argc, argv, commands, kGlobalFlags)) {
    std::cerr << "error: " << *unknown << "\n"
              << "Run 'clusterctl --help' for the commands.\n";
    return kExitUsageError;
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "error: " << e.what() << "\n"
              << "Run 'clusterctl --help' or 'clusterctl COMMAND --help' for usage.\n";
    return kExitUsageError;
  }

  global.json = global.json || global.json_lines;
  cluster::SetLogLevel(cluster::LogLevelFromVerbosity(global.verbosity));
  ::signal(SIGPIPE, SIG_IGN);  // a host or child that goes away is an error return, not a crash
  if (!run) return kExitUsageError;
  try {
    return run();
  } catch (const std::exception& e) {
    // Libraries return Status; reaching here is a bug, reported as one.
    return ReportError(cluster::InternalError(std::string("unexpected exception: ") + e.what()), global);
  }
}
