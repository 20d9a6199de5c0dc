// Pushing a job's artifacts to one host through a running receiver
// (docs/push.md): ask what the host has, check free disk, send only what is
// missing (resuming partial files from their verified offset), and load
// image tarballs into Docker.
//
// One HostPush per host, driven by that host's worker thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "cli/transfer/push_job.h"
#include "cli/transfer/push_observer.h"
#include "cli/transfer/transport.h"
#include "common/status.h"

namespace cluster::cli {

class HostPush {
 public:
  // `agent_command` runs clusterd on the host (from EnsureAgent). `cancel` is
  // polled between chunks: when it turns true the push stops, partial files
  // stay on the host, and Run returns Cancelled.
  HostPush(Transport& transport, std::string agent_command, const HostJob& job, PushObserver& observer,
           const std::atomic<bool>& cancel, HostReport& report);

  // Pushes everything (Prepare, SendAll, Finish); fills the report's counters
  // as it goes. The first failure stops this host (never the others) and is returned.
  Status Run();

  // One file of the job as it lands on this host, and what the host has of it.
  struct FileTask {
    const HostArtifact* where = nullptr;
    const ManifestEntry* entry = nullptr;
    std::string remote_path;
    std::string state;          // "have", "partial", "missing", "differs"
    std::uint64_t offset = 0;   // for "partial": bytes the host holds
    std::string prefix_hash;    // for "partial": their hash
  };

  // The steps of Run, also driven one by one by the chain relay (chain_push.h):
  // start the receiver, check Docker, ask about every file, check free disk.
  Status Prepare();
  // Star mode: sends every file that is not there, straight from this machine.
  Status SendAll();
  // Loads images into Docker and ends the receiver session.
  Status Finish();

  std::vector<FileTask>& tasks() { return tasks_; }
  // Where sending `task` may start: its partial offset when the host's bytes
  // hash like ours, else 0.
  std::uint64_t ResumeOffset(const FileTask& task);
  // Bookkeeping of a settled file (report counters and observer events).
  void RecordSkipped(const FileTask& task);
  void RecordDone(const FileTask& task, std::uint64_t offset, std::uint64_t bytes_received);
  // Sends `header` and then the file's bytes [from, size) on the receiver's
  // stdin, reporting progress to every host in `credit` (this one when empty).
  Status SendStream(const FileTask& task, const std::string& header, std::uint64_t from,
                    const std::vector<HostPush*>& credit = {});
  // One request line and its reply; and a reply alone (for requests that answer twice).
  StatusOr<std::vector<std::string>> Request(const std::string& line);
  StatusOr<std::vector<std::string>> ReadReply();
  const std::string& host() const { return job_.host; }

 private:
  Status CheckFiles();
  Status CheckFreeSpace();
  Status SendFile(FileTask& task);
  Status LoadImage(const HostArtifact& image);

  Transport& transport_;
  std::string agent_command_;
  const HostJob& job_;
  PushObserver& observer_;
  const std::atomic<bool>& cancel_;
  HostReport& report_;
  std::unique_ptr<RemoteProcess> receiver_;
  std::unique_ptr<LineReader> replies_;
  std::vector<FileTask> tasks_;
};

// One request line: tokens encoded and joined by spaces, ending in '\n'.
std::string RequestLine(std::initializer_list<std::string> tokens);

}  // namespace cluster::cli
