// Boost's assertions in builds that keep assertions (no NDEBUG, with
// BOOST_ENABLE_ASSERT_DEBUG_HANDLER: the sanitizer, fuzz and Debug builds).
// Every one aborts with its place, as assert() would, except one that is
// wrong in Debian 12's Boost 1.74: http::basic_parser::parse_chunk_header
// asserts `n >= 5` where a chunked body arriving in pieces legitimately has
// fewer bytes at hand ("0\r\n", then "\r"), and the code after it asks for
// more (need_more) as it should. Boost.Beast corrected the assertion in 1.86
// (boostorg/beast#2861). Release builds define NDEBUG and have no Boost
// assertions at all.
#if defined(BOOST_ENABLE_ASSERT_DEBUG_HANDLER) && !defined(NDEBUG)

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <boost/assert.hpp>

namespace boost {
namespace {

bool KnownWrong(const char* expr, const char* file) {
  return std::strcmp(expr, "n >= 5") == 0 && std::strstr(file, "beast/http/impl/basic_parser.ipp") != nullptr;
}

}  // namespace

void assertion_failed(const char* expr, const char* function, const char* file, long line) {
  if (KnownWrong(expr, file)) return;
  std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed.\n", file, line, function, expr);
  std::abort();
}

void assertion_failed_msg(const char* expr, const char* msg, const char* function, const char* file, long line) {
  std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed: %s\n", file, line, function, expr, msg);
  std::abort();
}

}  // namespace boost

#endif
