// The job's rendezvous token: the secret every rank presents to rank 0's
// rendezvous. clusterd puts it in each rank's environment, never in argv
// (where `ps` shows it to every user of the host).
#pragma once

#include <string>
#include <string_view>

#include "engine/status.h"

namespace engine {

inline constexpr char kRendezvousTokenVariable[] = "INFER_ENGINE_RENDEZVOUS_TOKEN";

// The token from kRendezvousTokenVariable; FailedPrecondition naming the
// variable when it is unset or empty.
StatusOr<std::string> RendezvousTokenFromEnvironment();

// True if the two are equal, in time that depends only on expected's length
// (a wrong token tells its sender nothing about the right one).
bool TokensEqual(std::string_view expected, std::string_view presented);

}  // namespace engine
