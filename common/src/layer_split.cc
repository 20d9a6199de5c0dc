#include "common/layer_split.h"

#include <string>

namespace cluster {

StatusOr<std::vector<LayerRange>> SplitLayers(int num_layers, int stages) {
  if (stages < 1 || stages > num_layers)
    return InvalidArgumentError("cannot split " + std::to_string(num_layers) + " layers into " +
                                std::to_string(stages) +
                                " pipeline stages: each stage needs at least one layer");
  std::vector<int> counts(static_cast<size_t>(stages), num_layers / stages);
  // The remainder is below `stages`, so it reaches at most stage 0, never the last.
  int extra = num_layers % stages;
  for (int s = stages - 2; extra > 0; --s, --extra) ++counts[static_cast<size_t>(s)];
  std::vector<LayerRange> ranges;
  int first = 0;
  for (int count : counts) {
    ranges.push_back({first, first + count - 1});
    first += count;
  }
  return ranges;
}

}  // namespace cluster
