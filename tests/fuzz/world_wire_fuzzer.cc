// Fuzzes what the ranks of an engine world read from each other
// (docs/parallelism.md): the rendezvous frames (engine/comm/rendezvous/wire.h),
// delivered in pieces whose sizes the input chooses, and their bodies read
// field by field; and the step protocol (engine/scheduler/step_codec.h),
// whose decoders take any bytes: every decoded message encodes to bytes
// that decode to the same, and the rows of decoded logits lie in their values.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/comm/rendezvous/wire.h"
#include "engine/scheduler/step_codec.h"

namespace {

constexpr std::size_t kMaxBody = 1024;

void ReadFrames(std::string_view input, std::size_t step) {
  engine::wire::FrameReader reader(kMaxBody);
  std::size_t appended = 0;
  while (appended < input.size()) {
    const std::string_view piece = input.substr(appended, step);
    reader.Append(piece.data(), piece.size());
    appended += piece.size();
    for (;;) {
      auto next = reader.Next();
      if (!next.ok()) return;  // the connection is unusable; the server closes it
      if (!next->has_value()) break;
      const engine::wire::Frame& frame = **next;
      if (frame.body.size() > kMaxBody) __builtin_trap();
      // Every body layout is a sequence of u32, u64 and byte strings.
      engine::wire::BodyReader body(frame.body);
      std::uint32_t u32 = 0;
      std::uint64_t u64 = 0;
      std::string bytes;
      for (std::size_t i = 0; !body.AtEnd() && i < frame.body.size(); ++i) {
        if (!body.Bytes(&bytes) && !body.U32(&u32) && !body.U64(&u64)) break;
      }
    }
    if (reader.buffered() > appended) __builtin_trap();
  }
}

void DecodeSteps(std::string_view input) {
  if (auto step = engine::DecodeStep(input); step.ok()) {
    const std::string encoded = engine::EncodeStep(*step);
    auto again = engine::DecodeStep(encoded);
    if (!again.ok() || engine::EncodeStep(*again) != encoded) __builtin_trap();
  }
  if (auto logits = engine::DecodeLogits(input); logits.ok()) {
    if (logits->ok()) {
      // Every row a decoded message says it holds lies inside its values.
      const engine::Logits& l = **logits;
      float sum = 0;
      for (std::int64_t r = 0; r < l.rows; ++r) {
        if (!l.has_row(r)) continue;
        for (float v : l.row(r)) sum += v;
      }
      (void)sum;
    }
    const std::string encoded = engine::EncodeLogits(*logits);
    auto again = engine::DecodeLogits(encoded);
    if (!again.ok() || engine::EncodeLogits(*again) != encoded) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks the read size, as a socket might deliver them.
  const std::size_t step = 1 + data[0] % 64;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  ReadFrames(input, step);
  DecodeSteps(input);
  return 0;
}
