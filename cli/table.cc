#include "cli/table.h"

#include <algorithm>
#include <cassert>

#include "common/untrusted_text.h"

namespace cluster::cli {
namespace {
size_t DisplayWidth(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;  // count code points, not continuation bytes
  return n;
}
}  // namespace

Table::Table(std::vector<std::string> headers)
    : headers_(std::move(headers)), right_(headers_.size(), false) {}

void Table::AlignRight(size_t index) { right_.at(index) = true; }

void Table::AddRow(std::vector<std::string> row) {
  assert(row.size() == headers_.size());
  row.resize(headers_.size());
  // Cells hold what hosts report (GPU names, errors): never terminal escapes.
  for (std::string& cell : row) cell = PrintableText(cell);
  rows_.push_back(std::move(row));
}

std::string Table::Render() const {
  std::vector<size_t> width(headers_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], DisplayWidth(row[i]));
  };
  measure(headers_);
  for (const auto& r : rows_) measure(r);

  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      size_t pad = width[i] - DisplayWidth(row[i]);
      if (i > 0) line += "  ";
      if (right_[i]) line.append(pad, ' ');
      line += row[i];
      if (!right_[i] && i + 1 < row.size()) line.append(pad, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  };
  emit(headers_);
  for (const auto& r : rows_) emit(r);
  return out;
}

}  // namespace cluster::cli
