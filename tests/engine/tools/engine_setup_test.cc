// StartEngine's start-up line (Engine::Summary): what an operator reads to
// see where the time between starting serve and serving went.
#include <catch2/catch.hpp>

#include <regex>
#include <string>

#include "engine/tools/command_support.h"
#include "engine/tools/engine_setup.h"
#include "tiny_model.h"

using namespace engine;

TEST_CASE("The start-up line ends with the time spent opening the device, loading the weights and sizing the KV cache") {
  testing::TempDir dir;
  testing::TinyModelOptions o;
  o.vocab_size = 260;
  REQUIRE(testing::WriteTinyModel(dir.path(), o).ok());
  tools::EngineOptions options;
  options.device = "cpu";
  std::unique_ptr<tools::Engine> engine;
  REQUIRE(tools::StartEngine(dir.path(), options, engine) == tools::kExitOk);
  const std::string line = engine->Summary();
  INFO(line);
  CHECK(line.rfind("cpu (float32); weights ", 0) == 0);
  std::smatch m;
  REQUIRE(std::regex_search(line, m,
                            std::regex(R"(; started in (\d+\.\d\d) s: device (\d+\.\d\d) s, weights (\d+\.\d\d) s )"
                                       R"(\((\d+\.\d) GB/s\), KV cache (\d+\.\d\d) s$)")));
  // The phases are the engine's own measurements, and the total is their sum.
  CHECK(engine->weights_seconds > 0);
  CHECK(engine->device_seconds >= 0);
  CHECK(engine->cache_seconds >= 0);
  CHECK(std::stod(m[1]) ==
        Approx(engine->device_seconds + engine->weights_seconds + engine->cache_seconds).margin(0.005));
  CHECK(std::stod(m[3]) == Approx(engine->weights_seconds).margin(0.005));
}
