// Text helpers with Python's str semantics, over UTF-8 std::string.
//
// Internal to engine_chat. Jinja templates are Python: len(), slicing and
// indexing count code points, str.strip() knows Unicode whitespace, and
// str.upper() maps Unicode letters. These helpers give those answers for
// UTF-8 text.
//
// Invalid UTF-8 never fails: each byte that is not part of a valid sequence
// decodes to U+DC80..U+DCFF (Python's "surrogateescape"), and encoding such a
// code point writes the original byte back, so text round-trips unchanged.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace engine::jinja::text {

std::u32string Decode(std::string_view utf8);
std::string Encode(std::u32string_view code_points);
void AppendUtf8(std::string& out, char32_t code_point);

// Number of code points (Python's len(str)).
size_t Length(std::string_view utf8);

// Python's str.isspace() for one code point.
bool IsSpace(char32_t c);

// Python's str.strip/lstrip/rstrip: without `chars`, strips Unicode whitespace;
// with `chars`, strips any of those code points.
std::string Strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right);

// Python's str.split(sep, maxsplit). REQUIRES: sep, if given, is not empty.
std::vector<std::string> Split(std::string_view s, const std::optional<std::string>& sep, long maxsplit);

// Python's str.splitlines() (line breaks dropped).
std::vector<std::string> SplitLines(std::string_view s);

// Python's str.replace(old, new, count); count < 0 replaces all.
std::string Replace(std::string_view s, std::string_view old_text, std::string_view new_text, long count);

// Case mapping as Python's str.upper/lower/title/capitalize, using the C
// library's Unicode tables (C.UTF-8) plus Python's special cases that map one
// letter to several (ß -> SS, ligatures, İ). Letters whose full mapping this
// cannot reproduce return an error naming the letter; a wrong rendering is
// worse than a refusal.
cluster::StatusOr<std::string> Upper(std::string_view s);
cluster::StatusOr<std::string> Lower(std::string_view s);
cluster::StatusOr<std::string> Title(std::string_view s);       // str.title()
cluster::StatusOr<std::string> Capitalize(std::string_view s);  // str.capitalize()
// Jinja's `title` filter: words start after "-", whitespace, "(", "{", "[", "<".
cluster::StatusOr<std::string> TitleFilter(std::string_view s);

// Python's str.islower()/isupper(): at least one cased letter, none of the other case.
bool IsLower(std::string_view s);
bool IsUpper(std::string_view s);

}  // namespace engine::jinja::text
