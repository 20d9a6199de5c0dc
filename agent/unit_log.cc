#include "agent/unit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <system_error>

#include <fmt/format.h>

#include "common/subprocess.h"

namespace cluster::agent {
namespace fs = std::filesystem;

namespace {

// A line longer than this without a newline is written in pieces, so a unit
// printing a progress bar without newlines cannot grow the agent's memory.
constexpr size_t kMaxLineBytes = 64 * 1024;
// "2026-11-28T10:15:02.123Z " is 25 bytes.
constexpr size_t kStampBytes = 25;

std::int64_t NowUnixMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string FormatStamp(std::int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(unix_ms % 1000));
}

// Parses the stamp at the start of `line` ("YYYY-MM-DDTHH:MM:SS.mmmZ ").
std::optional<std::int64_t> ParseStamp(std::string_view line) {
  if (line.size() < kStampBytes) return std::nullopt;
  static constexpr char kPattern[] = "dddd-dd-ddTdd:dd:dd.dddZ ";
  for (size_t i = 0; i < kStampBytes; ++i) {
    char p = kPattern[i], c = line[i];
    if (p == 'd' ? (c < '0' || c > '9') : c != p) return std::nullopt;
  }
  auto num = [&](size_t at, size_t len) {
    int v = 0;
    for (size_t i = at; i < at + len; ++i) v = v * 10 + (line[i] - '0');
    return v;
  };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(5, 2) - 1;
  tm.tm_mday = num(8, 2);
  tm.tm_hour = num(11, 2);
  tm.tm_min = num(14, 2);
  tm.tm_sec = num(17, 2);
  return static_cast<std::int64_t>(::timegm(&tm)) * 1000 + num(20, 3);
}

// Splits complete lines of `data` into `out`; `last_ms` carries the time of
// the previous line to lines without a stamp. Returns the bytes consumed (up
// to and including the last newline).
size_t ParseLines(std::string_view data, std::int64_t& last_ms, std::vector<TimedLine>& out) {
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string_view::npos) break;
    std::string_view line = data.substr(pos, nl - pos);
    pos = nl + 1;
    if (auto ms = ParseStamp(line)) {
      last_ms = *ms;
      out.push_back({*ms, std::string(line.substr(kStampBytes))});
    } else {
      out.push_back({last_ms, std::string(line)});
    }
  }
  return pos;
}

fs::path Rotated(const fs::path& path, int n) { return fs::path(path.string() + "." + std::to_string(n)); }

// The rotated files that exist beside `path`, oldest (highest number) first.
std::vector<fs::path> RotatedFiles(const fs::path& path) {
  std::vector<std::pair<long, fs::path>> found;
  std::error_code ec;
  const std::string prefix = path.filename().string() + ".";
  fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    std::string_view digits = std::string_view(name).substr(prefix.size());
    if (digits.size() > 6 || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    found.emplace_back(std::stol(std::string(digits)), it->path());
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<fs::path> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

// Reads `path` from `offset` to its end. NotFound when it does not exist.
StatusOr<std::string> ReadFrom(const fs::path& path, std::uint64_t offset, std::uint64_t* inode = nullptr) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return NotFoundError(fmt::format("no log at {}", path.string()));
    return UnavailableError(fmt::format("cannot read log {}: {}", path.string(), std::strerror(e)));
  }
  struct stat st{};
  if (::fstat(fd, &st) == 0 && inode != nullptr) *inode = st.st_ino;
  std::string data;
  char buf[65536];
  off_t at = static_cast<off_t>(offset);
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
    at += n;
  }
  ::close(fd);
  return data;
}

std::optional<std::uint64_t> InodeOf(const fs::path& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return st.st_ino;
}

}  // namespace

// ---- writer ------------------------------------------------------------------

UnitLogWriter::UnitLogWriter(fs::path path, std::uint64_t max_bytes, int keep)
    : path_(std::move(path)), max_bytes_(max_bytes), keep_(std::max(keep, 0)) {
  std::error_code ec;
  if (path_.has_parent_path()) fs::create_directories(path_.parent_path(), ec);
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    ++write_errors_;
    return;
  }
  struct stat st{};
  if (::fstat(fd_, &st) == 0) size_ = static_cast<std::uint64_t>(st.st_size);
}

UnitLogWriter::~UnitLogWriter() {
  Flush();
  if (fd_ >= 0) ::close(fd_);
}

void UnitLogWriter::Append(std::string_view bytes) {
  partial_.append(bytes);
  size_t pos = 0;
  for (;;) {
    size_t nl = partial_.find('\n', pos);
    if (nl != std::string::npos && nl - pos <= kMaxLineBytes) {
      std::string_view line(partial_.data() + pos, nl - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      AppendLine(line);
      pos = nl + 1;
      continue;
    }
    if (partial_.size() - pos <= kMaxLineBytes) break;
    // A piece of a very long line; cut before a UTF-8 continuation byte so
    // that each piece stays valid text.
    size_t cut = kMaxLineBytes;
    for (int back = 0; back < 3 && (static_cast<unsigned char>(partial_[pos + cut]) & 0xC0) == 0x80; ++back) --cut;
    AppendLine(std::string_view(partial_.data() + pos, cut));
    pos += cut;
  }
  partial_.erase(0, pos);
}

void UnitLogWriter::AppendLine(std::string_view text) {
  std::string record = FormatStamp(NowUnixMs());
  record.reserve(record.size() + text.size() + 2);
  record += ' ';
  record.append(text);
  record += '\n';
  // Rotate before a record that would take the live file past max_bytes, so
  // files stay within it (unless one record alone is larger).
  if (size_ > 0 && size_ + record.size() > max_bytes_) Rotate();
  if (fd_ < 0) {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    size_ = 0;
  }
  if (fd_ < 0 || !WriteAll(fd_, record.data(), record.size())) {
    ++write_errors_;
    return;
  }
  size_ += record.size();
}

void UnitLogWriter::Flush() {
  if (partial_.empty()) return;
  std::string rest = std::move(partial_);
  partial_.clear();
  AppendLine(rest);
}

void UnitLogWriter::Rotate() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  size_ = 0;
  std::error_code ec;
  if (keep_ == 0) {
    fs::remove(path_, ec);
  } else {
    fs::remove(Rotated(path_, keep_), ec);
    for (int n = keep_ - 1; n >= 1; --n) fs::rename(Rotated(path_, n), Rotated(path_, n + 1), ec);
    fs::rename(path_, Rotated(path_, 1), ec);
    if (ec) ++write_errors_;
  }
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) ++write_errors_;
}

// ---- readers -----------------------------------------------------------------

StatusOr<std::vector<TimedLine>> ReadUnitLog(const fs::path& path, std::int64_t since_unix_ms, int tail) {
  std::vector<fs::path> files = RotatedFiles(path);
  files.push_back(path);
  std::vector<TimedLine> lines;
  std::int64_t last_ms = 0;
  bool any = false;
  for (const fs::path& file : files) {
    StatusOr<std::string> data = ReadFrom(file, 0);
    if (!data.ok()) {
      // A file rotated away between listing and reading is not an error.
      if (data.status().code() == StatusCode::kNotFound) continue;
      return data.status();
    }
    any = true;
    std::string& text = *data;
    if (!text.empty() && text.back() != '\n') text += '\n';
    ParseLines(text, last_ms, lines);
  }
  if (!any) return NotFoundError(fmt::format("no log at {}", path.string()));
  auto first = std::find_if(lines.begin(), lines.end(), [&](const TimedLine& l) { return l.unix_ms >= since_unix_ms; });
  lines.erase(lines.begin(), first);
  if (tail >= 0 && lines.size() > static_cast<size_t>(tail)) {
    lines.erase(lines.begin(), lines.end() - tail);
  }
  return lines;
}

StatusOr<std::vector<TimedLine>> ReadNewLines(const fs::path& path, LogCursor& cursor) {
  std::vector<TimedLine> lines;
  std::int64_t last_ms = 0;
  std::optional<std::uint64_t> live = InodeOf(path);
  if (cursor.inode == 0) {
    // A new follower starts at the current end of the live file.
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return lines;
    cursor = {static_cast<std::uint64_t>(st.st_ino), static_cast<std::uint64_t>(st.st_size)};
    return lines;
  }
  if (live != cursor.inode) {
    // Rotated since the last call: finish the file we were reading (now
    // LOG.n), then every newer rotated file, then the live file from 0. When
    // ours was deleted (rotated past `keep`), every remaining file is newer.
    std::vector<fs::path> rotated = RotatedFiles(path);
    auto ours = std::find_if(rotated.begin(), rotated.end(),
                             [&](const fs::path& p) { return InodeOf(p) == cursor.inode; });
    bool found = ours != rotated.end();
    for (auto it = found ? ours : rotated.begin(); it != rotated.end(); ++it) {
      StatusOr<std::string> data = ReadFrom(*it, it == ours ? cursor.offset : 0);
      if (!data.ok()) continue;
      if (!data->empty() && data->back() != '\n') *data += '\n';
      ParseLines(*data, last_ms, lines);
    }
    if (!live) {
      cursor = {};
      return lines;
    }
    cursor = {*live, 0};
  }
  std::uint64_t inode = 0;
  StatusOr<std::string> data = ReadFrom(path, cursor.offset, &inode);
  if (!data.ok()) return data.status().code() == StatusCode::kNotFound ? StatusOr<std::vector<TimedLine>>(lines)
                                                                        : StatusOr<std::vector<TimedLine>>(data.status());
  if (inode != cursor.inode) return lines;  // rotated again in between: the next call reads it
  // Only complete lines are taken: a record being written is read next time.
  cursor.offset += ParseLines(*data, last_ms, lines);
  return lines;
}

}  // namespace cluster::agent
