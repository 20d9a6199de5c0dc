#include "engine/model/safetensors_writer.h"

#include <cstring>
#include <set>

#include "common/files.h"
#include "engine/ops/float16.h"
#include "engine/model/model_json.h"

namespace engine {

Status WriteSafetensors(const std::filesystem::path& path, const std::vector<SafetensorsEntry>& entries) {
  model_json::Json header = model_json::Json::object();
  std::string data;
  std::set<std::string> names;
  for (const SafetensorsEntry& e : entries) {
    const std::string where = path.string() + ": tensor " + e.name;
    if (!names.insert(e.name).second) return cluster::InvalidArgumentError(where + ": written twice");
    if (static_cast<std::int64_t>(e.values.size()) != NumElements(e.shape)) {
      return cluster::InvalidArgumentError(where + ": " + std::to_string(e.values.size()) + " values for shape " +
                                           ShapeToString(e.shape));
    }
    if (e.dtype != DType::kF32 && e.dtype != DType::kF16 && e.dtype != DType::kBF16) {
      return cluster::InvalidArgumentError(where + ": dtype " + std::string(DTypeName(e.dtype)) +
                                           " cannot be written (F32, F16, BF16)");
    }
    const std::size_t begin = data.size();
    for (float v : e.values) {
      if (e.dtype == DType::kF32) {
        char bytes[4];
        std::memcpy(bytes, &v, 4);
        data.append(bytes, 4);
      } else {
        const std::uint16_t bits = e.dtype == DType::kF16 ? FloatToHalf(v) : FloatToBFloat16(v);
        char bytes[2];
        std::memcpy(bytes, &bits, 2);
        data.append(bytes, 2);
      }
    }
    header[e.name] = {{"dtype", std::string(DTypeName(e.dtype))},
                      {"shape", e.shape},
                      {"data_offsets", {begin, data.size()}}};
  }
  std::string header_text = header.dump();
  while (header_text.size() % 8 != 0) header_text.push_back(' ');
  const std::uint64_t header_size = header_text.size();
  std::string file(8, '\0');
  std::memcpy(file.data(), &header_size, 8);  // little-endian host (checked in safetensors.cc)
  file += header_text;
  file += data;
  return cluster::WriteFileAtomically(path, file);
}

}  // namespace engine
