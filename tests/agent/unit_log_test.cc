// Unit logs: timestamped lines, rotation by size, reading back in order.
#include "agent/unit_log.h"

#include <unistd.h>

#include <catch2/catch.hpp>

#include "temp_dir.h"

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace fs = std::filesystem;
using cluster::testing::TempDir;
using cluster::agent::LogCursor;
using cluster::agent::ReadNewLines;
using cluster::agent::ReadUnitLog;
using cluster::agent::TimedLine;
using cluster::agent::UnitLogWriter;

namespace {


std::string Slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// True when `raw` is exactly `texts`, each line "YYYY-MM-DDTHH:MM:SS.mmmZ TEXT".
bool MatchesStampedLines(const std::string& raw, const std::vector<std::string>& texts) {
  static const std::string kShape = "dddd-dd-ddTdd:dd:dd.dddZ ";
  size_t pos = 0;
  for (const std::string& text : texts) {
    if (raw.size() < pos + kShape.size()) return false;
    for (size_t i = 0; i < kShape.size(); ++i) {
      char c = raw[pos + i];
      if (kShape[i] == 'd' ? !std::isdigit(static_cast<unsigned char>(c)) : c != kShape[i]) return false;
    }
    pos += kShape.size();
    if (raw.compare(pos, text.size() + 1, text + "\n") != 0) return false;
    pos += text.size() + 1;
  }
  return pos == raw.size();
}

std::int64_t NowMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::vector<std::string> Texts(const std::vector<TimedLine>& lines) {
  std::vector<std::string> out;
  for (const auto& l : lines) out.push_back(l.text);
  return out;
}

}  // namespace

TEST_CASE("Each line is stamped with the UTC time in milliseconds and reads back with that time") {
  TempDir tmp("stamp");
  fs::path log = tmp.path / "unit.log";
  std::int64_t before = NowMs();
  {
    UnitLogWriter writer(log, 1 << 20, 3);
    writer.Append("hello\nworld\n");
    CHECK(writer.write_errors() == 0);
  }
  std::int64_t after = NowMs();
  std::string raw = Slurp(log);
  CHECK(MatchesStampedLines(raw, {"hello", "world"}));

  auto lines = ReadUnitLog(log, 0, -1);
  REQUIRE(lines.ok());
  REQUIRE(Texts(*lines) == std::vector<std::string>{"hello", "world"});
  for (const auto& l : *lines) {
    CHECK(l.unix_ms >= before);
    CHECK(l.unix_ms <= after);
  }
}

TEST_CASE("A partial line waits for its newline or for Flush") {
  TempDir tmp("partial");
  fs::path log = tmp.path / "unit.log";
  UnitLogWriter writer(log, 1 << 20, 3);
  writer.Append("abc");
  CHECK(Slurp(log).empty());
  writer.Append("def\nghi");
  CHECK(Texts(*ReadUnitLog(log, 0, -1)) == std::vector<std::string>{"abcdef"});
  writer.Flush();
  CHECK(Texts(*ReadUnitLog(log, 0, -1)) == std::vector<std::string>{"abcdef", "ghi"});
}

TEST_CASE("A line longer than 64 KiB without a newline is written in pieces") {
  TempDir tmp("long");
  fs::path log = tmp.path / "unit.log";
  UnitLogWriter writer(log, 1 << 20, 3);
  writer.Append(std::string(150 * 1024, 'x'));
  // Two full pieces are out before any newline; the rest waits.
  auto lines = ReadUnitLog(log, 0, -1);
  REQUIRE(lines.ok());
  REQUIRE(lines->size() == 2);
  CHECK((*lines)[0].text.size() == 64 * 1024);
  writer.Append("\n");
  lines = ReadUnitLog(log, 0, -1);
  REQUIRE(lines->size() == 3);
  CHECK((*lines)[2].text.size() == 150 * 1024 - 2 * 64 * 1024);
}

TEST_CASE("Rotation keeps `keep` files and reading returns their lines oldest first") {
  TempDir tmp("rotate");
  const fs::path& dir = tmp.path;
  fs::path log = dir / "unit.log";
  {
    UnitLogWriter writer(log, 300, 2);
    for (int i = 0; i < 100; ++i) writer.Append("line " + std::to_string(i) + "\n");
    CHECK(writer.write_errors() == 0);
  }
  CHECK(fs::exists(dir / "unit.log.1"));
  CHECK(fs::exists(dir / "unit.log.2"));
  CHECK_FALSE(fs::exists(dir / "unit.log.3"));
  for (const char* name : {"unit.log", "unit.log.1", "unit.log.2"}) CHECK(fs::file_size(dir / name) <= 300);

  auto lines = ReadUnitLog(log, 0, -1);
  REQUIRE(lines.ok());
  REQUIRE(lines->size() > 10);
  CHECK(lines->back().text == "line 99");
  // Consecutive: nothing kept is lost or out of order.
  int first = std::stoi(lines->front().text.substr(5));
  for (size_t i = 0; i < lines->size(); ++i) CHECK((*lines)[i].text == "line " + std::to_string(first + static_cast<int>(i)));

  auto tail = ReadUnitLog(log, 0, 3);
  REQUIRE(tail.ok());
  CHECK(Texts(*tail) == std::vector<std::string>{"line 97", "line 98", "line 99"});
}

TEST_CASE("Reading since a time returns only the lines written at or after it") {
  TempDir tmp("since");
  fs::path log = tmp.path / "unit.log";
  UnitLogWriter writer(log, 1 << 20, 3);
  writer.AppendLine("old");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::int64_t since = NowMs();
  writer.AppendLine("new");
  auto lines = ReadUnitLog(log, since, -1);
  REQUIRE(lines.ok());
  CHECK(Texts(*lines) == std::vector<std::string>{"new"});
}

TEST_CASE("A line without a timestamp keeps the time of the line before it") {
  TempDir tmp("nostamp");
  fs::path log = tmp.path / "unit.log";
  std::ofstream(log) << "2026-11-28T10:15:02.123Z first\nno stamp here\n";
  auto lines = ReadUnitLog(log, 0, -1);
  REQUIRE(lines.ok());
  REQUIRE(lines->size() == 2);
  CHECK((*lines)[0].unix_ms == 1795860902123);
  CHECK((*lines)[1].unix_ms == 1795860902123);
  CHECK((*lines)[1].text == "no stamp here");
}

TEST_CASE("Reading a log that does not exist is NotFound and names the file") {
  TempDir tmp("missing");
  fs::path log = tmp.path / "unit.log";
  auto lines = ReadUnitLog(log, 0, -1);
  REQUIRE_FALSE(lines.ok());
  CHECK(lines.status().code() == cluster::StatusCode::kNotFound);
  CHECK(lines.status().message().find(log.string()) != std::string::npos);
}

TEST_CASE("A follower sees every new line once, across rotations") {
  TempDir tmp("follow");
  fs::path log = tmp.path / "unit.log";
  UnitLogWriter writer(log, 200, 3);
  writer.AppendLine("before following");
  LogCursor cursor;
  auto none = ReadNewLines(log, cursor);
  REQUIRE(none.ok());
  CHECK(none->empty());

  std::vector<std::string> seen;
  for (int i = 0; i < 40; ++i) {
    writer.AppendLine("line " + std::to_string(i));
    if (i % 3 == 0) {  // reads between rotations and across them
      auto got = ReadNewLines(log, cursor);
      REQUIRE(got.ok());
      for (const auto& t : Texts(*got)) seen.push_back(t);
    }
  }
  auto got = ReadNewLines(log, cursor);
  REQUIRE(got.ok());
  for (const auto& t : Texts(*got)) seen.push_back(t);
  REQUIRE(seen.size() == 40);
  for (int i = 0; i < 40; ++i) CHECK(seen[static_cast<size_t>(i)] == "line " + std::to_string(i));
}
