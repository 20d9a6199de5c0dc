// The `artifacts` section: container image tarballs and model folders that
// `push` copies to every host.
#include <fmt/format.h>

#include "schema.h"

namespace cluster::inventory {
namespace {

Image ReadImage(const Field& item, LoadContext* ctx) {
  Image image;
  image.location = item.value_at;
  auto entry = ReadMapping(item, ctx, {"name", "file"}, "an image: a mapping with name and file");
  if (!entry) return image;
  if (auto f = entry->Require("name", "add name: with the image reference, e.g. vllm/vllm-openai:v0.8.5")) {
    constexpr std::string_view kExpected = "an image reference such as vllm/vllm-openai:v0.8.5";
    if (auto name = ReadString(*f, ctx, kExpected)) {
      if (name->find_first_of(" \t\n") != std::string::npos) {
        ReportMismatch(*f, ctx, kExpected, "it contains a space");
      } else {
        image.name = *name;
      }
    }
  }
  if (auto f = entry->Require("file", "add file: with the tarball made by docker save")) {
    if (auto file = ReadLocalPath(*f, ctx)) image.file = *file;
  }
  return image;
}

Model ReadModel(const Field& item, LoadContext* ctx) {
  Model model;
  model.location = item.value_at;
  auto entry = ReadMapping(item, ctx, {"name", "source", "path", "config"},
                           "a model: a mapping with name and source");
  if (!entry) return model;
  if (auto f = entry->Require("name", "add name: NAME; runtime.model refers to it")) {
    constexpr std::string_view kExpected = "a model name";
    if (auto name = ReadString(*f, ctx, kExpected)) {
      if (name->find_first_of(" \t\n") != std::string::npos) {
        ReportMismatch(*f, ctx, kExpected, "it contains a space");
      } else {
        model.name = *name;
      }
    }
  }
  if (auto f = entry->Require("source", "add source: with the local folder of the model in HF format")) {
    if (auto source = ReadLocalPath(*f, ctx)) model.source = *source;
  }
  if (auto f = entry->Get("path")) {
    if (auto path = ReadHostPath(*f, ctx)) model.path = *path;
  }
  if (model.path.empty()) model.path = model.source;  // default: the same absolute path as on this machine
  if (auto f = entry->Get("config")) model.config = ReadString(*f, ctx, "the name of a bundled model description");
  return model;
}

}  // namespace

void ReadArtifacts(const Mapping& root, Inventory* inventory, LoadContext* ctx) {
  auto field = root.Get("artifacts");
  if (!field) return;
  auto artifacts = ReadMapping(*field, ctx, {"images", "models"}, "a mapping with images and models");
  if (!artifacts) return;
  if (auto f = artifacts->Get("images")) {
    if (auto items = ReadList(*f, ctx, "a list of images")) {
      for (const Field& item : *items) inventory->images.push_back(ReadImage(item, ctx));
    }
  }
  if (auto f = artifacts->Get("models")) {
    if (auto items = ReadList(*f, ctx, "a list of models")) {
      for (const Field& item : *items) inventory->models.push_back(ReadModel(item, ctx));
    }
  }
}

}  // namespace cluster::inventory
