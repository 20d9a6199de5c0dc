#include "engine/comm/rendezvous/wire.h"

#include <string>

namespace engine::wire {
namespace {

void PutU32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

std::uint32_t GetU32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace

std::string_view FrameTypeName(FrameType type) {
  switch (type) {
    case FrameType::kHello: return "hello";
    case FrameType::kWelcome: return "welcome";
    case FrameType::kRefused: return "refused";
    case FrameType::kJoin: return "join";
    case FrameType::kJoined: return "joined";
    case FrameType::kJoinFailed: return "join-failed";
    case FrameType::kSet: return "set";
    case FrameType::kGet: return "get";
    case FrameType::kWait: return "wait";
    case FrameType::kDone: return "done";
    case FrameType::kValue: return "value";
    case FrameType::kStoreFailed: return "store-failed";
    case FrameType::kSend: return "send";
    case FrameType::kBroadcast: return "broadcast";
    case FrameType::kDeliver: return "deliver";
    case FrameType::kBarrier: return "barrier";
    case FrameType::kBarrierDone: return "barrier-done";
    case FrameType::kPing: return "ping";
    case FrameType::kGoodbye: return "goodbye";
    case FrameType::kLeft: return "left";
    case FrameType::kFailure: return "failure";
  }
  return "?";
}

std::string EncodeFrame(FrameType type, std::string_view body) {
  std::string out;
  out.reserve(5 + body.size());
  PutU32(out, static_cast<std::uint32_t>(body.size() + 1));
  out.push_back(static_cast<char>(type));
  out.append(body);
  return out;
}

BodyWriter& BodyWriter::U32(std::uint32_t value) {
  PutU32(body_, value);
  return *this;
}

BodyWriter& BodyWriter::U64(std::uint64_t value) {
  PutU32(body_, static_cast<std::uint32_t>(value >> 32));
  PutU32(body_, static_cast<std::uint32_t>(value));
  return *this;
}

BodyWriter& BodyWriter::Bytes(std::string_view bytes) {
  PutU32(body_, static_cast<std::uint32_t>(bytes.size()));
  body_.append(bytes);
  return *this;
}

bool BodyReader::U32(std::uint32_t* value) {
  if (body_.size() - offset_ < 4) return false;
  *value = GetU32(body_.data() + offset_);
  offset_ += 4;
  return true;
}

bool BodyReader::U64(std::uint64_t* value) {
  if (body_.size() - offset_ < 8) return false;
  *value = (std::uint64_t{GetU32(body_.data() + offset_)} << 32) | GetU32(body_.data() + offset_ + 4);
  offset_ += 8;
  return true;
}

bool BodyReader::Bytes(std::string* bytes) {
  if (body_.size() - offset_ < 4) return false;
  const std::uint32_t size = GetU32(body_.data() + offset_);
  if (body_.size() - offset_ - 4 < size) return false;
  bytes->assign(body_.data() + offset_ + 4, size);
  offset_ += 4 + size;
  return true;
}

void FrameReader::Append(const char* data, std::size_t size) {
  if (offset_ > 0 && offset_ >= buffer_.size() / 2) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  buffer_.append(data, size);
}

StatusOr<std::optional<Frame>> FrameReader::Next() {
  if (buffered() < 4) return std::optional<Frame>();
  const std::uint32_t length = GetU32(buffer_.data() + offset_);
  if (length == 0 || length - 1 > max_body_) {
    return cluster::DataLossError("a frame of " + std::to_string(length) + " bytes, over the limit of " +
                                  std::to_string(max_body_ + 1));
  }
  if (buffered() < 5) return std::optional<Frame>();
  const auto type = static_cast<std::uint8_t>(buffer_[offset_ + 4]);
  if (type < static_cast<std::uint8_t>(FrameType::kHello) || type > static_cast<std::uint8_t>(FrameType::kLast)) {
    return cluster::DataLossError("a frame of unknown type " + std::to_string(type));
  }
  if (buffered() < 4 + std::size_t{length}) return std::optional<Frame>();
  Frame frame;
  frame.type = static_cast<FrameType>(type);
  frame.body.assign(buffer_.data() + offset_ + 5, length - 1);
  offset_ += 4 + length;
  return std::optional<Frame>(std::move(frame));
}

}  // namespace engine::wire
