// RequestLimits: the bounds a request must stay within (design.md: "requests
// are bounded"). One instance per server, from the serve flags.
#pragma once

#include <cstddef>
#include <cstdint>

namespace engine::server {

struct RequestLimits {
  std::size_t max_body_bytes = 4 << 20;  // larger bodies get 413
  std::int64_t max_n = 16;               // choices per prompt
  std::int64_t max_prompts = 64;         // entries of a completions "prompt" list
  std::int64_t max_sequences = 128;      // prompts x n
  std::size_t max_stop_strings = 16;
  std::int64_t max_logprobs = 20;        // completions logprobs / chat top_logprobs
  std::int64_t max_messages = 4096;      // chat messages
};

}  // namespace engine::server
