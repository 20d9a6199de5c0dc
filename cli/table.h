// A plain-text table for human output: left-aligned columns separated by two
// spaces, a header row, numbers right-aligned when asked.
#pragma once

#include <string>
#include <vector>

namespace cluster::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> headers);
  // Marks column `index` as right-aligned (for numbers).
  void AlignRight(size_t index);
  // REQUIRES: row.size() == number of headers. Cells are made printable
  // (untrusted_text.h): control characters show as \xHH.
  void AddRow(std::vector<std::string> row);
  // Renders the table, one line per row, each ending in '\n'. Column widths
  // count UTF-8 code points, not bytes.
  std::string Render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace cluster::cli
