#include "cli/transfer/push_progress.h"
#include "common/untrusted_text.h"

#include <unistd.h>

#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/transfer/size_text.h"
#include "common/logging.h"

namespace cluster::cli {

PushProgress::PushProgress(Mode mode, const std::vector<std::string>& hosts) : mode_(mode), order_(hosts) {
  start_ = Clock::now();
  for (const auto& h : hosts) hosts_[h].started = start_;
  if (mode_ == Mode::kTerminal) redraw_ = std::thread([this] { RedrawLoop(); });
}

PushProgress::~PushProgress() { Finish(); }

void PushProgress::Finish() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (redraw_.joinable()) redraw_.join();
  std::lock_guard<std::mutex> lock(mu_);
  if (mode_ == Mode::kTerminal && drawn_lines_ > 0) {
    std::cerr << fmt::format("\x1b[{}A\x1b[J", drawn_lines_) << std::flush;  // erase the bars
  }
}

void PushProgress::Emit(const nlohmann::ordered_json& event) { PrintJson(event); }

void PushProgress::Detail(const std::string& line) {
  if (mode_ == Mode::kJson || GetLogLevel() > LogLevel::kInfo) return;
  if (mode_ == Mode::kTerminal && drawn_lines_ > 0) {
    std::cerr << fmt::format("\x1b[{}A\x1b[J", drawn_lines_) << std::flush;  // the bars go below the line
    drawn_lines_ = 0;
  }
  LogLine(LogLevel::kInfo, PrintableText(line));
}

void PushProgress::Phase(const std::string& host, const std::string& phase) {
  std::lock_guard<std::mutex> lock(mu_);
  hosts_[host].phase = phase;
  if (mode_ == Mode::kJson) Emit({{"event", "phase"}, {"host", host}, {"phase", phase}});
  Detail(fmt::format("{}: {}", host, phase));
}

void PushProgress::Planned(const std::string& host, std::uint64_t to_send, std::uint64_t already_there) {
  std::lock_guard<std::mutex> lock(mu_);
  hosts_[host].to_send = to_send;
  if (mode_ == Mode::kJson) {
    Emit({{"event", "planned"}, {"host", host}, {"to_send", to_send}, {"already_there", already_there}});
  }
  Detail(fmt::format("{}: {} to send, {} already there", host, SizeText(to_send), SizeText(already_there)));
}

void PushProgress::Sent(const std::string& host, std::uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  HostState& h = hosts_[host];
  h.sent += bytes;
  if (mode_ == Mode::kJson) {
    auto now = Clock::now();
    if (now - h.last_event < std::chrono::seconds(1)) return;
    h.last_event = now;
    const double secs = std::chrono::duration<double>(now - h.started).count();
    Emit({{"event", "progress"}, {"host", host}, {"sent", h.sent}, {"total", h.to_send},
          {"bytes_per_second", secs > 0 ? h.sent / secs : 0.0}});
  }
}

void PushProgress::FileDone(const std::string& host, const std::string& artifact, const std::string& path,
                            const std::string& action, std::uint64_t offset, std::uint64_t bytes_sent) {
  std::lock_guard<std::mutex> lock(mu_);
  if (mode_ == Mode::kJson) {
    Emit({{"event", "file"}, {"host", host}, {"artifact", artifact}, {"path", path}, {"action", action},
          {"offset", offset}, {"bytes_sent", bytes_sent}});
  }
  // "h1: demo/model.safetensors sent (1.2 MB)", "... resumed at 64.0 MB (1.2 MB)", "... skipped (already there)"
  Detail(action == "skipped" ? fmt::format("{}: {}/{} skipped (already there)", host, artifact, path)
         : offset > 0        ? fmt::format("{}: {}/{} resumed at {} ({} sent)", host, artifact, path, SizeText(offset),
                                           SizeText(bytes_sent))
                             : fmt::format("{}: {}/{} {} ({})", host, artifact, path, action, SizeText(bytes_sent)));
}

void PushProgress::ImageDone(const std::string& host, const std::string& image, const std::string& action,
                             const std::vector<std::string>& tags) {
  std::lock_guard<std::mutex> lock(mu_);
  if (mode_ == Mode::kJson) {
    Emit({{"event", "image"}, {"host", host}, {"image", image}, {"action", action}, {"tags", tags}});
  } else if (mode_ == Mode::kPlain) {
    std::cerr << PrintableText(fmt::format("{}: image {} {}{}", host, image,
                                           action == "loaded" ? "loaded: " : "already present",
                                           action == "loaded" ? fmt::format("{}", fmt::join(tags, ", ")) : ""))
              << "\n";
  }
}

void PushProgress::HostDone(const HostReport& r) {
  std::lock_guard<std::mutex> lock(mu_);
  HostState& h = hosts_[r.host];
  h.done = true;
  h.ok = r.ok;
  h.phase = r.ok ? "done" : "FAILED";
  if (mode_ == Mode::kJson) {
    nlohmann::ordered_json j{{"event", "host_done"}, {"host", r.host}, {"ok", r.ok}};
    if (!r.ok) j["error"] = r.error;
    Emit(j);
  } else if (mode_ == Mode::kPlain) {
    // An error names its host already ("h2 (10.0.0.12): ..."): the line says it once.
    const bool named = r.error.rfind(r.host + " ", 0) == 0 || r.error.rfind(r.host + ":", 0) == 0;
    std::cerr << (r.ok    ? fmt::format("{}: done, {} sent in {}\n", r.host, SizeText(r.bytes_sent), DurationText(r.seconds))
                  : named ? fmt::format("FAILED: {}\n", PrintableText(r.error))
                          : fmt::format("{}: FAILED: {}\n", r.host, PrintableText(r.error)));
  }
}

void PushProgress::RedrawLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    Redraw();
    stop_cv_.wait_for(lock, std::chrono::milliseconds(250));
  }
}

void PushProgress::Redraw() {
  const auto now = Clock::now();
  std::string out;
  if (drawn_lines_ > 0) out += fmt::format("\x1b[{}A", drawn_lines_);
  std::uint64_t all_sent = 0, all_total = 0;
  size_t width = 4;
  for (const auto& name : order_) width = std::max(width, name.size());
  for (const auto& name : order_) {
    const HostState& h = hosts_[name];
    all_sent += h.sent;
    all_total += h.to_send;
    const double secs = std::chrono::duration<double>(now - h.started).count();
    const double rate = secs > 0 ? h.sent / secs : 0;
    const double frac = h.to_send ? std::min(1.0, static_cast<double>(h.sent) / h.to_send) : (h.done ? 1.0 : 0.0);
    const int filled = static_cast<int>(frac * 24);
    std::string eta = (rate > 0 && h.to_send > h.sent && !h.done) ? "ETA " + DurationText((h.to_send - h.sent) / rate) : "";
    out += fmt::format("\x1b[2K{:<{}} [{}{}] {:>3.0f}% {} / {}  {}  {}  {}\n", name, width, std::string(filled, '#'),
                       std::string(24 - filled, '.'), frac * 100, SizeText(h.sent), SizeText(h.to_send),
                       RateText(rate), eta, h.phase);
  }
  const double secs = std::chrono::duration<double>(now - start_).count();
  out += fmt::format("\x1b[2Koverall: {} / {}  {}  elapsed {}\n", SizeText(all_sent), SizeText(all_total),
                     RateText(secs > 0 ? all_sent / secs : 0), DurationText(secs));
  drawn_lines_ = static_cast<int>(order_.size()) + 1;
  std::cerr << out << std::flush;
}

}  // namespace cluster::cli
