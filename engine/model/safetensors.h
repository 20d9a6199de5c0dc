// SafetensorsFile: one memory-mapped .safetensors file.
//
// The format (huggingface/safetensors):
//   bytes [0, 8)         N, a little-endian u64: the header size
//   bytes [8, 8 + N)     a JSON object: {"<tensor>": {"dtype": "BF16",
//                        "shape": [rows, cols], "data_offsets": [begin, end]},
//                        "__metadata__": {...} (optional)}
//   bytes [8 + N, ...)   the data; a tensor's bytes are [begin, end) of this
//                        section, row-major, little-endian
// Open() maps the file read-only and checks the header: valid JSON, every
// tensor's byte range inside the file and of the size its dtype and shape
// imply. Reading a tensor (or a slice of one) converts just those bytes to
// float32: F32, F16 and BF16 are supported; other dtypes are listed but fail
// to read. Nothing is read until asked, so a tensor-parallel rank that loads
// its slice of every weight touches only its share of the pages.
//
// Errors name the file and the tensor: "<path>: tensor <name>: ...".
// Truncated or corrupt files give DataLoss.
//
// Thread safety: const methods may be called from several threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/status.h"
#include "engine/tensor.h"

namespace engine {

struct SafetensorsTensor {
  std::string name;
  std::string dtype_name;      // as written: "F32", "BF16", "I64", ...
  std::optional<DType> dtype;  // nullopt if this engine cannot read the dtype
  Shape shape;
  std::uint64_t begin = 0;  // byte offsets within the data section
  std::uint64_t end = 0;
};

class SafetensorsFile {
 public:
  // Maps and validates `path`. NotFound if it does not exist, DataLoss if it is
  // truncated or its header is corrupt.
  static StatusOr<std::unique_ptr<SafetensorsFile>> Open(const std::filesystem::path& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  // The path as given to Open, for messages.
  const std::string& path() const { return path_; }

  // The tensor's description, or nullptr if the file has no such tensor.
  const SafetensorsTensor* Find(const std::string& name) const;
  const std::map<std::string, SafetensorsTensor>& tensors() const { return tensors_; }

  // Rows [row_begin, row_end) of the tensor in its stored dtype, as a view
  // into the mapped file (valid while this file lives), where a row is the
  // tensor seen as [shape[0], everything else] (a 1-D tensor's rows are its
  // elements). InvalidArgument if the range is outside [0, shape[0]),
  // Unimplemented for an unreadable dtype.
  StatusOr<HostMatrix> RowsView(const SafetensorsTensor& tensor, std::int64_t row_begin, std::int64_t row_end) const;

  // Columns [col_begin, col_end) of a 2-D tensor [rows, cols] in its stored
  // dtype, as a strided view into the mapped file.
  StatusOr<HostMatrix> ColumnsView(const SafetensorsTensor& tensor, std::int64_t col_begin,
                                   std::int64_t col_end) const;

  // Elements [row_begin * row_size, row_end * row_size) as float32, where a
  // row is the tensor seen as [shape[0], everything else] (a 1-D tensor's rows
  // are its elements). InvalidArgument if the range is outside [0, shape[0]),
  // Unimplemented for an unreadable dtype.
  StatusOr<std::vector<float>> ReadRows(const SafetensorsTensor& tensor, std::int64_t row_begin,
                                        std::int64_t row_end) const;

  // Columns [col_begin, col_end) of a 2-D tensor [rows, cols], as a
  // [rows, col_end - col_begin] float32 array.
  StatusOr<std::vector<float>> ReadColumns(const SafetensorsTensor& tensor, std::int64_t col_begin,
                                           std::int64_t col_end) const;

 private:
  SafetensorsFile() = default;
  std::string path_;
  const unsigned char* map_ = nullptr;  // the whole file
  std::size_t map_size_ = 0;
  const unsigned char* data_ = nullptr;  // the data section
  std::map<std::string, SafetensorsTensor> tensors_;
};

}  // namespace engine
