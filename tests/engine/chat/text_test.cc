// Python's str semantics over UTF-8.
#include "engine/chat/text.h"

#include <catch2/catch.hpp>

namespace text = engine::jinja::text;

TEST_CASE("Lengths count code points, invalid UTF-8 bytes count one each and round-trip") {
  CHECK(text::Length("héllo🚀") == 6);
  const std::string invalid = "a\xff\xc3";
  CHECK(text::Length(invalid) == 3);
  CHECK(text::Encode(text::Decode(invalid)) == invalid);
}

TEST_CASE("Whitespace is Python's str.isspace set") {
  CHECK(text::IsSpace(U'\u3000'));
  CHECK(text::IsSpace(U'\x1c'));
  CHECK_FALSE(text::IsSpace(U'\u200b'));  // zero width space is not whitespace in Python
  CHECK(text::Strip("\u2003 x \u00a0", std::nullopt, true, true) == "x");
}

TEST_CASE("Case mapping follows Python, including one-to-many letters") {
  CHECK(*text::Upper("straße ﬁx") == "STRASSE FIX");
  CHECK(*text::Lower("ÀÉÎ ΣΑΣ İ") == "àéî σας i\u0307");
  CHECK(*text::Title("ﬁsh and ßig") == "Fish And Ssig");
}

TEST_CASE("Letters whose Python case mapping is not reproduced are refused by name") {
  auto r = text::Upper("ŉ");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == cluster::StatusCode::kUnimplemented);
  CHECK(r.status().message() ==
        "upper() of 'ŉ' (U+0149) is not supported: its Python case mapping is context- or multi-letter-dependent");
}

TEST_CASE("splitlines splits on every Python line boundary") {
  CHECK(text::SplitLines("a\nb\r\nc\rd\x0b" "e\u2028f") == std::vector<std::string>{"a", "b", "c", "d", "e", "f"});
  CHECK(text::SplitLines("x\n") == std::vector<std::string>{"x"});
}
