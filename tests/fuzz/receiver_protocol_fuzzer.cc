// Fuzzes the receiver protocol's text layer (docs/push.md): request lines
// split into tokens and decoded, reply lines parsed by the client, and the
// two path checks every file request passes (ReceiverPath for ROOT,
// RelativeParts for FILE). Writing files is not fuzzed here: the receiver
// writes where a request says, which a fuzzer must not do on this machine;
// tests/push/receiver_test.cc drives that part.
#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/destination.h"
#include "common/receiver_protocol.h"
#include "common/wire_token.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string line(reinterpret_cast<const char*>(data), size);
  const auto tokens = cluster::SplitTokens(line);
  std::vector<std::string> decoded;
  for (const auto& token : tokens) {
    auto raw = cluster::DecodeToken(token);
    if (!raw.ok()) continue;
    // What is decoded encodes back to a token that decodes to the same.
    auto again = cluster::DecodeToken(cluster::EncodeToken(*raw));
    if (!again.ok() || *again != *raw) __builtin_trap();
    decoded.push_back(*raw);
  }
  (void)cluster::receiver::ParseReply(line);
  if (decoded.size() >= 2) {
    auto root = cluster::agent::ReceiverPath(decoded[0]);
    if (root.ok() && (!root->is_absolute() || root->string().find("/../") != std::string::npos)) __builtin_trap();
    auto parts = cluster::agent::RelativeParts(decoded[1]);
    if (parts.ok()) {
      for (const auto& part : *parts) {
        if (part.empty() || part == "." || part == ".." || part.find('/') != std::string::npos) __builtin_trap();
      }
    }
  }
  return 0;
}
