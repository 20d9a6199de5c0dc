// Global functions: Jinja's range, namespace and dict, and HF's
// raise_exception and strftime_now.
#include <ctime>
#include <memory>

#include "engine/chat/builtins.h"
#include "engine/chat/evaluator.h"

namespace engine::jinja {
namespace {

using cluster::Status;
using cluster::StatusOr;

constexpr int64_t kMaxRangeLength = 1'000'000;

Status TypeError(const std::string& message) { return cluster::InvalidArgumentError(message); }

void Add(Dict& globals, const std::string& name, std::string repr,
         std::function<StatusOr<Value>(const CallArgs&)> fn) {
  auto callable = std::make_shared<Callable>();
  callable->name = name;
  callable->repr = std::move(repr);
  callable->builtin = std::move(fn);
  globals.Set(name, Value::MakeCallable(std::move(callable)));
}

StatusOr<int64_t> IntArg(const Value& v) {
  if (v.is_int()) return v.as_int();
  if (v.is_bool()) return static_cast<int64_t>(v.as_bool());
  return TypeError("'" + TypeName(v) + "' object cannot be interpreted as an integer");
}

StatusOr<Value> Range(const CallArgs& args) {
  if (!args.keyword.empty()) return TypeError("range() takes no keyword arguments");
  const size_t n = args.positional.size();
  if (n < 1 || n > 3) return TypeError("range expected 1 to 3 arguments, got " + std::to_string(n));
  int64_t start = 0, stop = 0, step = 1;
  if (n == 1) {
    CLUSTER_ASSIGN_OR_RETURN(stop, IntArg(args.positional[0]));
  } else {
    CLUSTER_ASSIGN_OR_RETURN(start, IntArg(args.positional[0]));
    CLUSTER_ASSIGN_OR_RETURN(stop, IntArg(args.positional[1]));
    if (n == 3) {
      CLUSTER_ASSIGN_OR_RETURN(step, IntArg(args.positional[2]));
    }
  }
  if (step == 0) return TypeError("range() arg 3 must not be zero");
  List items;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (static_cast<int64_t>(items.size()) >= kMaxRangeLength) {
      return cluster::ResourceExhaustedError("range() longer than 1000000 items");
    }
    items.push_back(Value::Int(i));
  }
  return Value::MakeList(std::move(items));
}

// Entries for namespace()/dict(): an optional dict or list of pairs, then keywords.
StatusOr<Dict> Entries(std::string_view function, const CallArgs& args) {
  if (args.positional.size() > 1) {
    return TypeError(std::string(function) + " expected at most 1 argument, got " +
                     std::to_string(args.positional.size()));
  }
  Dict dict;
  if (args.positional.size() == 1) {
    const Value& source = args.positional[0];
    if (source.is_dict()) {
      for (const auto& [key, value] : source.as_dict()) dict.Set(key, value);
    } else if (source.is_sequence()) {
      for (const Value& pair : source.as_items()) {
        if (!pair.is_sequence() || pair.as_items().size() != 2 || !pair.as_items()[0].is_string()) {
          return TypeError(std::string(function) + " expects pairs of (str, value)");
        }
        dict.Set(pair.as_items()[0].as_string(), pair.as_items()[1]);
      }
    } else {
      return TypeError("'" + TypeName(source) + "' object is not iterable");
    }
  }
  for (const auto& [key, value] : args.keyword) dict.Set(key, value);
  return dict;
}

StatusOr<Value> StrftimeNow(const CallArgs& args, const RenderOptions& options) {
  CLUSTER_ASSIGN_OR_RETURN(auto a, BindArgs("strftime_now", args, {"format"}, 1));
  if (!a[0]->is_string()) return TypeError("strftime_now() format must be a str");
  std::tm tm{};
  if (options.local_time) {
    tm = options.local_time();
  } else {
    const std::time_t now = std::time(nullptr);
    localtime_r(&now, &tm);
  }
  const std::string& format = a[0]->as_string();
  for (size_t size = 256; size <= 65536; size *= 4) {
    std::string buf(size, '\0');
    const size_t n = std::strftime(buf.data(), buf.size(), format.c_str(), &tm);
    if (n > 0 || format.empty()) return Value::String(buf.substr(0, n));
  }
  return Value::String("");
}

}  // namespace

Dict MakeGlobals(const RenderOptions& options) {
  Dict globals;
  Add(globals, "range", "<class 'range'>", Range);
  Add(globals, "namespace", "<class 'jinja2.utils.Namespace'>", [](const CallArgs& args) -> StatusOr<Value> {
    CLUSTER_ASSIGN_OR_RETURN(Dict attributes, Entries("namespace", args));
    return Value::MakeNamespace(std::move(attributes));
  });
  Add(globals, "dict", "<class 'dict'>", [](const CallArgs& args) -> StatusOr<Value> {
    CLUSTER_ASSIGN_OR_RETURN(Dict dict, Entries("dict", args));
    return Value::MakeDict(std::move(dict));
  });
  // HF: raise TemplateError(message).
  Add(globals, "raise_exception", "<function raise_exception>", [](const CallArgs& args) -> StatusOr<Value> {
    CLUSTER_ASSIGN_OR_RETURN(auto a, BindArgs("raise_exception", args, {"message"}, 1));
    return cluster::InvalidArgumentError("template raised an error: " + ToStr(*a[0]));
  });
  // HF: datetime.now().strftime(format).
  Add(globals, "strftime_now", "<function strftime_now>",
      [options](const CallArgs& args) { return StrftimeNow(args, options); });
  for (const char* name : {"cycler", "joiner", "lipsum"}) {
    Add(globals, name, std::string("<function ") + name + ">", [name](const CallArgs&) -> StatusOr<Value> {
      return cluster::UnimplementedError(std::string("unsupported global function '") + name + "'");
    });
  }
  return globals;
}

}  // namespace engine::jinja
