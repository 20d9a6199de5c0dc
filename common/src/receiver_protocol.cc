#include "common/receiver_protocol.h"

#include <fmt/format.h>

#include "common/wire_token.h"

namespace cluster::receiver {

std::filesystem::path PartialPathFor(const std::filesystem::path& final_path) {
  return final_path.parent_path() / ("." + final_path.filename().string() + ".clusterd-partial");
}

std::string ErrorReply(const Status& status) {
  return fmt::format("error {} {}\n", StatusCodeName(status.code()), EncodeToken(status.message()));
}

std::string OkReply(const std::vector<std::string>& tokens) {
  std::string line = "ok";
  for (const auto& t : tokens) line += " " + EncodeToken(t);
  return line + "\n";
}

namespace {
StatusCode CodeFromName(std::string_view name) {
  for (int c = static_cast<int>(StatusCode::kInvalidArgument); c <= static_cast<int>(StatusCode::kInternal); ++c) {
    if (StatusCodeName(static_cast<StatusCode>(c)) == name) return static_cast<StatusCode>(c);
  }
  return StatusCode::kInternal;
}
}  // namespace

StatusOr<std::vector<std::string>> ParseReply(const std::string& line) {
  auto tokens = SplitTokens(line);
  if (tokens.empty()) return DataLossError("the receiver sent an empty reply");
  std::vector<std::string> decoded;
  for (size_t i = 1; i < tokens.size(); ++i) {
    auto t = DecodeToken(tokens[i]);
    if (!t.ok()) return DataLossError(fmt::format("the receiver sent a malformed reply: '{}'", line));
    decoded.push_back(*t);
  }
  if (tokens[0] == "ok") return decoded;
  if (tokens[0] == "error" && decoded.size() == 2) return Status(CodeFromName(tokens[1]), decoded[1]);
  return DataLossError(fmt::format("the receiver sent an unexpected reply: '{}'", line.substr(0, 200)));
}

}  // namespace cluster::receiver
