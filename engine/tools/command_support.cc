#include "engine/tools/command_support.h"

#include <charconv>
#include <cstdio>
#include <system_error>

namespace engine::tools {

int UsageError(std::string_view message) {
  std::fprintf(stderr, "infer-engine: %.*s\n", static_cast<int>(message.size()), message.data());
  return kExitUsage;
}

int Failure(const Status& status) {
  std::fprintf(stderr, "infer-engine: %s\n", status.message().c_str());
  return kExitFailure;
}

StatusOr<std::vector<std::int32_t>> ParseIdList(std::string_view text) {
  std::vector<std::int32_t> ids;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view item = text.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    std::int32_t id = 0;
    auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
    if (item.empty() || ec != std::errc() || ptr != item.data() + item.size() || id < 0) {
      return cluster::InvalidArgumentError("--prompt-ids: \"" + std::string(item) +
                                           "\" is not a token id (expected a comma-separated list like 1,2,3)");
    }
    ids.push_back(id);
    start = end + 1;
  }
  return ids;
}

bool HasTokenizer(const std::filesystem::path& model_dir) {
  std::error_code ec;
  return std::filesystem::exists(model_dir / "tokenizer.json", ec);
}

}  // namespace engine::tools
