#include "yaml_fields.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "common/files.h"
#include "common/spelling.h"

namespace cluster::inventory {
namespace {

constexpr std::string_view kIntTag = "tag:yaml.org,2002:int";
constexpr std::string_view kFloatTag = "tag:yaml.org,2002:float";
constexpr std::string_view kStrTag = "tag:yaml.org,2002:str";

SourceLocation At(const YAML::Node& node, const LoadContext& ctx) {
  const YAML::Mark mark = node.Mark();
  if (mark.line < 0) return ctx.At(0, 0);
  return ctx.At(mark.line + 1, mark.column + 1);
}

// yaml-cpp tags a plain (unquoted) scalar "?", a quoted or block one "!".
bool IsPlain(const YAML::Node& node) { return node.Tag() == "?"; }
bool IsQuoted(const YAML::Node& node) { return node.Tag() == "!" || node.Tag() == kStrTag; }

bool LooksLikeInteger(std::string_view s) {
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) s.remove_prefix(1);
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

bool LooksLikeNumber(std::string_view s) {
  if (s.empty()) return false;
  const std::string text(s);
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(v) &&
         text.find_first_of("xXnN") == std::string::npos;  // no hex, nan or inf
}

// `s` in double quotes, escaped, cut after 60 characters (UTF-8 code points,
// so a character is never split).
std::string QuoteForMessage(std::string_view s) {
  std::string out = "\"";
  std::size_t shown = 0;
  for (char c : s) {
    const bool starts_character = (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    if (starts_character && ++shown > 60) {
      out += "...";
      break;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// The hint for a number written in quotes where a number is expected.
std::string QuotedNumberHint(const YAML::Node& value) {
  if (value.IsScalar() && IsQuoted(value) && LooksLikeNumber(value.Scalar())) {
    return "remove the quotes: a quoted value is a string";
  }
  return {};
}

Field Entry(std::string path, std::string name, const YAML::Node& value, SourceLocation key_at,
            const LoadContext& ctx) {
  Field f;
  f.path = std::move(path);
  f.name = std::move(name);
  f.value = value;
  f.key_at = key_at;
  f.value_at = value.IsNull() ? key_at : At(value, ctx);
  return f;
}

// "/srv/models/r1/" -> "/srv/models/r1", so that filename() names the folder.
std::filesystem::path WithoutTrailingSlash(std::filesystem::path p) {
  if (!p.has_filename() && p.has_relative_path()) p = p.parent_path();
  return p;
}

std::string JoinPath(std::string_view parent, std::string_view key) {
  return parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key);
}

}  // namespace

Field RootField(const YAML::Node& root, const LoadContext& ctx) {
  Field f;
  f.value = root;
  f.value_at = At(root, ctx);
  if (f.value_at.line == 0) f.value_at = ctx.At(1, 1);  // an empty document: point at its start
  f.key_at = f.value_at;
  return f;
}

void Record(const Field& field, LoadContext* ctx) {
  ctx->locations().Record(field.path, {field.key_at, field.value_at,
                                       field.value.IsScalar() ? field.value.Scalar() : std::string()});
}

std::string Describe(const YAML::Node& value) {
  if (!value.IsDefined() || value.IsNull()) return "nothing";
  if (value.IsSequence()) return "a list";
  if (value.IsMap()) return "a mapping";
  const std::string& s = value.Scalar();
  if (IsPlain(value) && LooksLikeNumber(s)) return s;
  return QuoteForMessage(s);
}

void ReportMismatch(const Field& field, LoadContext* ctx, std::string_view expected, std::string hint) {
  ctx->Error(field.value_at, field.path, fmt::format("expected {}, found {}", expected, Describe(field.value)),
             std::move(hint));
}

std::vector<Field> MappingEntries(const Field& field, LoadContext* ctx) {
  std::vector<Field> out;
  if (!field.value.IsMap()) return out;
  std::map<std::string, SourceLocation> seen;
  for (auto it = field.value.begin(); it != field.value.end(); ++it) {
    // A copy (a cheap handle): it->first is a member of a temporary proxy
    // that yaml-cpp's iterator returns, gone at the end of this statement.
    const YAML::Node key = it->first;
    const SourceLocation key_at = At(key, *ctx);
    if (!key.IsScalar()) {
      ctx->Error(key_at, field.path, fmt::format("expected a key name, found {}", Describe(key)));
      continue;
    }
    const std::string path = JoinPath(field.path, key.Scalar());
    auto [first, inserted] = seen.emplace(key.Scalar(), key_at);
    if (!inserted) {
      ctx->Error(key_at, path, fmt::format("key given twice, first at line {}", first->second.line),
                 "remove one; only the first counts");
      continue;
    }
    out.push_back(Entry(path, key.Scalar(), it->second, key_at, *ctx));
  }
  return out;
}

Mapping::Mapping(Field field, LoadContext* ctx, const std::vector<std::string_view>& known)
    : field_(std::move(field)), ctx_(ctx) {
  for (Field& entry : MappingEntries(field_, ctx)) {
    bool is_known = false;
    for (std::string_view k : known) is_known = is_known || k == entry.name;
    if (!is_known) {
      if (auto guess = ClosestMatch(entry.name, known)) {
        ctx->Error(entry.key_at, entry.path, "unknown key", fmt::format("did you mean {}?", *guess));
        ctx->MarkFailed(JoinPath(field_.path, *guess));  // its value is probably the misspelt one
      } else {
        ctx->Error(entry.key_at, entry.path, "unknown key",
                   fmt::format("valid keys here: {}", fmt::join(known, ", ")));
      }
      continue;
    }
    Record(entry, ctx);
    entries_.push_back(std::move(entry));
  }
}

std::optional<Field> Mapping::Get(std::string_view key) const {
  const std::string path = JoinPath(field_.path, key);
  for (const Field& e : entries_)
    if (e.path == path) return e;
  return std::nullopt;
}

std::optional<Field> Mapping::Require(std::string_view key, std::string_view hint) const {
  if (auto f = Get(key)) return f;
  ctx_->Error(field_.value_at, JoinPath(field_.path, key), "required key is missing", std::string(hint));
  return std::nullopt;
}

std::optional<Mapping> ReadMapping(const Field& field, LoadContext* ctx,
                                   const std::vector<std::string_view>& known, std::string_view expected) {
  if (!field.value.IsMap() && !field.value.IsNull()) {
    ReportMismatch(field, ctx, expected);
    return std::nullopt;
  }
  return Mapping(field, ctx, known);
}

std::optional<std::vector<Field>> ReadList(const Field& field, LoadContext* ctx, std::string_view expected) {
  std::vector<Field> out;
  if (field.value.IsNull()) return out;
  if (!field.value.IsSequence()) {
    ReportMismatch(field, ctx, expected);
    return std::nullopt;
  }
  std::size_t index = 0;
  for (const YAML::Node& item : field.value) {
    Field f;
    f.path = fmt::format("{}[{}]", field.path, index++);
    f.value = item;
    f.value_at = item.IsNull() ? field.value_at : At(item, *ctx);
    f.key_at = f.value_at;
    Record(f, ctx);
    out.push_back(std::move(f));
  }
  return out;
}

std::optional<std::string> ReadString(const Field& field, LoadContext* ctx, std::string_view expected) {
  if (!field.value.IsScalar()) {
    ReportMismatch(field, ctx, expected);
    return std::nullopt;
  }
  if (field.value.Scalar().empty()) {
    ReportMismatch(field, ctx, fmt::format("{}, not an empty one", expected));
    return std::nullopt;
  }
  return field.value.Scalar();
}

std::optional<std::int64_t> ReadInteger(const Field& field, LoadContext* ctx, std::int64_t min,
                                        std::int64_t max, std::string_view expected) {
  std::string description(expected);
  if (description.empty()) {
    description = max == std::numeric_limits<std::int64_t>::max()
                      ? fmt::format("a whole number >= {}", min)
                      : fmt::format("a whole number from {} to {}", min, max);
  }
  const YAML::Node& v = field.value;
  if (v.IsScalar() && (IsPlain(v) || v.Tag() == kIntTag) && LooksLikeInteger(v.Scalar())) {
    std::string_view s = v.Scalar();
    if (s.front() == '+') s.remove_prefix(1);
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc() && end == s.data() + s.size() && n >= min && n <= max) return n;
  }
  ReportMismatch(field, ctx, description, QuotedNumberHint(v));
  return std::nullopt;
}

std::optional<double> ReadNumber(const Field& field, LoadContext* ctx, std::string_view expected) {
  const YAML::Node& v = field.value;
  if (v.IsScalar() && (IsPlain(v) || v.Tag() == kIntTag || v.Tag() == kFloatTag) &&
      LooksLikeNumber(v.Scalar())) {
    return std::strtod(v.Scalar().c_str(), nullptr);
  }
  ReportMismatch(field, ctx, expected, QuotedNumberHint(v));
  return std::nullopt;
}

std::optional<bool> ReadBool(const Field& field, LoadContext* ctx) {
  const YAML::Node& v = field.value;
  std::string hint;
  if (v.IsScalar()) {
    const std::string& s = v.Scalar();
    const bool is_true = s == "true" || s == "True" || s == "TRUE";
    const bool is_false = s == "false" || s == "False" || s == "FALSE";
    if ((is_true || is_false) && !IsQuoted(v)) return is_true;
    std::string lower;
    for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (is_true || is_false) {
      hint = "remove the quotes: a quoted value is a string";
    } else if (lower == "yes" || lower == "y" || lower == "on" || lower == "1") {
      hint = "did you mean true?";
    } else if (lower == "no" || lower == "n" || lower == "off" || lower == "0") {
      hint = "did you mean false?";
    }
  }
  ReportMismatch(field, ctx, "true or false", std::move(hint));
  return std::nullopt;
}

std::optional<std::size_t> ReadWord(const Field& field, LoadContext* ctx,
                                    const std::vector<std::string_view>& words,
                                    const std::vector<std::pair<std::string_view, std::string_view>>& aliases) {
  const YAML::Node& v = field.value;
  if (v.IsScalar()) {
    for (std::size_t i = 0; i < words.size(); ++i)
      if (v.Scalar() == words[i]) return i;
  }
  std::string hint;
  if (v.IsScalar()) {
    std::optional<std::string> guess;
    for (const auto& [alias, word] : aliases)
      if (EditDistance(v.Scalar(), alias) == 0) guess = std::string(word);
    if (!guess) guess = ClosestMatch(v.Scalar(), words);
    if (guess) hint = fmt::format("did you mean {}?", *guess);
  }
  ReportMismatch(field, ctx, words.size() == 1 ? std::string(words[0]) : "one of " + JoinAlternatives(words),
                 hint);
  return std::nullopt;
}

std::optional<std::map<std::string, std::string>> ReadStringMap(const Field& field, LoadContext* ctx) {
  std::map<std::string, std::string> out;
  if (field.value.IsNull()) return out;
  if (!field.value.IsMap()) {
    ReportMismatch(field, ctx, "a mapping of names to strings");
    return std::nullopt;
  }
  bool ok = true;
  for (const Field& entry : MappingEntries(field, ctx)) {
    Record(entry, ctx);
    if (entry.name.empty()) {
      ctx->Error(entry.key_at, entry.path, "expected a name, found an empty key");
      ok = false;
      continue;
    }
    if (!entry.value.IsScalar()) {
      ReportMismatch(entry, ctx, "a string");
      ok = false;
      continue;
    }
    out[entry.name] = entry.value.Scalar();
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::vector<std::string>> ReadStringList(const Field& field, LoadContext* ctx) {
  auto items = ReadList(field, ctx, "a list of strings");
  if (!items) return std::nullopt;
  std::vector<std::string> out;
  bool ok = true;
  for (const Field& item : *items) {
    if (!item.value.IsScalar()) {
      ReportMismatch(item, ctx, "a string");
      ok = false;
      continue;
    }
    out.push_back(item.value.Scalar());
  }
  if (!ok) return std::nullopt;
  return out;
}

std::optional<std::filesystem::path> ReadLocalPath(const Field& field, LoadContext* ctx) {
  auto text = ReadString(field, ctx, "a path");
  if (!text) return std::nullopt;
  return WithoutTrailingSlash(ResolvePath(*text, ctx->base_dir()));
}

std::optional<std::filesystem::path> ReadHostPath(const Field& field, LoadContext* ctx) {
  auto text = ReadString(field, ctx, "an absolute path on the hosts");
  if (!text) return std::nullopt;
  if (text->front() != '/') {
    std::string hint = text->front() == '~' ? "~ means each host's own $HOME there; write the full path"
                                            : "paths on the hosts do not depend on where the inventory is";
    ReportMismatch(field, ctx, "an absolute path on the hosts", hint);
    return std::nullopt;
  }
  return WithoutTrailingSlash(std::filesystem::path(*text).lexically_normal());
}

}  // namespace cluster::inventory
