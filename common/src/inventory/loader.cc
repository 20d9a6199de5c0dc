// LoadInventory: the edge between the file and the inventory model. Reads
// the file, parses YAML (yaml-cpp's exceptions stop here), then runs the
// schema readers, the cross-key checks and the model's checks, collecting
// every problem of the file in one run.
#include "common/inventory/loader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <exception>
#include <optional>
#include <sstream>
#include <system_error>

#include <fmt/format.h>

#include "checks.h"
#include "common/files.h"
#include "common/inventory/model_facts.h"
#include "load_context.h"
#include "schema.h"

namespace cluster::inventory {
namespace {

// Line `index` (0-based) of `text`, or "" past the end.
std::string_view LineOf(std::string_view text, int index) {
  for (int i = 0; i < index; ++i) {
    const std::size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return {};
    text.remove_prefix(nl + 1);
  }
  return text.substr(0, text.find('\n'));
}

bool IndentedWithTab(std::string_view line) {
  const std::size_t first = line.find_first_not_of(" \t");
  return line.substr(0, first).find('\t') != std::string_view::npos;
}

// What usually causes yaml-cpp's error `message` at `line` (0-based).
std::string SyntaxHint(std::string_view text, int line, const std::string& message) {
  if (line >= 0 && (IndentedWithTab(LineOf(text, line)) || (line > 0 && IndentedWithTab(LineOf(text, line - 1))))) {
    return "indent with spaces: YAML does not allow tabs";
  }
  if (message.find("illegal map value") != std::string::npos) {
    return "check the indentation, and quote values that contain \": \"";
  }
  if (message.find("end of sequence flow") != std::string::npos) return "a \"[\" is not closed by \"]\"";
  if (message.find("end of map flow") != std::string::npos) return "a \"{\" is not closed by \"}\"";
  if (message.find("anchor") != std::string::npos) return "an alias *NAME needs an anchor &NAME before it";
  return {};
}

// yaml-cpp 0.7 never moves past a ',' that follows a complete node outside
// [ ] or { } (",", "- a\n,", "name: x\n---\n,"): each call for the next
// document yields a null document at the comma without consuming it, so
// YAML::LoadAll loops forever and its memory grows. This pass walks the
// documents as events and stops at the first one that starts where the one
// before it stopped with nothing read; it returns that position. Any other
// syntax error throws YAML::Exception here as it would in LoadAll.
class StuckDocumentFinder : public YAML::EventHandler {
 public:
  std::optional<YAML::Mark> Find(const std::string& text) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    std::optional<YAML::Mark> previous_lone_null;
    while (true) {
      events_ = 0;
      lone_null_.reset();
      if (!parser.HandleNextDocument(*this)) return std::nullopt;
      if (lone_null_ && previous_lone_null && lone_null_->pos == previous_lone_null->pos) return lone_null_;
      previous_lone_null = lone_null_;
    }
  }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override {
    if (++events_ == 1) lone_null_ = mark;
  }
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override { Other(); }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override { Other(); }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    Other();
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    Other();
  }
  void OnMapEnd() override {}

 private:
  void Other() {
    ++events_;
    lone_null_.reset();
  }

  int events_ = 0;
  std::optional<YAML::Mark> lone_null_;  // set while the document is one null event
};

// The document's root node, or nullopt after reporting why there is none.
// An empty text gives a null root (reported by the schema as "found nothing").
std::optional<YAML::Node> ParseYaml(const std::string& text, LoadContext* ctx) {
  std::vector<YAML::Node> documents;
  try {
    if (const std::optional<YAML::Mark> stuck = StuckDocumentFinder().Find(text)) {
      const bool comma = stuck->pos >= 0 && static_cast<std::size_t>(stuck->pos) < text.size() && text[stuck->pos] == ',';
      ctx->Error(ctx->At(stuck->line + 1, stuck->column + 1), "",
                 comma ? "YAML syntax: a ',' outside [ ] or { }" : "YAML syntax: the parser cannot go past this point",
                 comma ? "quote a value that contains a comma, or write the list as [a, b]" : "");
      return std::nullopt;
    }
    documents = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    const SourceLocation at = e.mark.line >= 0 ? ctx->At(e.mark.line + 1, e.mark.column + 1) : ctx->At(0, 0);
    ctx->Error(at, "", "YAML syntax: " + e.msg, SyntaxHint(text, e.mark.line, e.msg));
    return std::nullopt;
  } catch (const std::exception& e) {
    ctx->Error(ctx->At(0, 0), "", std::string("cannot parse YAML: ") + e.what());
    return std::nullopt;
  }
  if (documents.empty()) return YAML::Node();
  for (std::size_t i = 1; i < documents.size(); ++i) {
    if (documents[i].IsNull()) continue;  // a trailing "---" alone is harmless
    const YAML::Mark mark = documents[i].Mark();
    ctx->Error(ctx->At(mark.line + 1, mark.column + 1), "",
               "a second YAML document starts here; an inventory is one document",
               "remove the \"---\" line before it, or move it to its own file");
  }
  return documents.front();
}

// CheckModelAgainstRuntime knows only the positions kept in the Inventory
// (the runtime block, a model entry); move each of its diagnostics to the
// very key it names when the file gives that key.
void AddModelDiagnostics(const Inventory& inventory, LoadContext* ctx) {
  std::vector<Diagnostic> found;
  CheckModelAgainstRuntime(inventory, &found);
  for (Diagnostic& d : found) {
    if (ctx->locations().Has(d.key_path)) d.location = ctx->locations().Value(d.key_path);
    ctx->Add(std::move(d));
  }
}

}  // namespace

LoadResult LoadInventory(const std::filesystem::path& file, const LoadOptions& options) {
  StatusOr<std::string> text = ReadFile(file, kMaxInventoryBytes);
  if (!text.ok()) {
    // ReadFile's message starts with the path, which the diagnostic shows already.
    std::string message = text.status().message();
    const std::string prefix = file.string() + ": ";
    if (message.starts_with(prefix)) message.erase(0, prefix.size());
    std::string hint;
    if (message.starts_with("is larger than")) hint = "an inventory is a small YAML file; check that -f names the right one";
    LoadResult result;
    result.diagnostics.push_back(
        Diagnostic{Diagnostic::Severity::kError, SourceLocation{file.string(), 0, 0}, "", message, hint});
    return result;
  }
  return LoadInventoryFromString(*text, file, options);
}

LoadResult LoadInventoryFromString(const std::string& yaml_text, const std::filesystem::path& file,
                                   const LoadOptions& options) {
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(file, ec);
  if (ec) absolute = file;
  absolute = absolute.lexically_normal();
  LoadContext ctx(file.string(), absolute.parent_path(), options);

  LoadResult result;
  if (std::optional<YAML::Node> root = ParseYaml(yaml_text, &ctx)) {
    Inventory inventory = ReadInventory(RootField(*root, ctx), &ctx);
    inventory.file = absolute;
    const bool schema_ok = ctx.error_count() == 0;
    if (root->IsMap()) {
      // Hosts and runtime first: CheckArtifacts' errors must not make the
      // names of artifacts look in doubt to them (see NamesInDoubt).
      CheckHosts(inventory, &ctx);
      CheckRuntime(inventory, &ctx);
      CheckArtifacts(inventory, &ctx);
    }
    if (schema_ok) AddModelDiagnostics(inventory, &ctx);
    if (ctx.error_count() == 0) result.inventory = std::move(inventory);
  }
  result.diagnostics = ctx.TakeDiagnostics();
  return result;
}

}  // namespace cluster::inventory
