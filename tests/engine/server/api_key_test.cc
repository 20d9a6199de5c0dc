// The optional API key: Bearer auth, constant-time comparison, and a key file
// that must hold one clean line.
#include "engine/server/api_key.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using namespace engine::server;
using Catch::Matchers::Contains;

namespace {

std::filesystem::path WriteFile(const std::string& name, const std::string& content) {
  const auto path = std::filesystem::temp_directory_path() / ("engine_server_api_key_test_" + name);
  std::ofstream(path, std::ios::binary) << content;
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return path;
}

}  // namespace

TEST_CASE("Only 'Bearer <key>' with exactly the key is accepted") {
  ApiKey key = ApiKey::FromString("sk-test-123");
  CHECK(key.Accepts("Bearer sk-test-123"));
  CHECK(key.Accepts("bearer sk-test-123"));  // the scheme is case-insensitive
  CHECK(key.Accepts("Bearer  sk-test-123 "));
  CHECK_FALSE(key.Accepts(""));
  CHECK_FALSE(key.Accepts("sk-test-123"));
  CHECK_FALSE(key.Accepts("Basic sk-test-123"));
  CHECK_FALSE(key.Accepts("Bearer sk-test-12"));
  CHECK_FALSE(key.Accepts("Bearer sk-test-1234"));
  CHECK_FALSE(key.Accepts("Bearer SK-TEST-123"));
  CHECK_FALSE(key.Accepts("Bearer "));
}

TEST_CASE("The constant-time comparison is an equality test") {
  CHECK(ConstantTimeEquals("abc", "abc"));
  CHECK_FALSE(ConstantTimeEquals("abc", "abd"));
  CHECK_FALSE(ConstantTimeEquals("abc", "ab"));
  CHECK_FALSE(ConstantTimeEquals("abc", "abcd"));
  CHECK_FALSE(ConstantTimeEquals("abc", ""));
  CHECK(ConstantTimeEquals("", ""));
}

TEST_CASE("A key file's surrounding whitespace is trimmed") {
  auto key = ApiKey::FromFile(WriteFile("ok", "  sk-file-key\n"));
  REQUIRE(key.ok());
  CHECK(key->Accepts("Bearer sk-file-key"));
}

TEST_CASE("An empty, multi-word or missing key file is an error that names the file but not the key") {
  auto empty = ApiKey::FromFile(WriteFile("empty", "\n"));
  REQUIRE_FALSE(empty.ok());
  CHECK_THAT(empty.status().message(), Contains("the API key file is empty"));

  auto spaced = ApiKey::FromFile(WriteFile("spaced", "two words\n"));
  REQUIRE_FALSE(spaced.ok());
  CHECK_THAT(spaced.status().message(), Contains("without spaces or control characters"));
  CHECK_THAT(spaced.status().message(), !Contains("two words"));

  auto missing = ApiKey::FromFile("/nonexistent/key");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == cluster::StatusCode::kNotFound);
  CHECK(missing.status().message() == "cannot read the API key file /nonexistent/key: no such file");
}

TEST_CASE("A key file must be a small regular file: a device, a FIFO or a large file is refused at once") {
  // It was read with an ifstream to its end: /dev/zero grew the server until
  // memory ran out, and a FIFO without a writer blocked its start for ever.
  auto zero = ApiKey::FromFile("/dev/zero");
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.status().message() ==
        "cannot read the API key file /dev/zero: is a character device, not a regular file");

  const auto fifo = std::filesystem::temp_directory_path() /
                    ("engine_server_api_key_test_fifo_" + std::to_string(::getpid()));
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto from_fifo = ApiKey::FromFile(fifo);
  std::filesystem::remove(fifo);
  REQUIRE_FALSE(from_fifo.ok());
  CHECK(from_fifo.status().message() ==
        "cannot read the API key file " + fifo.string() + ": is a FIFO, not a regular file");

  const auto large = WriteFile("large", std::string(ApiKey::kMaxKeyFileBytes + 1, 'k'));
  auto from_large = ApiKey::FromFile(large);
  REQUIRE_FALSE(from_large.ok());
  CHECK(from_large.status().message() ==
        "cannot read the API key file " + large.string() + ": is larger than 65536 bytes, the most read here");
  CHECK(ApiKey::FromFile(WriteFile("at_limit", std::string(ApiKey::kMaxKeyFileBytes, 'k'))).ok());
}
