// Checkpoint: the weights of an HF model folder, one safetensors file or many.
//
//   model.safetensors                       a single file, or
//   model.safetensors.index.json            {"weight_map": {"<tensor>": "model-00001-of-00003.safetensors", ...}}
//   model-0000N-of-0000M.safetensors        the shards it names
//
// Every file is memory-mapped. The loader takes views of a tensor (or of a
// slice of it) in its stored dtype, which a backend copies to its device
// as they are (HostMatrix); the Read* calls convert to float32 for tools and tests. Reads check the tensor's shape against
// what the model expects, so a wrong or mismatched checkpoint fails at load
// with the file and tensor named:
//   "<dir>/model.safetensors: tensor model.layers.3.mlp.up_proj.weight:
//    expected shape [128, 64], found [64, 128]"
//
// Row and column slices serve tensor parallelism: a rank loads rows
// [begin, end) of a column-parallel weight (q/k/v/gate/up: a share of the
// output features) and columns of a row-parallel one (o/down: a share of the
// input features).
//
// Thread safety: const methods may be called from several threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/model/safetensors.h"
#include "engine/status.h"

namespace engine {

class Checkpoint {
 public:
  // Opens model.safetensors.index.json and its shards if the index exists,
  // else model.safetensors. NotFound (naming the folder) if neither exists;
  // DataLoss for a truncated or corrupt file; InvalidArgument for a bad index.
  static StatusOr<Checkpoint> Open(const std::filesystem::path& model_dir);

  bool Has(const std::string& name) const;

  // Views in the stored dtype, valid while the Checkpoint lives: the whole
  // tensor as [expected[0], the rest], rows [begin, end) of it, or columns
  // [begin, end) of a 2-D one. NotFound if absent, InvalidArgument if its
  // shape is not `expected` or the range is outside it.
  StatusOr<HostMatrix> WholeView(const std::string& name, const Shape& expected) const;
  StatusOr<HostMatrix> RowsView(const std::string& name, const Shape& expected, std::int64_t begin,
                                std::int64_t end) const;
  StatusOr<HostMatrix> ColumnsView(const std::string& name, const Shape& expected, std::int64_t begin,
                                   std::int64_t end) const;

  // The whole tensor. NotFound if absent, InvalidArgument if its shape is not `expected`.
  StatusOr<std::vector<float>> Read(const std::string& name, const Shape& expected) const;

  // Rows [begin, end) of a tensor whose full shape must be `expected` (a 1-D
  // tensor's rows are its elements).
  StatusOr<std::vector<float>> ReadRows(const std::string& name, const Shape& expected, std::int64_t begin,
                                        std::int64_t end) const;

  // Columns [begin, end) of a 2-D tensor whose full shape must be `expected`;
  // the result is [rows, end - begin].
  StatusOr<std::vector<float>> ReadColumns(const std::string& name, const Shape& expected, std::int64_t begin,
                                           std::int64_t end) const;

  // Number of tensors over all files.
  std::size_t size() const { return location_.size(); }

 private:
  struct Location {
    const SafetensorsFile* file;
    const SafetensorsTensor* tensor;
  };
  StatusOr<Location> Find(const std::string& name, const Shape& expected) const;

  std::filesystem::path dir_;
  std::string missing_label_;  // the file named when a tensor is missing
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, Location> location_;
};

}  // namespace engine
