// RequestLimits: the bounds a request must stay within (design.md: "requests
// are bounded"). One instance per server, from the serve flags.
#pragma once

#include <cstddef>
#include <cstdint>

namespace engine::server {

struct RequestLimits {
  std::size_t max_body_bytes = 4 << 20;  // larger bodies get 413
  // The request line and headers (431 beyond); also the most the server
  // holds of one chunk-size line (with its extensions) or of the trailers,
  // which must be seen whole to be parsed (400 beyond).
  std::size_t max_header_bytes = 16 << 10;
  // What a request may carry besides its body: the request line, headers,
  // chunk sizes and extensions, trailers.
  std::size_t max_framing_bytes = 64 << 10;
  // Every byte of one request on the wire (413 beyond).
  std::size_t max_request_bytes() const { return max_body_bytes + max_framing_bytes; }

  std::int64_t max_n = 16;               // choices per prompt
  std::int64_t max_prompts = 64;         // entries of a completions "prompt" list
  std::int64_t max_sequences = 128;      // prompts x n
  std::size_t max_stop_strings = 16;
  std::int64_t max_logprobs = 20;        // completions logprobs / chat top_logprobs
  std::int64_t max_messages = 4096;      // chat messages
};

}  // namespace engine::server
