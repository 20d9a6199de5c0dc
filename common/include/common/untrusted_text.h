// Text that came from outside this program - an inventory file, a host, an
// HTTP client, a peer agent - before it is shown to a person: on a
// terminal, in an error message, in a log line.
//
// Such text may hold terminal escape sequences (ESC [ 2 J clears the
// screen; a CR moves back and lets later text overwrite "error" with
// "valid"), line breaks that forge extra log lines, bytes that are not
// UTF-8, or simply megabytes. Every place that echoes outside text passes
// it through one of these.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cluster {

// `text` with every byte that could move the cursor or change the
// terminal's state spelled out: C0 controls except tab (including CR, LF
// and ESC), DEL, the C1 controls U+0080..U+009F, and bytes that are not
// part of valid UTF-8 become "\xHH" (e.g. "\x1b[2J"); a backslash stays a
// backslash. Valid UTF-8 text without controls is returned unchanged.
std::string PrintableText(std::string_view text);

// At most about `max_bytes` of `text`, made printable, for quoting in a
// message: a longer text is cut at a character boundary and ends in
// "... (N bytes)", N being its full length.
std::string Excerpt(std::string_view text, std::size_t max_bytes = 64);

}  // namespace cluster
