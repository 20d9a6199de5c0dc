#include "cli/transfer/docker_archive.h"

#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace cluster::cli {
namespace {

std::uint64_t ParseOctal(const char* field, size_t width) {
  std::uint64_t v = 0;
  for (size_t i = 0; i < width && field[i]; ++i) {
    if (field[i] == ' ') continue;
    if (field[i] < '0' || field[i] > '7') break;
    v = v * 8 + static_cast<std::uint64_t>(field[i] - '0');
  }
  return v;
}

Status NotAnArchive(const std::filesystem::path& tarball, const std::string& why) {
  return InvalidArgumentError(fmt::format("{}: not a `docker save` archive ({}); make it with "
                                          "`docker save IMAGE -o FILE`", tarball.string(), why));
}

}  // namespace

StatusOr<DockerArchive> ReadDockerArchive(const std::filesystem::path& tarball) {
  std::ifstream in(tarball, std::ios::binary);
  if (!in) return NotFoundError(fmt::format("{}: cannot open", tarball.string()));
  std::string manifest_text;
  bool found = false;
  char header[512];
  while (!found && in.read(header, sizeof header)) {
    if (header[0] == '\0') break;  // end-of-archive blocks
    std::string name(header, strnlen(header, 100));
    const std::string prefix(header + 345, strnlen(header + 345, 155));
    if (!prefix.empty()) name = prefix + "/" + name;
    const std::uint64_t size = ParseOctal(header + 124, 12);
    const std::uint64_t padded = (size + 511) / 512 * 512;
    if (name == "manifest.json" || name == "./manifest.json") {
      if (size > (16 << 20)) return NotAnArchive(tarball, "manifest.json is too large");
      manifest_text.resize(size);
      if (!in.read(manifest_text.data(), static_cast<std::streamsize>(size))) break;
      found = true;
    } else {
      in.seekg(static_cast<std::streamoff>(padded), std::ios::cur);
    }
  }
  if (!found) return NotAnArchive(tarball, "no manifest.json");
  try {
    auto json = nlohmann::json::parse(manifest_text);
    if (!json.is_array() || json.empty() || !json[0].contains("Config")) {
      return NotAnArchive(tarball, "manifest.json has no Config");
    }
    // "Config" is "<hex>.json" (classic) or "blobs/sha256/<hex>" (OCI layout, Docker 25+).
    std::string config = json[0]["Config"].get<std::string>();
    std::string hex = std::filesystem::path(config).filename().string();
    if (hex.size() > 5 && hex.ends_with(".json")) hex.resize(hex.size() - 5);
    if (hex.size() != 64) return NotAnArchive(tarball, fmt::format("unexpected Config '{}'", config));
    DockerArchive archive;
    archive.image_id = "sha256:" + hex;
    if (json[0].contains("RepoTags") && json[0]["RepoTags"].is_array()) {
      for (const auto& tag : json[0]["RepoTags"]) archive.repo_tags.push_back(tag.get<std::string>());
    }
    return archive;
  } catch (const nlohmann::json::exception& e) {
    return NotAnArchive(tarball, fmt::format("manifest.json: {}", e.what()));
  }
}

}  // namespace cluster::cli
