// Step builder: turns a StepPlan into the model's ForwardBatch.
//
// The chunks are concatenated in plan order: token i of the batch is token
// `start + j` of its chunk's sequence, at position start + j. Each scheduled
// sequence contributes its block table once. A logit row is requested for
// the last token of every chunk that samples, in chunk order, so logits row
// r belongs to SampledChunks(plan)[r]; its values come back only if the
// sequence's sampling needs them (NeedsLogitValues).
//
// Thread safety: pure functions.
#pragma once

#include <vector>

#include "engine/model/language_model.h"
#include "engine/scheduler/scheduler_policy.h"

namespace engine {

// REQUIRES: every chunk's sequence has blocks covering start + count tokens.
ForwardBatch BuildForwardBatch(const StepPlan& plan, int block_size);

// The chunks that sample, in logit-row order.
std::vector<const ScheduledChunk*> SampledChunks(const StepPlan& plan);

}  // namespace engine
