#include "engine/model/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>

#include "engine/ops/host_convert.h"
#include "engine/model/model_json.h"

namespace engine {
namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; this reader assumes a little-endian host");

using cluster::DataLossError;
using cluster::InvalidArgumentError;

// The safetensors reference implementation refuses headers over 100 MB.
constexpr std::uint64_t kMaxHeaderBytes = 100ull << 20;

// Bytes per element of every dtype the format defines (0: unknown).
std::uint64_t ElementBytes(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL" || dtype == "F8_E4M3" || dtype == "F8_E5M2") return 1;
  return 0;
}

std::optional<DType> ReadableDType(const std::string& dtype) {
  if (dtype == "F32") return DType::kF32;
  if (dtype == "F16") return DType::kF16;
  if (dtype == "BF16") return DType::kBF16;
  return std::nullopt;
}

// Converts `count` elements starting at `src` to float.
}  // namespace

StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::filesystem::path& path) {
  const std::string label = path.string();
  const int fd = ::open(label.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return cluster::NotFoundError(label + ": no such file");
    return cluster::UnavailableError(label + ": cannot open: " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return cluster::UnavailableError(label + ": cannot stat: " + std::strerror(err));
  }
  const auto file_size = static_cast<std::uint64_t>(st.st_size);
  if (file_size < 8) {
    ::close(fd);
    return DataLossError(label + ": file is " + std::to_string(file_size) +
                         " bytes, too short for a safetensors header (truncated?)");
  }
  void* map = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);  // the mapping keeps the file open
  if (map == MAP_FAILED) return cluster::UnavailableError(label + ": cannot map: " + std::strerror(errno));

  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = label;
  file->map_ = static_cast<const unsigned char*>(map);
  file->map_size_ = file_size;

  std::uint64_t header_size = 0;
  std::memcpy(&header_size, file->map_, 8);
  if (header_size > kMaxHeaderBytes) {
    return DataLossError(label + ": header size " + std::to_string(header_size) +
                         " bytes is implausible; not a safetensors file or corrupt");
  }
  if (8 + header_size > file_size) {
    return DataLossError(label + ": header says " + std::to_string(header_size) + " bytes but the file has " +
                         std::to_string(file_size) + " bytes (truncated?)");
  }
  const std::string_view header(reinterpret_cast<const char*>(file->map_ + 8), header_size);
  auto parsed = model_json::Parse(header, label);
  if (!parsed.ok()) return DataLossError(label + ": header is not valid JSON (corrupt file?)");
  const model_json::Json& j = *parsed;
  if (!j.is_object()) return DataLossError(label + ": header is not a JSON object (corrupt file?)");

  file->data_ = file->map_ + 8 + header_size;
  const std::uint64_t data_size = file_size - 8 - header_size;
  for (const auto& [name, entry] : j.items()) {
    if (name == "__metadata__") continue;
    const std::string where = label + ": tensor " + name;
    if (!entry.is_object() || !entry.contains("dtype") || !entry["dtype"].is_string() || !entry.contains("shape") ||
        !entry["shape"].is_array() || !entry.contains("data_offsets") || !entry["data_offsets"].is_array() ||
        entry["data_offsets"].size() != 2) {
      return DataLossError(where + ": header entry needs dtype, shape and data_offsets [begin, end]");
    }
    SafetensorsTensor t;
    t.name = name;
    t.dtype_name = entry["dtype"].get<std::string>();
    t.dtype = ReadableDType(t.dtype_name);
    for (const auto& d : entry["shape"]) {
      if (!d.is_number_unsigned()) return DataLossError(where + ": shape holds a non-integer or negative dimension");
      t.shape.push_back(d.get<std::int64_t>());
    }
    const auto& offsets = entry["data_offsets"];
    if (!offsets[0].is_number_unsigned() || !offsets[1].is_number_unsigned()) {
      return DataLossError(where + ": data_offsets must be two non-negative integers");
    }
    t.begin = offsets[0].get<std::uint64_t>();
    t.end = offsets[1].get<std::uint64_t>();
    if (t.begin > t.end) return DataLossError(where + ": data_offsets begin after they end");
    if (t.end > data_size) {
      return DataLossError(where + ": data ends at byte " + std::to_string(t.end) + " of the data section but the file holds " +
                           std::to_string(data_size) + " bytes of data (truncated?)");
    }
    const std::uint64_t element_bytes = ElementBytes(t.dtype_name);
    if (element_bytes != 0 &&
        t.end - t.begin != static_cast<std::uint64_t>(NumElements(t.shape)) * element_bytes) {
      return DataLossError(where + ": " + std::to_string(t.end - t.begin) + " bytes of data for " + t.dtype_name +
                           " shape " + ShapeToString(t.shape) + " (expected " +
                           std::to_string(NumElements(t.shape) * static_cast<std::int64_t>(element_bytes)) + ")");
    }
    file->tensors_.emplace(name, std::move(t));
  }
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ != nullptr) ::munmap(const_cast<unsigned char*>(map_), map_size_);
}

const SafetensorsTensor* SafetensorsFile::Find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

StatusOr<HostMatrix> SafetensorsFile::RowsView(const SafetensorsTensor& t, std::int64_t row_begin,
                                               std::int64_t row_end) const {
  const std::string where = path_ + ": tensor " + t.name;
  if (!t.dtype) {
    return cluster::UnimplementedError(where + ": dtype " + t.dtype_name +
                                       " is not supported (supported: F32, F16, BF16)");
  }
  const std::int64_t rows = t.shape.empty() ? 1 : t.shape[0];
  if (row_begin < 0 || row_begin > row_end || row_end > rows) {
    return InvalidArgumentError(where + ": rows [" + std::to_string(row_begin) + ", " + std::to_string(row_end) +
                                ") are outside shape " + ShapeToString(t.shape));
  }
  const std::int64_t row_size = rows == 0 ? 0 : NumElements(t.shape) / rows;
  const std::size_t element_bytes = DTypeSize(*t.dtype);
  const unsigned char* src = data_ + t.begin + static_cast<std::size_t>(row_begin * row_size) * element_bytes;
  return HostMatrix{src, *t.dtype, row_end - row_begin, row_size, row_size};
}

StatusOr<HostMatrix> SafetensorsFile::ColumnsView(const SafetensorsTensor& t, std::int64_t col_begin,
                                                  std::int64_t col_end) const {
  const std::string where = path_ + ": tensor " + t.name;
  if (!t.dtype) {
    return cluster::UnimplementedError(where + ": dtype " + t.dtype_name +
                                       " is not supported (supported: F32, F16, BF16)");
  }
  if (t.shape.size() != 2) {
    return InvalidArgumentError(where + ": a column slice needs a 2-D tensor, found shape " +
                                ShapeToString(t.shape));
  }
  const std::int64_t rows = t.shape[0], cols = t.shape[1];
  if (col_begin < 0 || col_begin > col_end || col_end > cols) {
    return InvalidArgumentError(where + ": columns [" + std::to_string(col_begin) + ", " + std::to_string(col_end) +
                                ") are outside shape " + ShapeToString(t.shape));
  }
  const unsigned char* src = data_ + t.begin + static_cast<std::size_t>(col_begin) * DTypeSize(*t.dtype);
  return HostMatrix{src, *t.dtype, rows, col_end - col_begin, cols};
}

namespace {

std::vector<float> ToFloats(const HostMatrix& m) {
  std::vector<float> out(static_cast<std::size_t>(m.num_elements()));
  ConvertHostMatrix(m, DType::kF32, out.data());
  return out;
}

}  // namespace

StatusOr<std::vector<float>> SafetensorsFile::ReadRows(const SafetensorsTensor& t, std::int64_t row_begin,
                                                       std::int64_t row_end) const {
  CLUSTER_ASSIGN_OR_RETURN(HostMatrix m, RowsView(t, row_begin, row_end));
  return ToFloats(m);
}

StatusOr<std::vector<float>> SafetensorsFile::ReadColumns(const SafetensorsTensor& t, std::int64_t col_begin,
                                                          std::int64_t col_end) const {
  CLUSTER_ASSIGN_OR_RETURN(HostMatrix m, ColumnsView(t, col_begin, col_end));
  return ToFloats(m);
}

}  // namespace engine
