#include "engine/server/api_key.h"

#include <sys/stat.h>

#include "common/files.h"
#include "common/logging.h"

namespace engine::server {

bool ConstantTimeEquals(std::string_view expected, std::string_view given) {
  // Every byte of `expected` is visited whatever `given` holds; the length
  // difference joins the accumulated difference instead of returning early.
  unsigned diff = expected.size() == given.size() ? 0u : 1u;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff |= static_cast<unsigned>(static_cast<unsigned char>(expected[i]) ^ g);
  }
  return diff == 0;
}

StatusOr<ApiKey> ApiKey::FromFile(const std::filesystem::path& file) {
  // A regular file of at most kMaxKeyFileBytes: a FIFO, /dev/zero or a huge
  // file named by mistake is refused at once, never read without bound.
  StatusOr<std::string> content = cluster::ReadFile(file, kMaxKeyFileBytes);
  if (!content.ok()) {
    return Status(content.status().code(), "cannot read the API key file " + content.status().message());
  }
  std::string key = std::move(*content);
  const auto is_space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!key.empty() && is_space(key.back())) key.pop_back();
  std::size_t start = 0;
  while (start < key.size() && is_space(key[start])) ++start;
  key.erase(0, start);
  if (key.empty()) return cluster::InvalidArgumentError(file.string() + ": the API key file is empty");
  for (char c : key) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      return cluster::InvalidArgumentError(file.string() +
                                           ": the API key must be one line without spaces or control characters");
    }
  }
  struct stat st {};
  if (::stat(file.c_str(), &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    LOG_WARNING("{}: the API key file is readable by group or others; chmod 600 it", file.string());
  }
  return ApiKey(std::move(key));
}

bool ApiKey::Accepts(std::string_view authorization) const {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() < kScheme.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return false;
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  return ConstantTimeEquals(key_, token);
}

}  // namespace engine::server
