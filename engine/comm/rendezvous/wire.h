// The rendezvous wire format: length-prefixed frames over one TCP connection
// per rank (docs/parallelism.md, "The rendezvous").
//
//   frame = u32 length (big-endian, of what follows) | u8 type | body
//
// Bodies are sequences of u32 / u64 (big-endian) and byte strings (u32
// length, then the bytes). The reader refuses a frame longer than its limit
// before reading it (a peer cannot make us allocate more than the limit) and
// a frame of a type it does not know. Pure code, tested without sockets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/status.h"

namespace engine::wire {

inline constexpr std::uint32_t kProtocolVersion = 1;
// The largest world the rendezvous serves (it keeps a few bytes per rank).
inline constexpr int kMaxWorldSize = 65536;

enum class FrameType : std::uint8_t {
  // Handshake. client: u32 version, u32 world_size, u32 rank, bytes token.
  kHello = 1,
  kWelcome,      // server: (empty)
  kRefused,      // server: bytes reason; then the server closes
  // Join: every rank asks once; answered when all ranks are in, or not in time.
  kJoin,         // client: (empty)
  kJoined,       // server: (empty)
  kJoinFailed,   // server: bytes reason
  // The key-value store (for Gloo's and NCCL's own rendezvous).
  kSet,          // client: bytes key, bytes value             -> kDone
  kGet,          // client: bytes key, u32 timeout_ms          -> kValue | kStoreFailed
  kWait,         // client: u32 timeout_ms, u32 n, n x bytes key -> kDone | kStoreFailed
  kDone,         // server: (empty)
  kValue,        // server: bytes value
  kStoreFailed,  // server: bytes reason
  // Control messages, relayed by the server.
  kSend,         // client: u32 to, bytes payload
  kBroadcast,    // client: bytes payload (to every other rank)
  kDeliver,      // server: u32 from, bytes payload
  kBarrier,      // client: (empty)                            -> kBarrierDone
  kBarrierDone,  // server: (empty)
  // Liveness.
  kPing,         // both ways, every heartbeat interval
  kGoodbye,      // client: leaving on purpose
  kLeft,         // server: u32 rank (rank 0: the world shuts down)
  kFailure,      // server: u32 rank, bytes reason
  kLast = kFailure,
};

std::string_view FrameTypeName(FrameType type);

struct Frame {
  FrameType type = FrameType::kPing;
  std::string body;
};

// A whole frame, ready to send.
std::string EncodeFrame(FrameType type, std::string_view body = {});

class BodyWriter {
 public:
  BodyWriter& U32(std::uint32_t value);
  BodyWriter& U64(std::uint64_t value);
  BodyWriter& Bytes(std::string_view bytes);
  const std::string& body() const { return body_; }

 private:
  std::string body_;
};

// Reads fields in order; each returns false (and reads nothing) when the
// body is too short. AtEnd: every byte was read.
class BodyReader {
 public:
  explicit BodyReader(std::string_view body) : body_(body) {}
  bool U32(std::uint32_t* value);
  bool U64(std::uint64_t* value);
  bool Bytes(std::string* bytes);
  bool AtEnd() const { return offset_ == body_.size(); }

 private:
  std::string_view body_;
  std::size_t offset_ = 0;
};

// Splits a byte stream into frames.
class FrameReader {
 public:
  explicit FrameReader(std::size_t max_body) : max_body_(max_body) {}
  void set_max_body(std::size_t max_body) { max_body_ = max_body; }

  void Append(const char* data, std::size_t size);
  // The next whole frame, nullopt when more bytes are needed; DataLoss when
  // the stream announces a frame over the limit or of an unknown type (the
  // connection is then unusable).
  StatusOr<std::optional<Frame>> Next();
  // Bytes received but not yet returned as frames.
  std::size_t buffered() const { return buffer_.size() - offset_; }

 private:
  std::size_t max_body_;
  std::string buffer_;
  std::size_t offset_ = 0;
};

}  // namespace engine::wire
