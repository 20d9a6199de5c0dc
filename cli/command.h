// The subcommand table of clusterctl. Each subcommand lives in its own file,
// binds its flags on a CLI11 sub-app and calls one library function; main.cc
// parses, dispatches and turns errors into exit codes.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace cluster::cli {

// Exit codes every command keeps (documented in docs/cli.md).
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,      // the command ran and something failed (a host, a check)
  kExitUsageError = 2,   // bad flags, or an inventory that does not validate
};

// Flags shared by every command. They may be given before or after the
// subcommand name (`clusterctl -v plan ...` or `clusterctl plan -v ...`).
class Runtimes;

struct GlobalOptions {
  int verbosity = 0;        // -v info, -vv debug
  bool json = false;        // machine-readable output on stdout (also set by --json-lines)
  bool json_lines = false;  // a command that streams events prints one object per event
  // The runtimes `validate`, `check` and `up` know (main's: runtimes/deployments.h).
  const Runtimes* runtimes = nullptr;
};

// Maps a failed Status to an exit code: configuration and usage problems are 2,
// everything else 1.
int ExitCodeFor(const Status& status);

// The text of a JSON document for stdout (`indent` as nlohmann's dump). A
// string that is not UTF-8 (an inventory key, a host's answer) is written
// with U+FFFD in place of its bad bytes: --json output never fails where
// the human output works.
std::string JsonText(const nlohmann::json& json, int indent = -1);
std::string JsonText(const nlohmann::ordered_json& json, int indent = -1);

// Writes `doc` to stdout as one line of JSON (JsonText, no indent) and
// flushes: the one format of every --json document and --json-lines event.
void PrintJson(const nlohmann::ordered_json& doc);
void PrintJson(const nlohmann::json& doc);

// The refusal of --json on a command run that streams (status --watch, logs
// --follow): its output is many documents, so it takes --json-lines.
// Prints the error and returns kExitUsageError.
int JsonLinesRequired(const std::string& command_line);

// Binds -f/--file, the inventory, on `cmd`. It is optional: see InventoryFile.
void AddInventoryOption(CLI::App* cmd, std::string& file);

// The inventory a command reads: `flag` (-f) when given, else
// $CLUSTERCTL_FILE when set, else ./cluster.yaml when it exists.
// InvalidArgument naming the three ways when none applies.
StatusOr<std::string> InventoryFile(const std::string& flag);

// The part of a command's --help that says what the global flags do for it.
// `json_lines` is "" for a command that does not stream; `verbose` "" for
// one that logs nothing more with -v.
std::string GlobalFlagsHelp(const std::string& json, const std::string& json_lines, const std::string& verbose);

// Prints a failed Status to stderr ("error: ...", made printable) or, with --json, as
// {"ok": false, "error": {"code": ..., "message": ...}} on stdout. Returns the exit code.
int ReportError(const Status& status, const GlobalOptions& global);

// Adds one subcommand to `app`. When the user picks it, `*run` is set to the
// function that executes it; the function returns the process exit code.
using CommandRunner = std::function<int()>;
using CommandAdder = void (*)(CLI::App& app, const GlobalOptions& global, CommandRunner* run);

void AddValidateCommand(CLI::App& app, const GlobalOptions& global, CommandRunner* run);
void AddPlanCommand(CLI::App& app, const GlobalOptions& global, CommandRunner* run);
void AddPushCommand(CLI::App& app, const GlobalOptions& global, CommandRunner* run);
void AddCheckCommand(CLI::App& app, const GlobalOptions& global, CommandRunner* run);
void AddUpCommand(CLI::App& app, const GlobalOptions& global, CommandRunner* run);
void AddStatusCommand(CLI::App& app, const GlobalOptions& global, CommandRunner* run);
void AddLogsCommand(CLI::App& app, const GlobalOptions& global, CommandRunner* run);
void AddDownCommand(CLI::App& app, const GlobalOptions& global, CommandRunner* run);

}  // namespace cluster::cli
