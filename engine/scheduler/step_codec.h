// The step protocol's messages, as bytes for the world's ControlChannel
// (engine/comm/control_channel.h; docs/parallelism.md):
//   rank 0 -> every rank:  a StepMessage (a ForwardBatch to run, or the
//                          order to stop);
//   last stage -> rank 0:  the step's Logits (argmax ids, and the rows asked
//                          for), or the error that ended the step there.
//
// Format: little-endian, length-prefixed arrays of 32-bit integers and
// floats, one leading kind byte. Decoding treats the bytes as hostile (a
// peer is authenticated by the job's token, but a bug must not become a
// buffer overrun): every count is checked against the bytes left and against
// the limits, and anything left over is an error.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/model/language_model.h"
#include "engine/status.h"

namespace engine {

struct StepMessage {
  enum class Kind : std::uint8_t { kForward = 1, kStop = 2 };
  Kind kind = Kind::kForward;
  ForwardBatch batch;  // kForward
};

std::string EncodeStep(const StepMessage& message);
// InvalidArgument naming what is malformed.
StatusOr<StepMessage> DecodeStep(std::string_view bytes);

// The last stage's answer: the logits, or the status the step failed with.
std::string EncodeLogits(const StatusOr<Logits>& logits);
StatusOr<StatusOr<Logits>> DecodeLogits(std::string_view bytes);

}  // namespace engine
