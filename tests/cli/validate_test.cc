// `clusterctl validate`, run as a user runs it: the built binary, in the
// folder of the fixture inventories, so messages name files as typed.
// Checks exit codes, the human output on stdout/stderr, and the --json
// document parsed back.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace {

const fs::path kFixtures = fs::path(CLUSTER_SOURCE_DIR) / "tests/fixtures/inventories";

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `clusterctl ARGS` in the fixtures folder and captures both streams;
// with `timeout_s`, a run that takes longer is killed (exit code 124).
RunResult Clusterctl(const std::string& args, int timeout_s = 0) {
  const fs::path err_file = fs::temp_directory_path() / ("validate_test_stderr_" + std::to_string(::getpid()));
  const std::string limit = timeout_s > 0 ? "timeout " + std::to_string(timeout_s) + " " : "";
  const std::string command = "cd '" + kFixtures.string() + "' && " + limit + "'" + CLUSTERCTL_BIN + "' " + args +
                              " 2>'" + err_file.string() + "'";
  RunResult r;
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.out.append(buf, n);
  const int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(err_file);
  std::stringstream ss;
  ss << err.rdbuf();
  r.err = ss.str();
  fs::remove(err_file);
  return r;
}

}  // namespace

TEST_CASE("A valid inventory exits 0 and prints one summary line") {
  const RunResult r = Clusterctl("validate -f valid.yaml");
  CHECK(r.exit_code == 0);
  CHECK(r.out == "valid.yaml: valid (cluster t4-lab: 4 hosts, 16 GPUs; runtime engine, TP4 x PP4, float16)\n");
  CHECK(r.err.empty());
}

TEST_CASE("Warnings go to stderr and do not fail validation") {
  const RunResult r = Clusterctl("validate -f warnings.yaml");
  CHECK(r.exit_code == 0);
  CHECK(r.out ==
        "warnings.yaml: valid with 1 warning (cluster docker-lab: 2 hosts, 4 GPUs; runtime vllm-docker, TP2 x PP2, "
        "dtype auto)\n");
  CHECK(r.err ==
        "warnings.yaml:17:3: warning: runtime.engine: ignored: only kind engine uses it (remove it, or set kind: "
        "engine)\n");
}

TEST_CASE("An invalid inventory exits 2, with every error on stderr and a count at the end") {
  const RunResult r = Clusterctl("validate -f errors.yaml");
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "errors.yaml:6:27: error: hosts[1].address: duplicate address \"10.0.0.11\": hosts[0] gpu1 at line 5 has it "
        "too (each host is one server with its own address; list a server once, with all its GPUs)\n"
        "errors.yaml:6:44: error: hosts[1].gpus: expected a whole number >= 0 or \"auto\", found \"four\"\n"
        "errors.yaml:11:10: error: runtime.model: no model named \"tiny-lama\" in artifacts.models (did you mean "
        "tiny-llama?)\n"
        "errors.yaml:13:3: error: runtime.pipeline_paralel: unknown key (did you mean pipeline_parallel?)\n"
        "errors.yaml:14:10: error: runtime.dtype: expected one of auto, float16, bfloat16 or float32, found \"fp16\" "
        "(did you mean float16?)\n"
        "errors.yaml: invalid: 5 errors\n");
}

TEST_CASE("A YAML syntax error exits 2 with its position") {
  const RunResult r = Clusterctl("validate -f syntax-error.yaml");
  CHECK(r.exit_code == 2);
  CHECK(r.err ==
        "syntax-error.yaml:5:1: error: YAML syntax: end of sequence flow not found (a \"[\" is not closed by \"]\")\n"
        "syntax-error.yaml: invalid: 1 error\n");
}

TEST_CASE("A file that does not exist exits 2") {
  const RunResult r = Clusterctl("validate -f no-such.yaml");
  CHECK(r.exit_code == 2);
  CHECK(r.err == "no-such.yaml: error: no such file\nno-such.yaml: invalid: 1 error\n");
}

TEST_CASE("Missing artifacts fail validation unless --skip-artifacts makes them warnings") {
  // The message gives the resolved path, which depends on where the source tree is.
  // As an error its hint says how to check the rest before the model is copied here.
  auto with = [](const std::string& severity, const std::string& more) {
    return "missing-artifacts.yaml:8:27: " + severity + ": artifacts.models[0].source: folder " +
           (kFixtures / "models/not-copied-yet").string() +
           " does not exist (\"models/not-copied-yet\" is relative to the inventory's folder " + kFixtures.string() +
           more + ")\n";
  };

  const RunResult strict = Clusterctl("validate -f missing-artifacts.yaml");
  CHECK(strict.exit_code == 2);
  CHECK(strict.err ==
        with("error", "; copy it to this machine, or check the rest with `clusterctl validate --skip-artifacts`") +
            "missing-artifacts.yaml: invalid: 1 error\n");

  const RunResult skipped = Clusterctl("validate -f missing-artifacts.yaml --skip-artifacts");
  CHECK(skipped.exit_code == 0);
  CHECK(skipped.err == with("warning", ""));
  CHECK(skipped.out ==
        "missing-artifacts.yaml: valid with 1 warning (cluster lab: 1 host, 1 GPU; runtime engine, TP1 x PP1, dtype "
        "auto)\n");
}

TEST_CASE("With --json, a valid inventory prints one document on stdout with its summary") {
  const RunResult r = Clusterctl("validate -f valid.yaml --json");
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["ok"] == true);
  CHECK(doc["file"] == "valid.yaml");
  CHECK(doc["errors"].empty());
  CHECK(doc["warnings"].empty());
  const auto& cluster = doc["cluster"];
  CHECK(cluster["name"] == "t4-lab");
  CHECK(cluster["hosts"] == 4);
  CHECK(cluster["gpus"] == 16);
  CHECK(cluster["head"] == "gpu1");
  CHECK(cluster["runtime"] == nlohmann::json{{"kind", "engine"},
                                             {"model", "tiny-llama"},
                                             {"tensor_parallel", 4},
                                             {"pipeline_parallel", 4},
                                             {"dtype", "float16"},
                                             {"port", 8000},
                                             {"device", "cuda"},
                                             {"batch_invariant", true}});
}

TEST_CASE("With --json, each error has its file, position, key, message and hint, the exit code is 2") {
  // The global flag may come before the subcommand as well as after it.
  const RunResult r = Clusterctl("--json validate -f errors.yaml");
  CHECK(r.exit_code == 2);
  CHECK(r.err.empty());
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["ok"] == false);
  CHECK(doc["cluster"].is_null());
  CHECK(doc["warnings"].empty());
  REQUIRE(doc["errors"].size() == 5);
  CHECK(doc["errors"][3] == nlohmann::json{{"file", "errors.yaml"},
                                           {"line", 13},
                                           {"column", 3},
                                           {"key", "runtime.pipeline_paralel"},
                                           {"message", "unknown key"},
                                           {"hint", "did you mean pipeline_parallel?"}});
  CHECK(doc["errors"][1]["message"] == "expected a whole number >= 0 or \"auto\", found \"four\"");
  CHECK(doc["errors"][1]["hint"] == "");
}

TEST_CASE("With --json, warnings are listed apart from errors") {
  const RunResult r = Clusterctl("validate --json -f warnings.yaml");
  CHECK(r.exit_code == 0);
  const auto doc = nlohmann::json::parse(r.out);
  CHECK(doc["ok"] == true);
  REQUIRE(doc["warnings"].size() == 1);
  CHECK(doc["warnings"][0]["key"] == "runtime.engine");
  CHECK(doc["cluster"]["gpus"] == 4);
  CHECK(doc["cluster"]["runtime"]["image"] == "vllm/vllm-openai:v0.8.5");
  CHECK_FALSE(doc["cluster"]["runtime"].contains("device"));
}

TEST_CASE("validate refuses a device, a FIFO and an oversized file at once, exit 2") {
  // /dev/zero never ends and a FIFO without a writer never answers: neither
  // may be read (`timeout` turns a hang into a failure of this test).
  RunResult r = Clusterctl("validate -f /dev/zero", /*timeout_s=*/20);
  CHECK(r.exit_code == 2);
  CHECK(r.err ==
        "/dev/zero: error: is a character device, not a regular file\n"
        "/dev/zero: invalid: 1 error\n");

  const fs::path dir = fs::temp_directory_path() / ("validate_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path fifo = dir / "cluster.yaml";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  r = Clusterctl("validate -f '" + fifo.string() + "'", 20);
  CHECK(r.exit_code == 2);
  CHECK(r.err == fifo.string() + ": error: is a FIFO, not a regular file\n" + fifo.string() +
                     ": invalid: 1 error\n");

  const fs::path big = dir / "big.yaml";
  std::ofstream(big) << "# " << std::string(2 << 20, 'x') << "\n";
  r = Clusterctl("validate -f '" + big.string() + "'", 20);
  CHECK(r.exit_code == 2);
  CHECK(r.err == big.string() + ": error: is larger than 1048576 bytes, the most read here (an inventory is a "
                                "small YAML file; check that -f names the right one)\n" +
                     big.string() + ": invalid: 1 error\n");
  fs::remove_all(dir);
}

TEST_CASE("Keys with terminal escapes or bytes that are not UTF-8 are shown safely, and --json still works") {
  // A crafted key could redraw the terminal (ESC [ 2 J clears it, CR returns
  // to the line's start), and --json failed with an internal error (exit 1)
  // on bytes that are not UTF-8 while the human output worked.
  const fs::path dir = fs::temp_directory_path() / ("validate_test_keys_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ifstream valid(kFixtures / "valid.yaml");
  std::stringstream base;
  base << valid.rdbuf();
  const fs::path escapes = dir / "escapes.yaml";
  std::ofstream(escapes) << base.str() << "\"bad\\e[2J\\rkey\": 1\n";
  const fs::path binary = dir / "binary.yaml";
  std::ofstream(binary) << base.str() << "bad\xff\xfekey: 1\n";

  RunResult r = Clusterctl("validate --skip-artifacts -f '" + escapes.string() + "'");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains(":52:1: error: bad\\x1b[2J\\x0dkey: unknown key (valid keys here: cluster, ssh, "
                                    "network, hosts, artifacts, runtime)\n"));
  CHECK(r.err.find('\x1b') == std::string::npos);
  CHECK(r.err.find('\r') == std::string::npos);

  r = Clusterctl("validate --skip-artifacts -f '" + binary.string() + "'");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains(":52:1: error: bad\\xff\\xfekey: unknown key"));

  for (const std::string command : {"--json validate --skip-artifacts", "--json plan"}) {
    INFO(command);
    r = Clusterctl(command + " -f '" + binary.string() + "'");
    CHECK(r.exit_code == 2);
    const auto doc = nlohmann::json::parse(r.out);
    CHECK(doc["ok"] == false);
    bool found = false;
    for (const auto& e : doc["errors"]) found = found || e["key"] == "bad\xef\xbf\xbd\xef\xbf\xbdkey";  // U+FFFD twice
    CHECK(found);
  }
  fs::remove_all(dir);
}

TEST_CASE("validate --help shows examples") {
  const RunResult r = Clusterctl("validate --help");
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("clusterctl validate -f cluster.yaml --skip-artifacts"));
}
