#include "engine/comm/rendezvous/token.h"

#include <cstdlib>

namespace engine {

StatusOr<std::string> RendezvousTokenFromEnvironment() {
  const char* value = std::getenv(kRendezvousTokenVariable);
  if (value == nullptr || *value == '\0') {
    return cluster::FailedPreconditionError(
        std::string(kRendezvousTokenVariable) +
        " is not set: a world of several ranks needs the job's rendezvous token in the environment of every rank "
        "(clusterd sets it; never pass it on the command line)");
  }
  return std::string(value);
}

bool TokensEqual(std::string_view expected, std::string_view presented) {
  // volatile keeps the compiler from ending the loop at the first difference.
  volatile unsigned char diff = expected.size() == presented.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const unsigned char p = i < presented.size() ? static_cast<unsigned char>(presented[i]) : 0;
    diff = diff | (static_cast<unsigned char>(expected[i]) ^ p);
  }
  return diff == 0;
}

}  // namespace engine
