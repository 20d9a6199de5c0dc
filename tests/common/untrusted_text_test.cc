#include "common/untrusted_text.h"

#include <catch2/catch.hpp>

#include <string>

using namespace cluster;

TEST_CASE("Printable text keeps UTF-8 and tabs and spells out what could drive a terminal") {
  CHECK(PrintableText("gpu1\tTesla T4, 16 GB, é, 模型") == "gpu1\tTesla T4, 16 GB, é, 模型");
  // ESC [ 2 J clears the screen; a CR lets later text overwrite the line.
  CHECK(PrintableText("h1\x1b[2J\rvalid\n") == "h1\\x1b[2J\\x0dvalid\\x0a");
  CHECK(PrintableText(std::string("a\0b\x7f", 4)) == "a\\x00b\\x7f");
  // U+009B (C1 CSI) and bytes that are not UTF-8: an overlong '/', a lone
  // continuation byte, a truncated sequence, a surrogate.
  CHECK(PrintableText("\xc2\x9b" "2J") == "\\xc2\\x9b2J");
  CHECK(PrintableText("\xc0\xaf \x80 \xe6\x97 \xed\xa0\x80") == "\\xc0\\xaf \\x80 \\xe6\\x97 \\xed\\xa0\\x80");
  CHECK(PrintableText("back\\slash") == "back\\slash");
}

TEST_CASE("An excerpt of a long text is cut at a character boundary and says how long it was") {
  CHECK(Excerpt("short") == "short");
  CHECK(Excerpt(std::string(400, '9'), 10) == "9999999999... (400 bytes)");
  // "é" is two bytes: the cut never splits it.
  CHECK(Excerpt("aaaaaaaaaé-and-more", 10) == "aaaaaaaaa... (20 bytes)");
  CHECK(Excerpt("\x1b[2J" + std::string(100, 'x'), 8) == "\\x1b[2Jxxxx... (104 bytes)");
}
