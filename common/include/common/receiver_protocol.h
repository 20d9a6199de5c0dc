// The receiver protocol spoken between clusterctl and `clusterd receive` over
// an SSH exec channel (or a local pipe): requests are one text line of
// tokens (common/wire_token.h); replies are one line, "ok ..." or
// "error CODE MESSAGE". A `put` request is followed by exactly the bytes it
// announces. The full grammar is in docs/push.md.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"

namespace cluster::receiver {

// Bumped whenever a request or reply changes shape. 2: files are named by
// their destination folder and a path relative to it (ROOT FILE).
inline constexpr int kProtocolVersion = 2;

// Where the bytes of `final_path` gather until they are verified: a hidden
// file beside it, ".NAME.clusterd-partial". It never takes the real name
// unless its hash matched.
std::filesystem::path PartialPathFor(const std::filesystem::path& final_path);

// "error CODE MESSAGE\n" for a failed status.
std::string ErrorReply(const Status& status);
// "ok TOKEN...\n" with every token encoded.
std::string OkReply(const std::vector<std::string>& tokens);

// Parses one reply line. OK: the decoded tokens after "ok". A failed Status
// carrying the code and message of an "error" reply, or DataLoss for a line
// that is neither.
StatusOr<std::vector<std::string>> ParseReply(const std::string& line);

}  // namespace cluster::receiver
