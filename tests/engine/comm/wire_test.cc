// The rendezvous frames, without sockets.
#include "engine/comm/rendezvous/wire.h"

#include <catch2/catch.hpp>

using namespace engine::wire;

TEST_CASE("Frames split across arbitrary chunks come out whole and in order") {
  const std::string stream = EncodeFrame(FrameType::kPing) +
                             EncodeFrame(FrameType::kDeliver, BodyWriter().U32(3).Bytes("plan of step 7").body()) +
                             EncodeFrame(FrameType::kJoined);
  FrameReader reader(1024);
  std::vector<Frame> frames;
  for (char byte : stream) {
    reader.Append(&byte, 1);
    for (;;) {
      auto next = reader.Next();
      REQUIRE(next.ok());
      if (!next->has_value()) break;
      frames.push_back(**next);
    }
  }
  REQUIRE(frames.size() == 3);
  CHECK(frames[0].type == FrameType::kPing);
  CHECK(frames[2].type == FrameType::kJoined);
  BodyReader body(frames[1].body);
  std::uint32_t from = 0;
  std::string payload;
  REQUIRE(body.U32(&from));
  REQUIRE(body.Bytes(&payload));
  CHECK(body.AtEnd());
  CHECK(from == 3);
  CHECK(payload == "plan of step 7");
  CHECK(reader.buffered() == 0);
}

TEST_CASE("A frame announced over the limit is refused before its body is read") {
  FrameReader reader(100);
  const std::string header = EncodeFrame(FrameType::kSend, std::string(101, 'x')).substr(0, 5);
  reader.Append(header.data(), header.size());
  auto next = reader.Next();
  REQUIRE_FALSE(next.ok());
  CHECK(next.status().message() == "a frame of 102 bytes, over the limit of 101");
}

TEST_CASE("A frame of an unknown type is refused") {
  FrameReader reader(100);
  const char bytes[] = {0, 0, 0, 1, 99};
  reader.Append(bytes, sizeof(bytes));
  auto next = reader.Next();
  REQUIRE_FALSE(next.ok());
  CHECK(next.status().message() == "a frame of unknown type 99");
}

TEST_CASE("A body too short for its fields reads nothing more") {
  const std::string body = BodyWriter().U32(7).body() + std::string("\0\0\0\x09short", 9);
  BodyReader reader(body);
  std::uint32_t value = 0;
  std::string bytes;
  REQUIRE(reader.U32(&value));
  CHECK_FALSE(reader.Bytes(&bytes));  // announces 9 bytes, holds 5
  CHECK_FALSE(reader.AtEnd());
  std::uint64_t wide = 0;
  CHECK(BodyReader(BodyWriter().U64(0x0102030405060708ull).body()).U64(&wide));
  CHECK(wide == 0x0102030405060708ull);
}
