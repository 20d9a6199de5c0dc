// StopStringMatcher: finds stop strings in streamed text and decides what
// may be shown.
//
// Text arrives in chunks (from the incremental detokenizer). A stop string
// may straddle chunks, so the matcher holds back the shortest tail of the
// text that could still be the start of a stop string, and releases it once
// it cannot. When a stop string appears, the text is cut just before it: the
// stop string and everything after it are never released.
//
// Invariant: the concatenation of everything Push and Flush return equals
// the full text up to (not including) the first occurrence of any stop
// string, or the full text if none occurs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace engine {

class StopStringMatcher {
 public:
  explicit StopStringMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {}

  // Adds `chunk`; returns the text that is now safe to show. After a stop
  // string is found, stopped() is true and later calls return "".
  std::string Push(std::string_view chunk);

  // End of the stream: returns whatever was held back (unless stopped).
  std::string Flush();

  bool stopped() const { return stopped_; }
  // The stop string that matched ("" if none).
  const std::string& matched() const { return matched_; }

 private:
  std::vector<std::string> stops_;
  std::string pending_;  // received, not yet released
  bool stopped_ = false;
  std::string matched_;
};

}  // namespace engine
