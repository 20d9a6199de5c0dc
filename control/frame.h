// Internal to the control library: the frame format and reply envelope of
// the agent protocol, as pure functions (no sockets), shared by the client
// and the server.
//
//   frame = 4-byte big-endian length N, then N bytes of JSON (N <= kMaxFrameBytes)
//   reply = {"ok": true, "body": {...}, "more": false}
//         | {"ok": false, "error": {"code": "unavailable", "message": "..."}}
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "control/channel.h"

namespace cluster::control::frame {

inline constexpr std::size_t kHeaderBytes = 4;
using Header = std::array<unsigned char, kHeaderBytes>;

// The payload length a header announces.
std::uint32_t PayloadLength(const Header& header);

// Header + JSON text. Invalid UTF-8 in strings is replaced (U+FFFD) rather
// than refused: log lines may hold anything. `what` names the message in the
// error when it exceeds kMaxFrameBytes ("request", "reply").
StatusOr<std::string> Encode(const nlohmann::json& message, std::string_view what);

// "request of N bytes exceeds the 1048576-byte limit".
std::string TooLargeMessage(std::string_view what, std::size_t bytes);

// Parses a payload. InvalidArgument "malformed JSON: ..." when it is not JSON.
StatusOr<nlohmann::json> ParseJson(std::string_view payload);

// The reply envelopes.
nlohmann::json OkReply(const nlohmann::json& body, bool more);
nlohmann::json ErrorReply(const Status& status);

// A reply envelope as the client reads it: the body, or the error it carries
// as a Status with the same code. DataLoss when it is not a reply envelope.
StatusOr<ReplyFrame> ParseReply(const nlohmann::json& reply);

}  // namespace cluster::control::frame
