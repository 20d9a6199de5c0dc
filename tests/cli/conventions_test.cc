// The conventions every clusterctl command keeps (docs/cli.md), and those
// clusterd shares with it, run as a user runs them: the built binaries, in a
// folder of the test's own, with the environment the test gives.
#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "temp_dir.h"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using nlohmann::json;

namespace {

const fs::path kReference = fs::path(CLUSTER_SOURCE_DIR) / "configs/examples/t4-4x4.yaml";

struct Run {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `program ARGS` (shell words) in `dir`, with CLUSTERCTL_FILE unset
// unless `env` sets it ("CLUSTERCTL_FILE=..."), and captures both streams.
Run RunIn(const fs::path& dir, const std::string& program, const std::string& args, const std::string& env = "") {
  const fs::path err_file = dir / ".stderr";
  const std::string command = "cd '" + dir.string() + "' && env -u CLUSTERCTL_FILE " + env + " '" + program + "' " +
                              args + " 2>'" + err_file.string() + "'";
  Run run;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) run.out.append(buffer, n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::stringstream err;
  err << std::ifstream(err_file).rdbuf();
  run.err = err.str();
  fs::remove(err_file);
  return run;
}

// An empty folder to run in (no cluster.yaml).
struct Folder {
  cluster::testing::TempDir dir{"conventions_test"};
  Run Clusterctl(const std::string& args, const std::string& env = "") const {
    return RunIn(dir.path, CLUSTERCTL_BIN, args, env);
  }
  Run Clusterd(const std::string& args) const { return RunIn(dir.path, CLUSTERD_BIN, args); }
};

}  // namespace

// ---- unknown commands ----------------------------------------------------------

TEST_CASE("An unknown clusterctl command exits 2 and names the closest command") {
  Folder f;
  const Run typo = f.Clusterctl("stauts -f cluster.yaml");
  CHECK(typo.exit_code == 2);
  CHECK(typo.out.empty());
  CHECK(typo.err ==
        "error: unknown command 'stauts'; did you mean 'status'?\n"
        "Run 'clusterctl --help' for the commands.\n");

  // After the global flags, which may come first.
  CHECK(f.Clusterctl("-v --json valdiate").err ==
        "error: unknown command 'valdiate'; did you mean 'validate'?\n"
        "Run 'clusterctl --help' for the commands.\n");

  // Nothing close: the list of commands.
  const Run far = f.Clusterctl("deploy");
  CHECK(far.exit_code == 2);
  CHECK(far.err ==
        "error: unknown command 'deploy'; the commands are validate, plan, push, check, up, status, logs or down\n"
        "Run 'clusterctl --help' for the commands.\n");
}

TEST_CASE("An unknown clusterd command exits 2 and names the closest command") {
  Folder f;
  const Run typo = f.Clusterd("strat");
  CHECK(typo.exit_code == 2);
  CHECK(typo.out.empty());
  CHECK(typo.err ==
        "clusterd: unknown command 'strat'; did you mean 'start'?\n"
        "usage: clusterd version | hash FILE | receive | start | serve --state DIR | stop --cluster NAME [--purge]\n"
        "Run 'clusterd --help' for what each command does.\n");
  // A known command with wrong arguments gets the usage alone.
  CHECK(f.Clusterd("stop --purge").err ==
        "usage: clusterd version | hash FILE | receive | start | serve --state DIR | stop --cluster NAME [--purge]\n"
        "Run 'clusterd --help' for what each command does.\n");
}

// ---- help and version ----------------------------------------------------------

TEST_CASE("clusterd --help and --version exit 0, the help with examples and exit codes") {
  Folder f;
  for (const std::string flag : {"--help", "-h"}) {
    const Run help = f.Clusterd(flag);
    CHECK(help.exit_code == 0);
    CHECK(help.err.empty());
    CHECK_THAT(help.out, Contains("  clusterd stop --cluster NAME [--purge]  stop the daemon and all it started"));
    CHECK_THAT(help.out, Contains("Examples:\n  clusterd version\n"));
    CHECK_THAT(help.out, Contains("Exit codes: 0 ok, 1 failure (stop: something is left), 2 usage error.\n"));
  }
  const Run version = f.Clusterd("--version");
  CHECK(version.exit_code == 0);
  CHECK_THAT(version.out, StartsWith("clusterd " CLUSTER_VERSION " (commit "));
  CHECK(f.Clusterd("version").out == version.out);
}

TEST_CASE("Every clusterctl command's --help lists the global flags it honours") {
  Folder f;
  for (const std::string command : {"validate", "plan", "push", "check", "up", "status", "logs", "down"}) {
    INFO(command);
    const Run help = f.Clusterctl(command + " --help");
    CHECK(help.exit_code == 0);
    CHECK_THAT(help.out, Contains("Global flags (before or after the command):\n  --json        one document: "));
    CHECK_THAT(help.out, Contains("Exit codes: "));
  }
  // The commands that stream say what --json-lines gives; -v where it adds detail.
  const Run push = f.Clusterctl("push --help");
  CHECK_THAT(push.out, Contains("  --json-lines  one object per event (phase, planned, progress, file, image, "
                                "host_done), the summary last\n"));
  CHECK_THAT(push.out, Contains("  -v, -vv       progress detail on stderr: hashing, each host's phases, every file "
                                "sent, resumed or skipped"));
  CHECK_THAT(f.Clusterctl("status --help").out,
             Contains("  --json-lines  with --watch, one such document per refresh (--watch --json is refused)"));
  CHECK_THAT(f.Clusterctl("logs --help").out, Contains("  --json-lines  one object per line of log"));
  CHECK_THAT(f.Clusterctl("check --help").out, Contains("  -v, -vv       progress detail on stderr: each host's "));
  CHECK_THAT(f.Clusterctl("up --help").out, Contains("  -v, -vv       progress detail on stderr: the placement, "));
  // Where -v adds nothing, the help does not promise it.
  CHECK_THAT(f.Clusterctl("plan --help").out, !Contains("-v, -vv"));
}

// ---- the inventory: -f, $CLUSTERCTL_FILE, ./cluster.yaml ------------------------

TEST_CASE("Without -f the inventory is $CLUSTERCTL_FILE, else ./cluster.yaml") {
  Folder f;
  const std::string first_line = "cluster t4-4x4: engine runtime, TP 4 x PP 4 = 16 ranks on 4 of 4 hosts\n";

  const Run from_env = f.Clusterctl("plan", "CLUSTERCTL_FILE='" + kReference.string() + "'");
  CHECK(from_env.exit_code == 0);
  CHECK(from_env.out.rfind(first_line, 0) == 0);

  fs::copy_file(kReference, f.dir.path / "cluster.yaml");
  const Run here = f.Clusterctl("plan");
  CHECK(here.exit_code == 0);
  CHECK(here.out == from_env.out);
  // Messages name the file as it was found.
  const Run invalid = f.Clusterctl("validate");
  CHECK(invalid.exit_code == 2);
  CHECK_THAT(invalid.err, Contains("cluster.yaml: invalid: "));

  // -f wins over both, and the variable over ./cluster.yaml.
  std::ofstream(f.dir.path / "other.yaml") << "cluster: {name: other}\n";
  CHECK_THAT(f.Clusterctl("validate -f other.yaml").err, Contains("other.yaml:"));
  CHECK_THAT(f.Clusterctl("validate", "CLUSTERCTL_FILE=other.yaml").err, Contains("other.yaml:"));
}

TEST_CASE("With no inventory at all, every command names the three ways to give one and exits 2") {
  Folder f;
  const std::string message =
      "no inventory: pass -f FILE, set CLUSTERCTL_FILE=FILE, or run clusterctl in a folder that has cluster.yaml";
  for (const std::string command : {"validate", "plan", "push", "check", "up", "status", "logs", "down"}) {
    INFO(command);
    const Run run = f.Clusterctl(command);
    CHECK(run.exit_code == 2);
    CHECK(run.out.empty());
    CHECK(run.err == "error: " + message + "\n");
  }
  const Run as_json = f.Clusterctl("status --json");
  CHECK(as_json.exit_code == 2);
  CHECK(as_json.out == "{\"ok\":false,\"error\":{\"code\":\"invalid_argument\",\"message\":\"" + message + "\"}}\n");
}

// ---- --json and --json-lines ---------------------------------------------------

TEST_CASE("Every command's --json is one document on one line, formatted alike") {
  Folder f;
  for (const std::string command : {"validate --skip-artifacts", "plan"}) {
    INFO(command);
    const Run run = f.Clusterctl(command + " --json -f '" + kReference.string() + "'");
    CHECK(run.exit_code == 0);
    REQUIRE(!run.out.empty());
    CHECK(run.out.find('\n') == run.out.size() - 1);
    CHECK(json::parse(run.out)["ok"] == true);
  }
  // An inventory that does not validate, as any command reports it.
  std::ofstream(f.dir.path / "cluster.yaml") << "cluster: {name: x}\n";
  const Run plan = f.Clusterctl("plan --json");
  const Run status = f.Clusterctl("status --json");
  CHECK(plan.exit_code == 2);
  CHECK(status.exit_code == 2);
  CHECK(status.out == plan.out);
  CHECK(plan.out.find('\n') == plan.out.size() - 1);
  CHECK(json::parse(plan.out)["ok"] == false);
  CHECK_FALSE(json::parse(plan.out)["errors"].empty());
}

TEST_CASE("A run that streams takes --json-lines: --json is refused with the flag to use") {
  Folder f;
  const Run watch = f.Clusterctl("status --watch --json -f cluster.yaml");
  CHECK(watch.exit_code == 2);
  CHECK(watch.out.empty());
  CHECK(watch.err == "error: status --watch prints one JSON object per event: use --json-lines, not --json\n");
  const Run follow = f.Clusterctl("--json logs --follow -f cluster.yaml");
  CHECK(follow.exit_code == 2);
  CHECK(follow.err == "error: logs --follow prints one JSON object per event: use --json-lines, not --json\n");
  // --json-lines alone is accepted where nothing streams: the one document, on its line.
  const Run lines = f.Clusterctl("plan --json-lines -f '" + kReference.string() + "'");
  CHECK(lines.exit_code == 0);
  CHECK(lines.out == f.Clusterctl("plan --json -f '" + kReference.string() + "'").out);
}
