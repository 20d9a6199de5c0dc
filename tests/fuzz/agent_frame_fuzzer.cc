// Fuzzes the agent protocol's codec (control/frame.h, control/messages.h):
// a frame payload is parsed as JSON, decoded as a request, as a reply
// envelope and as every reply; nothing may crash or throw, and a decoded
// request must survive its own round trip.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "control/authorization.h"
#include "control/frame.h"
#include "control/messages.h"

using namespace cluster::control;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  auto json = frame::ParseJson(payload);
  if (!json.ok()) return 0;
  if (auto request = DecodeRequest(*json); request.ok()) {
    const nlohmann::json encoded = EncodeRequest(*request);
    auto again = DecodeRequest(encoded);
    if (!again.ok() || EncodeRequest(*again) != encoded) __builtin_trap();
    (void)Authorize(*request, cluster::control::PeerRole::kAgent, "h1");
    (void)frame::Encode(encoded, "request");
  }
  (void)frame::ParseReply(*json);
  (void)HelloReplyFromJson(*json);
  (void)NodeFactsFromJson(*json);
  (void)ProbeReplyFromJson(*json);
  (void)StartReplyFromJson(*json);
  (void)StatusReplyFromJson(*json);
  (void)LogsReplyFromJson(*json);
  (void)StopReplyFromJson(*json);
  return 0;
}
