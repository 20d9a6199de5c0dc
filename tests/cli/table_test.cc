#include "cli/table.h"

#include <catch2/catch.hpp>

using cluster::cli::Table;

TEST_CASE("A table aligns columns under their headers and right-aligns numbers") {
  Table t({"HOST", "GPUS", "NOTE"});
  t.AlignRight(1);
  t.AddRow({"gpu-node-1", "4", "head"});
  t.AddRow({"n2", "16", ""});
  CHECK(t.Render() ==
        "HOST        GPUS  NOTE\n"
        "gpu-node-1     4  head\n"
        "n2            16\n");
}

TEST_CASE("Column widths count characters, not UTF-8 bytes") {
  Table t({"A", "B"});
  t.AddRow({"µ", "x"});
  CHECK(t.Render() == "A  B\nµ  x\n");
}
