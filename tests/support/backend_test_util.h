// Test helpers for code that runs on a Backend: tensors from host floats and
// back, index tensors, and a step's index inputs from an AttentionBatch.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "engine/ops/backend.h"
#include "engine/ops/host_convert.h"

namespace engine::testing {

// A tensor of `shape` and `dtype` holding `values` (converted from float).
inline Tensor Make(Backend& b, const std::vector<float>& values, const Shape& shape, DType dtype = DType::kF32) {
  auto t = b.Allocate(shape, dtype);
  REQUIRE(t.ok());
  const auto n = static_cast<std::int64_t>(values.size());
  auto copied = b.CopyFromHost(*t, HostMatrix{values.data(), DType::kF32, 1, n, n});
  INFO(copied.status().ToString());
  REQUIRE(copied.ok());
  return *t;
}

inline Tensor MakeIds(Backend& b, const std::vector<std::int32_t>& ids) {
  auto t = b.Allocate({static_cast<std::int64_t>(ids.size())}, DType::kI32);
  REQUIRE(t.ok());
  const auto n = static_cast<std::int64_t>(ids.size());
  REQUIRE(b.CopyFromHost(*t, HostMatrix{ids.data(), DType::kI32, 1, n, n}).ok());
  return *t;
}

inline Tensor Zeros(Backend& b, const Shape& shape, DType dtype = DType::kF32) {
  auto t = b.Allocate(shape, dtype);
  REQUIRE(t.ok());
  return *t;
}

// The tensor's values as floats (any float dtype).
inline std::vector<float> Values(Backend& b, const Tensor& t) {
  std::vector<unsigned char> raw(t.num_bytes());
  REQUIRE(b.CopyToHost(raw.data(), t).ok());
  std::vector<float> out(static_cast<std::size_t>(t.num_elements()));
  ConvertHostMatrix(HostMatrix{raw.data(), t.dtype(), 1, t.num_elements(), t.num_elements()}, DType::kF32, out.data());
  return out;
}

inline std::vector<std::int32_t> Ids(Backend& b, const Tensor& t) {
  std::vector<std::int32_t> out(static_cast<std::size_t>(t.num_elements()));
  REQUIRE(b.CopyToHost(out.data(), t).ok());
  return out;
}

// Step buffers large enough for the small steps of tests.
inline StepBuffers TestStepBuffers(Backend& b) {
  StepLimits limits;
  limits.max_tokens = 4096;
  limits.max_seqs = 64;
  limits.max_blocks_per_seq = 4096;
  limits.max_logit_rows = 64;
  auto buffers = StepBuffers::Create(b, limits);
  REQUIRE(buffers.ok());
  return std::move(*buffers);
}

// Uploads `batch` (token ids all 0 unless given; no logit rows) against a cache of `num_blocks`.
inline StepTensors UploadStep(StepBuffers& buffers, const AttentionBatch& batch, std::int64_t num_blocks,
                              std::vector<std::int32_t> token_ids = {}) {
  if (token_ids.empty()) token_ids.assign(static_cast<std::size_t>(batch.num_tokens()), 0);
  auto step = buffers.Upload(token_ids, batch, {}, num_blocks);
  INFO(step.status().ToString());
  REQUIRE(step.ok());
  return *step;
}

}  // namespace engine::testing
