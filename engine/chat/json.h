// JSON <-> engine::jinja::Value.
//
// ValueFromJson turns JSON text (a chat request's messages and tools, a
// tokenizer_config.json) into template values, keeping object key order as
// Python's json.loads does. ToJson is Python's json.dumps, which HF's
// `tojson` filter calls: byte for byte the same text, so prompts with tool
// schemas tokenize as they do in transformers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "engine/chat/value.h"

namespace engine::jinja {

// Parses JSON text. null -> None, true/false -> bool, integers -> int
// (kUnimplemented if outside int64), other numbers -> float, arrays -> list,
// objects -> dict in document order. Fails with kInvalidArgument on invalid
// JSON, naming the byte offset.
cluster::StatusOr<Value> ValueFromJson(std::string_view json_text);

// Python's json.dumps options.
struct JsonOptions {
  // None: one line. Otherwise each element on its own line, indented by this
  // string per level (HF passes an int n: n spaces), and item_separator
  // defaults to "," instead of ", ".
  std::optional<std::string> indent;
  bool ensure_ascii = false;  // escape every non-ASCII character as \uXXXX
  std::optional<std::string> item_separator;  // default ", " (or "," with indent)
  std::optional<std::string> key_separator;   // default ": "
  bool sort_keys = false;                     // object keys in code point order
};

// Python's json.dumps(value, **options). Undefined, namespaces and callables
// are not serializable (kInvalidArgument, as Python's TypeError).
cluster::StatusOr<std::string> ToJson(const Value& value, const JsonOptions& options = {});

}  // namespace engine::jinja
