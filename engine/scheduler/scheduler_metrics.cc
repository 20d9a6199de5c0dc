#include "engine/scheduler/scheduler_metrics.h"

#include <algorithm>

namespace engine {

Histogram MakeHistogram(std::vector<double> upper_bounds) {
  Histogram h;
  h.counts.assign(upper_bounds.size() + 1, 0);
  h.upper_bounds = std::move(upper_bounds);
  return h;
}

Histogram MakeStepLatencyHistogram() {
  return MakeHistogram({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5});
}

Histogram MakeTimeToFirstTokenHistogram() {
  return MakeHistogram({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60});
}

void Observe(Histogram& histogram, double seconds) {
  const auto bucket = std::lower_bound(histogram.upper_bounds.begin(), histogram.upper_bounds.end(), seconds) -
                      histogram.upper_bounds.begin();
  ++histogram.counts[static_cast<std::size_t>(bucket)];
  ++histogram.count;
  histogram.sum += seconds;
}

}  // namespace engine
