// The state of one inventory load: the diagnostics found so far, where every
// key and value of the file is, and what relative paths resolve against.
//
// Internal to the inventory loader. One LoadContext per load, used by one
// thread; the schema readers (schema*.cc) fill it, the semantic checks
// (checks*.cc) read its locations and add to its diagnostics.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/inventory/loader.h"

namespace cluster::inventory {

// Key paths name a value the way users read it: "runtime.tensor_parallel",
// "hosts[1].gpus", "hosts[0].labels.rack". The root is "".

// The parent of a key path: "hosts[1].gpus" -> "hosts[1]" -> "hosts" -> "".
std::string_view ParentKeyPath(std::string_view path);

// Where each key and value of the file was, by key path.
class Locations {
 public:
  struct Entry {
    SourceLocation key;    // the key (for list items: the item itself)
    SourceLocation value;  // the value (for an empty value: the key)
    std::string text;      // a scalar value as written ("images/vllm.tar"); else empty
  };

  void Record(std::string path, Entry entry);
  // True when the file gave `path` explicitly.
  bool Has(std::string_view path) const;
  // The location of the value at `path`, else of its nearest recorded parent.
  SourceLocation Value(std::string_view path) const;
  // The location of the key of `path`, else of its nearest recorded parent.
  SourceLocation Key(std::string_view path) const;
  // The scalar at `path` as written, or "" when there is none.
  std::string Text(std::string_view path) const;

 private:
  const Entry* Find(std::string_view path) const;
  std::map<std::string, Entry, std::less<>> entries_;
};

class LoadContext {
 public:
  // `display_file` names the file in messages (as the user gave it);
  // `base_dir` is the absolute folder relative paths resolve against.
  LoadContext(std::string display_file, std::filesystem::path base_dir, LoadOptions options);

  const std::string& display_file() const { return display_file_; }
  const std::filesystem::path& base_dir() const { return base_dir_; }
  const LoadOptions& options() const { return options_; }
  // The runtimes runtime.kind may name: options().runtimes, else the built-in ones.
  const RuntimeDefinitions& runtimes() const;
  Locations& locations() { return locations_; }
  const Locations& locations() const { return locations_; }

  // A location in this file; line and column are 1-based, 0 when unknown.
  SourceLocation At(int line, int column) const;

  void Error(SourceLocation at, std::string key_path, std::string message, std::string hint = {});
  void Warning(SourceLocation at, std::string key_path, std::string message, std::string hint = {});
  void Add(Diagnostic diagnostic);

  // True when an error was reported at `key_path`, at a key enclosing it or
  // at a key inside it. Checks that read such a value skip it: one mistake
  // gives one message, not a cascade.
  bool Failed(std::string_view key_path) const;
  // True when an error was reported at `key_path` or at a key enclosing it
  // (not inside it).
  bool FailedAt(std::string_view key_path) const;
  // Makes Failed() true for `key_path` without a message of its own: for a
  // key whose value is in doubt because of another error (a misspelt
  // "pipeline_paralel" leaves pipeline_parallel at its default).
  void MarkFailed(std::string key_path);
  int error_count() const;

  // The diagnostics in file order (by line, then column; file-level ones
  // first); ties keep the order they were reported in.
  std::vector<Diagnostic> TakeDiagnostics();

 private:
  std::string display_file_;
  std::filesystem::path base_dir_;
  LoadOptions options_;
  Locations locations_;
  std::vector<Diagnostic> diagnostics_;
  std::vector<std::string> failed_paths_;  // from MarkFailed
};

}  // namespace cluster::inventory
