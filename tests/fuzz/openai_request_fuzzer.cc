// Fuzzes the OpenAI request readers (engine/server/completion_request.h,
// chat_request.h): any body is a request or a 4xx error, never a crash, and
// what a message quotes from the body stays short.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/server/chat_request.h"
#include "engine/server/completion_request.h"

using namespace engine::server;

namespace {

void CheckError(const ApiError& error) {
  if (error.http_status < 400 || error.http_status >= 500) __builtin_trap();
  if (error.message.size() > 4096) __builtin_trap();  // client text is quoted as excerpts
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const RequestLimits limits;
  auto completion = ParseCompletionRequest(body, limits);
  if (!completion.ok()) CheckError(completion.error());
  auto chat = ParseChatRequest(body, limits);
  if (!chat.ok()) CheckError(chat.error());
  return 0;
}
