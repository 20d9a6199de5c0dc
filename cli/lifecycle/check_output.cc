// The two renderings of a CheckReport: the table a person reads and the
// --json document scripts read. Both show every row; neither judges.
#include <algorithm>

#include <fmt/format.h>

#include "cli/lifecycle/check_report.h"
#include "cli/table.h"

namespace cluster::cli {
namespace {

const char* VerdictWord(CheckRow::Verdict verdict) {
  switch (verdict) {
    case CheckRow::Verdict::kPass: return "PASS";
    case CheckRow::Verdict::kWarn: return "WARN";
    case CheckRow::Verdict::kFail: return "FAIL";
  }
  return "FAIL";
}

// Rows of each host together, in the order hosts first appear; cluster-wide
// rows ("") last.
std::vector<const CheckRow*> GroupedRows(const CheckReport& report) {
  std::vector<std::string> hosts;
  for (const CheckRow& r : report.rows) {
    if (!r.host.empty() && std::find(hosts.begin(), hosts.end(), r.host) == hosts.end()) hosts.push_back(r.host);
  }
  hosts.push_back("");
  std::vector<const CheckRow*> rows;
  for (const std::string& host : hosts) {
    for (const CheckRow& r : report.rows) {
      if (r.host == host) rows.push_back(&r);
    }
  }
  return rows;
}

// Splits rendered table text into its lines (without '\n').
std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return lines;
}

}  // namespace

void PrintCheckTable(const CheckReport& report, std::ostream& out) {
  const std::vector<const CheckRow*> rows = GroupedRows(report);
  Table table({"HOST", "RESULT", "AREA", "CHECK", "DETAIL"});
  std::string previous_host = "\x01";
  for (const CheckRow* r : rows) {
    const std::string host = r->host.empty() ? "cluster" : r->host;
    table.AddRow({host == previous_host ? "" : host, VerdictWord(r->verdict), r->area, r->item, r->detail});
    previous_host = host;
  }
  // Each fix goes on its own line under its row, starting at the DETAIL
  // column (the columns before it are ASCII: names, words, numbers).
  const std::vector<std::string> lines = Lines(table.Render());
  const std::size_t indent = lines.empty() ? 0 : lines.front().find("DETAIL");
  int passed = 0, warned = 0, failed = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out << lines[i] << "\n";
    if (i == 0 || i > rows.size()) continue;
    const CheckRow& r = *rows[i - 1];
    (r.verdict == CheckRow::Verdict::kPass ? passed : r.verdict == CheckRow::Verdict::kWarn ? warned : failed)++;
    if (r.verdict != CheckRow::Verdict::kPass && !r.fix.empty()) {
      out << std::string(indent == std::string::npos ? 4 : indent, ' ') << "fix: " << r.fix << "\n";
    }
  }
  out << "\n"
      << fmt::format("{} failed, {} warning{}, {} passed", failed, warned, warned == 1 ? "" : "s", passed) << "\n";
  // The interface and address chosen per host, as the environment `up` gives
  // its ranks or containers, so a person sees what NCCL and Gloo will bind.
  if (!report.network.empty()) {
    out << "cluster network (the environment `up` sets):\n";
    for (const auto& [host, network] : report.network) {
      out << "  " << host << ":";
      for (const auto& [name, value] : report.EnvFor(host)) out << " " << name << "=" << value;
      out << "\n";
    }
  }
}

nlohmann::ordered_json CheckReportJson(const CheckReport& report) {
  nlohmann::ordered_json doc;
  doc["ok"] = !report.failed();
  doc["rows"] = nlohmann::ordered_json::array();
  for (const CheckRow& r : report.rows) {
    doc["rows"].push_back({{"host", r.host},
                           {"area", r.area},
                           {"item", r.item},
                           {"verdict", VerdictName(r.verdict)},
                           {"detail", r.detail},
                           {"fix", r.fix}});
  }
  doc["network"] = nlohmann::ordered_json::object();
  for (const auto& [host, network] : report.network) {
    nlohmann::ordered_json env = nlohmann::ordered_json::object();
    for (const auto& [name, value] : report.EnvFor(host)) env[name] = value;
    doc["network"][host] = {{"interface", network.interface}, {"address", network.address}, {"env", env}};
  }
  return doc;
}

}  // namespace cluster::cli
