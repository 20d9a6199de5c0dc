#include "common/spelling.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "common/untrusted_text.h"

namespace cluster {
namespace {

char Fold(char c) {
  if (c == '-') return '_';
  return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

std::string Folded(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), Fold);
  return out;
}

}  // namespace

std::size_t EditDistance(std::string_view a_in, std::string_view b_in) {
  const std::string a = Folded(a_in), b = Folded(b_in);
  // d[i][j]: distance between the first i characters of a and the first j of b.
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string_view>& candidates) {
  std::optional<std::string_view> best;
  std::size_t best_distance = 0;
  for (std::string_view c : candidates) {
    const std::size_t d = EditDistance(word, c);
    const std::size_t allowed = std::max<std::size_t>(1, std::max(word.size(), c.size()) / 3);
    if (d <= allowed && (!best || d < best_distance)) {
      best = c;
      best_distance = d;
    }
  }
  if (best) return std::string(*best);

  // No near spelling: try containment, but only when it points at one candidate.
  const std::string w = Folded(word);
  std::optional<std::string_view> contained;
  int hits = 0;
  for (std::string_view c : candidates) {
    const std::string f = Folded(c);
    if (w.size() < 4 || f.size() < 4) continue;
    if (w.find(f) != std::string::npos || f.find(w) != std::string::npos) {
      contained = c;
      ++hits;
    }
  }
  if (hits == 1) return std::string(*contained);
  return std::nullopt;
}

std::string JoinAlternatives(const std::vector<std::string_view>& words) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += (i + 1 == words.size()) ? " or " : ", ";
    out += words[i];
  }
  return out;
}

std::string UnknownCommandMessage(std::string_view word, const std::vector<std::string_view>& commands) {
  const std::string shown = PrintableText(word);  // argv may hold anything
  if (auto guess = ClosestMatch(word, commands)) return fmt::format("unknown command '{}'; did you mean '{}'?", shown, *guess);
  return fmt::format("unknown command '{}'; the commands are {}", shown, JoinAlternatives(commands));
}

std::optional<std::string> UnknownCommandIn(int argc, const char* const* argv,
                                            const std::vector<std::string_view>& commands,
                                            const std::vector<std::string_view>& flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (std::find(flags.begin(), flags.end(), arg) != flags.end()) continue;
    if (arg.empty() || arg.front() == '-') return std::nullopt;
    if (std::find(commands.begin(), commands.end(), arg) != commands.end()) return std::nullopt;
    return UnknownCommandMessage(arg, commands);
  }
  return std::nullopt;
}

}  // namespace cluster
