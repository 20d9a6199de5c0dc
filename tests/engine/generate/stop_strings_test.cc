#include "engine/generate/stop_strings.h"

#include <catch2/catch.hpp>

using namespace engine;

TEST_CASE("Text is released at once when it cannot begin a stop string") {
  StopStringMatcher m({"###"});
  CHECK(m.Push("Hello") == "Hello");
  CHECK(m.Push(" world") == " world");
  CHECK(m.Flush() == "");
  CHECK_FALSE(m.stopped());
}

TEST_CASE("A stop string split across chunks is found, and the text is cut before it") {
  StopStringMatcher m({"</answer>"});
  CHECK(m.Push("42 </an") == "42 ");  // "</an" could begin the stop string: held back
  CHECK(m.Push("swer> and more") == "");
  CHECK(m.stopped());
  CHECK(m.matched() == "</answer>");
  CHECK(m.Push("ignored") == "");
  CHECK(m.Flush() == "");
}

TEST_CASE("Held-back text is released when it turns out not to be a stop string") {
  StopStringMatcher m({"STOP"});
  CHECK(m.Push("a ST") == "a ");
  CHECK(m.Push("ART") == "START");
  CHECK(m.Push("ST") == "");
  CHECK(m.Flush() == "ST");
}

TEST_CASE("The earliest of several stop strings wins") {
  StopStringMatcher m({"world", "lo"});
  CHECK(m.Push("hello world") == "hel");
  CHECK(m.matched() == "lo");
}
