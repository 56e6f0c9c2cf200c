#include "common/base/config.h"

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "absl/strings/numbers.h"
#include "common/base/strings.h"
#include "absl/strings/str_join.h"
#include "absl/strings/match.h"

namespace sales {

Config::EnvLookup Config::ProcessEnv() {
  return [](const char* name) -> const char* { return std::getenv(name); };
}

void Config::AddString(std::string flag, std::string env, std::string default_value, std::string help,
                       std::string* out, bool required) {
  *out = default_value;
  settings_.push_back({std::move(flag), std::move(env), std::move(help),
                       required && default_value.empty() ? "(required)" : StrCat("\"", default_value, "\""),
                       [out, required](const std::string& v) -> std::string {
                         if (required && v.empty()) return "must not be empty";
                         *out = v;
                         return "";
                       },
                       required && default_value.empty()});
}

void Config::AddInt(std::string flag, std::string env, int64_t default_value, int64_t min, int64_t max,
                    std::string help, int64_t* out) {
  *out = default_value;
  settings_.push_back({std::move(flag), std::move(env), std::move(help), StrCat(default_value),
                       [out, min, max](const std::string& v) -> std::string {
                         int64_t n;
                         if (!absl::SimpleAtoi(v, &n)) return StrCat("\"", v, "\" is not an integer");
                         if (n < min || n > max) return StrCat(n, " is outside [", min, ", ", max, "]");
                         *out = n;
                         return "";
                       }});
}

void Config::AddBool(std::string flag, std::string env, bool default_value, std::string help, bool* out) {
  *out = default_value;
  settings_.push_back({std::move(flag), std::move(env), std::move(help), default_value ? "true" : "false",
                       [out](const std::string& v) -> std::string {
                         if (v == "true" || v == "1" || v == "yes" || v.empty()) { *out = true; return ""; }
                         if (v == "false" || v == "0" || v == "no") { *out = false; return ""; }
                         return StrCat("\"", v, "\" is not a boolean (true/false)");
                       }});
}

Status Config::Parse(int argc, const char* const* argv, const EnvLookup& env) {
  std::map<std::string, std::string> flags;
  std::vector<std::string> problems;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      help_requested_ = true;
      return absl::OkStatus();
    }
    if (!absl::StartsWith(arg, "--")) {
      problems.push_back(StrCat("unexpected argument \"", arg, "\""));
      continue;
    }
    std::string name = arg.substr(2), value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (i + 1 < argc && !absl::StartsWith(argv[i + 1], "--")) {
      value = argv[++i];
    }
    flags[name] = value;
  }
  for (const auto& [name, value] : flags) {
    bool known = false;
    for (const auto& s : settings_) known = known || s.flag == name;
    if (!known) problems.push_back(StrCat("unknown flag --", name));
  }
  for (const auto& s : settings_) {
    std::string source, value;
    bool given = false;
    if (auto it = flags.find(s.flag); it != flags.end()) {
      source = StrCat("--", s.flag);
      value = it->second;
      given = true;
    } else if (!s.env.empty()) {
      if (const char* v = env(s.env.c_str()); v != nullptr) {
        source = s.env;
        value = v;
        given = true;
      }
    }
    if (!given) {
      if (s.required) {
        problems.push_back(StrCat("--", s.flag, s.env.empty() ? "" : StrCat(" (or ", s.env, ")"),
                                        " is required: ", s.help));
      }
      continue;
    }
    if (std::string err = s.set(value); !err.empty()) {
      problems.push_back(StrCat(source, ": ", err));
    }
  }
  if (!problems.empty()) {
    return absl::InvalidArgumentError(StrCat("invalid configuration: ", absl::StrJoin(problems, "; ")));
  }
  return absl::OkStatus();
}

std::string Config::Usage() const {
  std::string out = StrCat("usage: ", program_, " [flags]\n\nEach flag can also be set by the environment "
                                 "variable shown; a flag wins.\n\n");
  for (const auto& s : settings_) {
    StrAppend(&out, "  --", s.flag, s.env.empty() ? "" : StrCat("  [", s.env, "]"), "\n      ",
                    s.help, " (default ", s.default_text, ")\n");
  }
  return out;
}

StatusOr<std::string> ReadPemFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.find("-----BEGIN ") == std::string::npos) {
    return InvalidField(flag, StrCat("cannot read a PEM file at ", path));
  }
  return text;
}

}  // namespace sales
