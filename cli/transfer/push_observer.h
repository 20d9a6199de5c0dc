// PushObserver: what host workers tell the outside while they push (progress
// bars, --json events). Implementations must be thread-safe: every host's
// worker calls them concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/transfer/push_job.h"

namespace cluster::cli {

class PushObserver {
 public:
  virtual ~PushObserver() = default;
  // A new step on a host: "connecting", "installing agent", "checking", "sending", "loading image", ...
  virtual void Phase(const std::string& host, const std::string& phase) = 0;
  // After checking: how many bytes will be sent to the host, and how many are already there.
  virtual void Planned(const std::string& host, std::uint64_t to_send, std::uint64_t already_there) = 0;
  // More bytes went on the wire to the host.
  virtual void Sent(const std::string& host, std::uint64_t bytes) = 0;
  // One file is settled on the host. action: "skipped", "sent", "resumed" (sent from an offset).
  virtual void FileDone(const std::string& host, const std::string& artifact, const std::string& path,
                        const std::string& action, std::uint64_t offset, std::uint64_t bytes_sent) = 0;
  // An image tarball was handed to Docker. action: "loaded" or "present".
  virtual void ImageDone(const std::string& host, const std::string& image, const std::string& action,
                         const std::vector<std::string>& tags) = 0;
  virtual void HostDone(const HostReport& report) = 0;
};

}  // namespace cluster::cli
