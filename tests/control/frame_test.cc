// The frame format and reply envelope (control/frame.h), without sockets.
#include "control/frame.h"

#include <catch2/catch.hpp>

using namespace cluster;
using namespace cluster::control;
using nlohmann::json;

TEST_CASE("A frame is a 4-byte big-endian length and the JSON text", "[frame]") {
  auto bytes = frame::Encode(json{{"a", 1}}, "request");
  REQUIRE(bytes.ok());
  CHECK(bytes->substr(4) == R"({"a":1})");
  frame::Header header{};
  std::copy_n(bytes->begin(), 4, header.begin());
  CHECK(frame::PayloadLength(header) == 7);
  CHECK(frame::PayloadLength(frame::Header{0x00, 0x10, 0x00, 0x01}) == 0x100001);
}

TEST_CASE("A message over kMaxFrameBytes is not framed", "[frame]") {
  auto bytes = frame::Encode(json(std::string(kMaxFrameBytes, 'x')), "reply");
  REQUIRE_FALSE(bytes.ok());
  CHECK(bytes.status().message() == "reply of 1048578 bytes exceeds the 1048576-byte limit");
}

TEST_CASE("Invalid UTF-8 in a string is replaced, not refused", "[frame]") {
  auto bytes = frame::Encode(json{{"text", std::string("ok \xff end")}}, "reply");
  REQUIRE(bytes.ok());
  CHECK(bytes->substr(4) == "{\"text\":\"ok \xEF\xBF\xBD end\"}");
}

TEST_CASE("Malformed JSON is an invalid argument naming the parse error", "[frame]") {
  auto parsed = frame::ParseJson("{\"type\": ");
  REQUIRE_FALSE(parsed.ok());
  CHECK(parsed.status().code() == StatusCode::kInvalidArgument);
  CHECK_THAT(parsed.status().message(), Catch::StartsWith("malformed JSON: parse error at line 1"));
}

TEST_CASE("An error reply becomes the Status it carries", "[frame]") {
  auto reply = frame::ParseReply(frame::ErrorReply(UnavailableError("docker is not running")));
  REQUIRE_FALSE(reply.ok());
  CHECK(reply.status().code() == StatusCode::kUnavailable);
  CHECK(reply.status().message() == "docker is not running");
  CHECK(frame::ErrorReply(NotFoundError("x")) ==
        json::parse(R"({"ok": false, "error": {"code": "not_found", "message": "x"}})"));
}

TEST_CASE("An ok reply carries its body and whether more follow", "[frame]") {
  CHECK(frame::OkReply(json{{"a", 1}}, true) == json::parse(R"({"ok": true, "body": {"a": 1}, "more": true})"));
  auto reply = frame::ParseReply(frame::OkReply(json{{"a", 1}}, true));
  REQUIRE(reply.ok());
  CHECK(reply->more);
  CHECK(reply->body["a"] == 1);
}

TEST_CASE("A reply that is not an envelope is data loss", "[frame]") {
  CHECK(frame::ParseReply(json::array()).status().code() == StatusCode::kDataLoss);
  CHECK(frame::ParseReply(json{{"ok", "yes"}}).status().message() == "malformed reply from the agent: no boolean 'ok'");
  CHECK(frame::ParseReply(json{{"ok", false}}).status().code() == StatusCode::kDataLoss);
}

TEST_CASE("An error code this version does not know reads as internal", "[frame]") {
  auto reply = frame::ParseReply(json::parse(R"({"ok": false, "error": {"code": "quota", "message": "m"}})"));
  CHECK(reply.status().code() == StatusCode::kInternal);
  CHECK(reply.status().message() == "m");
}
