// PushProgress: the PushObserver that shows a push to the operator.
//
//   - on a terminal (stderr is a tty, no --json): one line per host with a bar,
//     bytes, rate and ETA, and an overall line, redrawn a few times a second;
//   - with --json-lines: one JSON object per line on stdout for every event
//     ({"event": "phase"|"planned"|"progress"|"file"|"image"|"host_done", ...});
//     "progress" events are sent at most once a second per host;
//   - otherwise (a log file): one line per host when it finishes.
// With -v (log level info) the terminal and plain modes also log each
// host's phases and every file sent, resumed or skipped on stderr.
//
// Thread-safe: one mutex guards all state and output.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/transfer/push_observer.h"

namespace cluster::cli {

class PushProgress : public PushObserver {
 public:
  enum class Mode { kTerminal, kJson, kPlain };
  PushProgress(Mode mode, const std::vector<std::string>& hosts);
  ~PushProgress() override;  // stops the redraw thread

  // Stops redrawing and clears the bars (before the summary is printed).
  void Finish();

  void Phase(const std::string& host, const std::string& phase) override;
  void Planned(const std::string& host, std::uint64_t to_send, std::uint64_t already_there) override;
  void Sent(const std::string& host, std::uint64_t bytes) override;
  void FileDone(const std::string& host, const std::string& artifact, const std::string& path,
                const std::string& action, std::uint64_t offset, std::uint64_t bytes_sent) override;
  void ImageDone(const std::string& host, const std::string& image, const std::string& action,
                 const std::vector<std::string>& tags) override;
  void HostDone(const HostReport& report) override;

 private:
  using Clock = std::chrono::steady_clock;
  struct HostState {
    std::string phase = "waiting";
    std::uint64_t to_send = 0, sent = 0;
    Clock::time_point started, last_event;
    bool done = false, ok = false;
  };
  void Emit(const nlohmann::ordered_json& event);  // REQUIRES: mu_ held
  void Detail(const std::string& line);             // -v only; REQUIRES: mu_ held
  void Redraw();                            // REQUIRES: mu_ held
  void RedrawLoop();

  Mode mode_;
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::vector<std::string> order_;
  std::map<std::string, HostState> hosts_;  // GUARDED_BY(mu_)
  Clock::time_point start_;
  int drawn_lines_ = 0;                    // lines of the last redraw, to move the cursor up
  std::thread redraw_;
};

}  // namespace cluster::cli
