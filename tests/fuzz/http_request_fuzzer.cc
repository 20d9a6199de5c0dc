// Fuzzes HTTP request framing (engine/server/request_reader.h): arbitrary
// bytes, delivered in pieces whose sizes the input chooses, must end in a
// request, a refusal or a wish for more - never a crash, never more than
// the limits held, never a byte consumed twice.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/server/request_reader.h"

using engine::server::RequestLimits;
using engine::server::RequestReader;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  RequestLimits limits;
  limits.max_body_bytes = 4096;
  limits.max_header_bytes = 2048;
  limits.max_framing_bytes = 4096;
  // The first byte picks the read size, as a connection might deliver them.
  const std::size_t step = 1 + data[0] % 64;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  RequestReader reader(limits);
  std::string pending;
  std::size_t delivered = 0;
  while (reader.state() == RequestReader::State::kNeedMore && delivered < input.size()) {
    const std::string_view piece = input.substr(delivered, step);
    delivered += piece.size();
    pending += piece;
    const std::size_t used = reader.Feed(pending);
    if (used > pending.size()) __builtin_trap();
    pending.erase(0, used);
    if (reader.state() == RequestReader::State::kNeedMore && pending.size() >= limits.max_header_bytes) {
      __builtin_trap();  // held more than the limit without refusing
    }
  }
  if (reader.consumed() > limits.max_request_bytes()) __builtin_trap();
  if (reader.state() == RequestReader::State::kDone) {
    auto framed = reader.TakeRequest();
    if (framed.request.body.size() > limits.max_body_bytes) __builtin_trap();
  } else if (reader.state() == RequestReader::State::kFailed) {
    const int status = reader.error().http_status;
    if (status != 400 && status != 413 && status != 431 && status != 501) __builtin_trap();
  }
  return 0;
}
