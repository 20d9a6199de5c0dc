// Scheduler metrics: histogram buckets and recording.
//
// Bucket bounds are fixed (seconds) so dashboards can compare runs:
//   step latency:         1, 2.5, 5, 10, 25, 50, 100, 250, 500 ms, 1, 2.5, 5 s
//   time to first token:  10, 25, 50, 100, 250, 500 ms, 1, 2.5, 5, 10, 30, 60 s
// Everything else in SchedulerMetrics is a plain counter or gauge kept by
// ContinuousBatch.
//
// Thread safety: none (values; the Scheduler copies them under its lock).
#pragma once

#include <vector>

#include "engine/scheduler/scheduler.h"

namespace engine {

// An empty histogram over `upper_bounds` (ascending).
Histogram MakeHistogram(std::vector<double> upper_bounds);
Histogram MakeStepLatencyHistogram();
Histogram MakeTimeToFirstTokenHistogram();

// Counts one observation of `seconds` in the first bucket whose bound is >= it.
void Observe(Histogram& histogram, double seconds);

}  // namespace engine
