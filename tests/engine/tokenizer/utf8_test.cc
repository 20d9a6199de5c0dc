// UTF-8 reading rules shared by Encode (repairing input) and Decode.
#include <catch2/catch.hpp>

#include "engine/tokenizer/utf8.h"

namespace utf8 = engine::tokenizer::utf8;

namespace {

std::string Lossy(std::string_view bytes) {
  std::string out;
  utf8::AppendLossy(bytes, &out);
  return out;
}

}  // namespace

TEST_CASE("Given well-formed and ill-formed sequences, IsValid should follow Unicode's table of well-formed bytes",
          "[tokenizer][utf8]") {
  CHECK(utf8::IsValid("plain ASCII, long enough for the eight-byte fast path"));
  CHECK(utf8::IsValid("\u00e9\u65e5\U0001F44D\U0010FFFF"));
  CHECK_FALSE(utf8::IsValid("\xC0\xAF"));          // overlong '/'
  CHECK_FALSE(utf8::IsValid("\xE0\x80\xAF"));      // overlong
  CHECK_FALSE(utf8::IsValid("\xED\xA0\x80"));      // a surrogate, U+D800
  CHECK_FALSE(utf8::IsValid("\xF4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(utf8::IsValid("abc\xE6\x97"));       // truncated
}

TEST_CASE("Given the Unicode Standard's example, lossy decoding should replace each maximal subpart once",
          "[tokenizer][utf8]") {
  // Unicode 15, section 3.9, Table 3-8: 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64.
  CHECK(Lossy("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64") ==
        "a\uFFFD\uFFFD\uFFFDb\uFFFDc\uFFFD\uFFFDd");
}

TEST_CASE("Given the end of a byte string, TruncatedTailLength should find an unfinished character",
          "[tokenizer][utf8]") {
  CHECK(utf8::TruncatedTailLength("abc") == 0);
  CHECK(utf8::TruncatedTailLength("a\xE6") == 1);
  CHECK(utf8::TruncatedTailLength("a\xE6\x97") == 2);
  CHECK(utf8::TruncatedTailLength("a\xF0\x9F\x91") == 3);
  CHECK(utf8::TruncatedTailLength("a\xE6\x97\xA5") == 0);  // complete
  CHECK(utf8::TruncatedTailLength("a\xE0\x80") == 0);      // can never complete: E0 80 is ill-formed
  CHECK(utf8::TruncatedTailLength("\x80\x80") == 0);       // stray continuation bytes
}

TEST_CASE("Given ill-formed UTF-8 to encode, the tokenizer should read it as U+FFFD", "[tokenizer][utf8]") {
  CHECK(Lossy("ok\xFF") == "ok\uFFFD");
}
