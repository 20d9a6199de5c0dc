// ApiKey: the optional bearer key of the HTTP API (--api-key-file).
//
// When a key is set, every route but GET /health needs
//   Authorization: Bearer <key>
// (scheme case-insensitive, as RFC 7235 has it). The comparison takes time
// that depends only on the key's length, never on where a guess goes wrong.
// The key is never logged or echoed: errors about the file name the file,
// not its content.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace engine::server {

class ApiKey {
 public:
  // A key file is one short line; anything larger is not a key file.
  static constexpr std::uint64_t kMaxKeyFileBytes = 64 << 10;

  // Reads the key: the file's content with surrounding whitespace (a final
  // newline) removed. NotFound if the file does not exist; InvalidArgument
  // if it is not a regular file (a FIFO, a device) or is larger than
  // kMaxKeyFileBytes (cluster::ReadFile), is empty, or the key holds
  // whitespace or control characters (it could not travel in a header).
  // Warns (log) when the file is readable by group or others.
  static StatusOr<ApiKey> FromFile(const std::filesystem::path& file);
  // REQUIRES: key is not empty.
  static ApiKey FromString(std::string key) { return ApiKey(std::move(key)); }

  // True if `authorization` (the header's value, "" when absent) carries the key.
  bool Accepts(std::string_view authorization) const;

 private:
  explicit ApiKey(std::string key) : key_(std::move(key)) {}
  std::string key_;
};

// Compares in time that depends on expected.size() only.
bool ConstantTimeEquals(std::string_view expected, std::string_view given);

}  // namespace engine::server
