// Typed reading of a yaml-cpp tree, reporting every type mismatch as a
// Diagnostic with the value's key path and 1-based position.
//
// Internal to the inventory loader. Each reader either returns the value or
// reports "KEY: expected WHAT, found WHAT" to the LoadContext and returns
// nullopt; none throws (yaml-cpp's node accessors used here do not throw on
// a tree that parsed).
//
// Types follow YAML: a quoted "4" is a string, not a number. Where a number
// is expected and a quoted one is found, the hint says to drop the quotes.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "load_context.h"

namespace cluster::inventory {

// One value of the tree and where it is.
struct Field {
  std::string path;        // key path, e.g. "hosts[1].gpus"
  std::string name;        // for mapping entries: the key ("gpus"); else empty
  YAML::Node value;
  SourceLocation key_at;   // the key; for list items and the root: the value
  SourceLocation value_at; // the value; for an empty value: the key
};

// The root of a parsed document as a Field with path "".
Field RootField(const YAML::Node& root, const LoadContext& ctx);

// Records `field` in ctx->locations() under its key path.
void Record(const Field& field, LoadContext* ctx);

// How a value reads in "found ..." text: "nothing", "a list", "a mapping",
// 70000 (a plain number), "four" (anything else, quoted, cut at 60 characters).
std::string Describe(const YAML::Node& value);

// The entries of a mapping in file order, with key paths "PARENT.KEY".
// Reports keys given twice (the first one counts) and keys that are not
// plain scalars; those are left out. REQUIRES: field.value is a mapping or null.
std::vector<Field> MappingEntries(const Field& field, LoadContext* ctx);

// A mapping whose keys form a fixed schema.
class Mapping {
 public:
  // Reads the entries of `field` (which must be a mapping or null), reports
  // unknown keys with the nearest of `known` as a hint, and records every
  // entry in ctx->locations().
  Mapping(Field field, LoadContext* ctx, const std::vector<std::string_view>& known);

  const Field& field() const { return field_; }
  // The entry for `key`, or nullopt when the file does not give it.
  std::optional<Field> Get(std::string_view key) const;
  // Like Get; when absent, reports "required key is missing" at the mapping
  // itself (the key has no position), with `hint` saying what to add.
  std::optional<Field> Require(std::string_view key, std::string_view hint) const;

 private:
  Field field_;
  std::vector<Field> entries_;
  LoadContext* ctx_;
};

// The mapping at `field` (null reads as empty), or nullopt after reporting
// "expected `expected`, found ...". `known` as for Mapping.
std::optional<Mapping> ReadMapping(const Field& field, LoadContext* ctx,
                                   const std::vector<std::string_view>& known, std::string_view expected);

// The items of the list at `field` (null reads as empty), paths "PATH[i]",
// each recorded in ctx->locations(); nullopt after reporting a non-list.
std::optional<std::vector<Field>> ReadList(const Field& field, LoadContext* ctx, std::string_view expected);

// A non-empty scalar, as text. `expected` describes it in the message.
std::optional<std::string> ReadString(const Field& field, LoadContext* ctx,
                                      std::string_view expected = "a string");

// A whole number in [min, max]. `expected` replaces the default description
// ("a whole number >= 1", "a whole number from 1 to 65535") in the message.
std::optional<std::int64_t> ReadInteger(const Field& field, LoadContext* ctx, std::int64_t min,
                                        std::int64_t max = std::numeric_limits<std::int64_t>::max(),
                                        std::string_view expected = {});

// A finite number (whole or decimal), for fractions such as 0.9.
std::optional<double> ReadNumber(const Field& field, LoadContext* ctx, std::string_view expected);

// true or false (also True, TRUE, False, FALSE: YAML 1.2's booleans; yes,
// no, on and off are not, and the hint says which one was meant).
std::optional<bool> ReadBool(const Field& field, LoadContext* ctx);

// One of `words`, exactly; otherwise the message lists them and the hint
// suggests the nearest one, or the word that `aliases` maps the value to
// (e.g. "fp16" -> "float16"). Returns the index into `words`.
std::optional<std::size_t> ReadWord(const Field& field, LoadContext* ctx,
                                    const std::vector<std::string_view>& words,
                                    const std::vector<std::pair<std::string_view, std::string_view>>&
                                        aliases = {});

// A mapping of non-empty keys to scalar values (labels, env). Each entry is
// recorded in ctx->locations().
std::optional<std::map<std::string, std::string>> ReadStringMap(const Field& field, LoadContext* ctx);

// A list of scalars (may be empty strings: they are arguments).
std::optional<std::vector<std::string>> ReadStringList(const Field& field, LoadContext* ctx);

// A path on this machine: relative paths resolve against ctx->base_dir(),
// "~/" against $HOME.
std::optional<std::filesystem::path> ReadLocalPath(const Field& field, LoadContext* ctx);

// A path on the hosts: must be absolute ("~" would mean another $HOME there).
std::optional<std::filesystem::path> ReadHostPath(const Field& field, LoadContext* ctx);

// Reports "expected `expected`, found DESCRIPTION" at the field's value.
void ReportMismatch(const Field& field, LoadContext* ctx, std::string_view expected,
                    std::string hint = {});

}  // namespace cluster::inventory
