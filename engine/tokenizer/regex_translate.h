// Translates the regular expressions of tokenizer.json (written for the Rust
// tokenizers crate, which compiles them with Oniguruma) into PCRE2 syntax
// with the same meaning, so that Split pre-tokenizers cut text exactly where
// Hugging Face does.
//
// PCRE2 (with UTF and UCP) already agrees on \p{..}, classes, alternation,
// quantifiers and lookaround. Where the two dialects differ we rewrite:
//   \s, \S    Oniguruma: the Unicode White_Space property. PCRE2's \s also
//             matches U+180E, so we spell out \p{White_Space} / \P{White_Space}.
//   \d, \D    \p{Nd} / \P{Nd}.
//   \w, \W    Oniguruma: Alphabetic, marks, Nd, Pc (PCRE2: letters, numbers, '_').
//   \h, \H    Oniguruma: hexadecimal digit (PCRE2: horizontal space).
//   \uHHHH    PCRE2 spells it \x{HHHH}.
//   (?i:...)  Only ASCII letters fold, as in the Hugging Face JavaScript
//             tokenizers (our reference): (?i:'s) matches "'S" but not "'ſ".
//             PCRE2 would fold Unicode-wide, so letters become [sS].
// Anything this translator cannot express faithfully (inline flags other than
// a (?i: group, nested classes, class intersections) is refused with an
// error rather than approximated.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace engine::tokenizer {

// Returns the PCRE2 pattern (to compile with PCRE2_UTF | PCRE2_UCP |
// PCRE2_MULTILINE and LF newlines) for the Oniguruma-style `pattern`.
cluster::StatusOr<std::string> TranslateRegexToPcre2(std::string_view pattern);

// Returns a PCRE2 pattern matching `literal` exactly (a Split "String" pattern).
std::string EscapeLiteralForPcre2(std::string_view literal);

}  // namespace engine::tokenizer
