// Tokens of the line-based text protocols (the receiver protocol of
// docs/push.md, the manifest and hash-cache files of docs/manifest.md): a line
// is space-separated tokens; a token percent-encodes '%', space, and every
// byte outside printable ASCII, so any path fits in one token.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace cluster {

std::string EncodeToken(std::string_view raw);
// InvalidArgument on a malformed escape ("%4", "%zz").
StatusOr<std::string> DecodeToken(std::string_view token);
// Splits on single spaces; an empty line gives no tokens.
std::vector<std::string> SplitTokens(std::string_view line);

}  // namespace cluster
