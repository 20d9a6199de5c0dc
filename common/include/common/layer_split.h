// How a model's layers are split over pipeline stages. One definition for
// `clusterctl plan` (common/inventory/placement.h) and the engine that runs
// the split (engine/model/model_shard.h), so what plan prints is what runs.
//
// As even as possible; the remainder goes to the middle stages, from the
// next-to-last backwards, reaching at most the first stage, never the last:
// the first stage also holds the embedding and the last the LM head, the
// final norm and the logits, so the middle stages have room and time to
// spare. E.g. 30 layers over 4 stages: 7, 8, 8, 7 (0-6, 7-14, 15-22, 23-29);
// the demo model's 6 layers over 4 stages: 1, 2, 2, 1.
#pragma once

#include <vector>

#include "common/status.h"

namespace cluster {

struct LayerRange {
  int first = 0;
  int last = -1;  // inclusive
  int count() const { return last - first + 1; }
  bool operator==(const LayerRange&) const = default;
};

// InvalidArgument unless 1 <= stages <= num_layers.
StatusOr<std::vector<LayerRange>> SplitLayers(int num_layers, int stages);

}  // namespace cluster
