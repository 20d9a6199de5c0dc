#include "engine/scheduler/world_model.h"

#include <algorithm>
#include <charconv>
#include <string>

#include "engine/scheduler/step_codec.h"

namespace engine {

WorldModel::~WorldModel() { (void)Stop(); }

Status WorldModel::Stop() {
  if (stopped_ || control_.world_size() == 1) return Status::Ok();
  stopped_ = true;
  std::string stop = EncodeStep(StepMessage{StepMessage::Kind::kStop, {}});
  return control_.Broadcast(stop, 0);
}

StatusOr<Logits> WorldModel::Forward(const ForwardBatch& batch, KvCache& cache) {
  Submit(batch, cache);
  return Collect();
}

void WorldModel::Submit(const ForwardBatch& batch, KvCache& cache) {
  if (stopped_) {
    in_flight_.push_back(cluster::FailedPreconditionError("world: the followers were told to stop"));
    return;
  }
  if (control_.world_size() > 1) {
    std::string step = EncodeStep(StepMessage{StepMessage::Kind::kForward, batch});
    if (Status sent = control_.Broadcast(step, 0); !sent.ok()) {
      in_flight_.push_back(sent);
      return;
    }
  }
  in_flight_.push_back(shard_.Forward(batch, cache));
}

StatusOr<Logits> WorldModel::Collect() {
  StatusOr<Logits> mine = std::move(in_flight_.front());
  in_flight_.pop_front();
  if (logits_from_ == 0) return mine;
  // Receive the last stage's answer even when this shard failed, so the
  // channel stays in step with the followers.
  CLUSTER_ASSIGN_OR_RETURN(std::string answer, control_.Receive(logits_from_));
  CLUSTER_ASSIGN_OR_RETURN(StatusOr<Logits> theirs, DecodeLogits(answer));
  if (!mine.ok()) return mine.status();
  return theirs;
}

Status RunFollower(LanguageModel& shard, KvCache& cache, ControlChannel& control, bool returns_logits) {
  while (true) {
    std::string message;
    CLUSTER_RETURN_IF_ERROR(control.Broadcast(message, 0));
    CLUSTER_ASSIGN_OR_RETURN(StepMessage step, DecodeStep(message));
    if (step.kind == StepMessage::Kind::kStop) return Status::Ok();
    StatusOr<Logits> logits = shard.Forward(step.batch, cache);
    if (returns_logits) {
      CLUSTER_RETURN_IF_ERROR(control.Send(0, EncodeLogits(logits)));
    } else if (!logits.ok() && logits.status().code() != cluster::StatusCode::kInvalidArgument) {
      // A step every rank refuses alike (InvalidArgument) leaves the world in
      // step; anything else (a lost peer, a device error) ends this rank.
      return logits.status();
    }
  }
}

StatusOr<std::int64_t> AgreeOnKvBlocks(ControlChannel& control, std::int64_t mine) {
  if (control.world_size() == 1) return mine;
  std::string answer;
  if (control.rank() == 0) {
    std::int64_t least = mine;
    for (int r = 1; r < control.world_size(); ++r) {
      CLUSTER_ASSIGN_OR_RETURN(std::string theirs, control.Receive(r));
      std::int64_t blocks = 0;
      const auto [end, ec] = std::from_chars(theirs.data(), theirs.data() + theirs.size(), blocks);
      if (ec != std::errc() || end != theirs.data() + theirs.size() || blocks < 1) {
        return cluster::InvalidArgumentError("rank " + std::to_string(r) + " proposed no valid KV cache size");
      }
      least = std::min(least, blocks);
    }
    answer = std::to_string(least);
  } else {
    CLUSTER_RETURN_IF_ERROR(control.Send(0, std::to_string(mine)));
  }
  CLUSTER_RETURN_IF_ERROR(control.Broadcast(answer, 0));
  std::int64_t agreed = 0;
  const auto [end, ec] = std::from_chars(answer.data(), answer.data() + answer.size(), agreed);
  if (ec != std::errc() || end != answer.data() + answer.size() || agreed < 1) {
    return cluster::InvalidArgumentError("rank 0 sent no valid KV cache size");
  }
  return agreed;
}

}  // namespace engine
