#include "control/frame.h"

namespace cluster::control::frame {
namespace {

using nlohmann::json;

// The StatusCode of a wire name ("unavailable"); Internal for a name this
// version does not know.
StatusCode CodeFromName(std::string_view name) {
  for (int c = static_cast<int>(StatusCode::kInvalidArgument); c <= static_cast<int>(StatusCode::kInternal); ++c) {
    if (StatusCodeName(static_cast<StatusCode>(c)) == name) return static_cast<StatusCode>(c);
  }
  return StatusCode::kInternal;
}

}  // namespace

std::uint32_t PayloadLength(const Header& header) {
  return (std::uint32_t{header[0]} << 24) | (std::uint32_t{header[1]} << 16) | (std::uint32_t{header[2]} << 8) |
         std::uint32_t{header[3]};
}

std::string TooLargeMessage(std::string_view what, std::size_t bytes) {
  return std::string(what) + " of " + std::to_string(bytes) + " bytes exceeds the " + std::to_string(kMaxFrameBytes) +
         "-byte limit";
}

StatusOr<std::string> Encode(const json& message, std::string_view what) {
  std::string payload = message.dump(-1, ' ', false, json::error_handler_t::replace);
  if (payload.size() > kMaxFrameBytes) return InvalidArgumentError(TooLargeMessage(what, payload.size()));
  const auto n = static_cast<std::uint32_t>(payload.size());
  std::string frame;
  frame.reserve(kHeaderBytes + payload.size());
  frame.push_back(static_cast<char>((n >> 24) & 0xff));
  frame.push_back(static_cast<char>((n >> 16) & 0xff));
  frame.push_back(static_cast<char>((n >> 8) & 0xff));
  frame.push_back(static_cast<char>(n & 0xff));
  frame += payload;
  return frame;
}

StatusOr<json> ParseJson(std::string_view payload) {
  try {
    return json::parse(payload);
  } catch (const json::exception& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at ...": keep what follows the tag.
    std::string_view text = e.what();
    if (auto end = text.find("] "); text.starts_with("[json.exception") && end != std::string_view::npos) {
      text.remove_prefix(end + 2);
    }
    return InvalidArgumentError("malformed JSON: " + std::string(text));
  }
}

json OkReply(const json& body, bool more) { return json{{"ok", true}, {"body", body}, {"more", more}}; }

json ErrorReply(const Status& status) {
  return json{{"ok", false},
              {"error", {{"code", std::string(StatusCodeName(status.code()))}, {"message", status.message()}}}};
}

StatusOr<ReplyFrame> ParseReply(const json& reply) {
  auto malformed = [](std::string_view why) { return DataLossError("malformed reply from the agent: " + std::string(why)); };
  if (!reply.is_object()) return malformed("not a JSON object");
  auto ok = reply.find("ok");
  if (ok == reply.end() || !ok->is_boolean()) return malformed("no boolean 'ok'");
  if (ok->get<bool>()) {
    ReplyFrame frame;
    if (auto body = reply.find("body"); body != reply.end()) frame.body = *body;
    if (auto more = reply.find("more"); more != reply.end()) {
      if (!more->is_boolean()) return malformed("'more' is not a boolean");
      frame.more = more->get<bool>();
    }
    return frame;
  }
  auto error = reply.find("error");
  if (error == reply.end() || !error->is_object()) return malformed("an error reply without an 'error' object");
  auto code = error->find("code");
  auto message = error->find("message");
  if (code == error->end() || !code->is_string() || message == error->end() || !message->is_string()) {
    return malformed("an error without a string 'code' and 'message'");
  }
  return Status(CodeFromName(code->get_ref<const std::string&>()), message->get<std::string>());
}

}  // namespace cluster::control::frame
