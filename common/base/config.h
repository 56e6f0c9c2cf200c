// Configuration from command-line flags and environment variables, validated at start-up.
//
// Each setting has a flag (--kafka-bootstrap=HOST:PORT) and an environment variable
// (SALES_KAFKA_BOOTSTRAP); a flag wins over the environment, the environment over the default.
// Parse() checks every value (type, range, required) and reports all problems at once, so a
// service refuses to start with one clear message instead of failing later.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/base/status.h"

namespace sales {

class Config {
 public:
  // Looks up an environment variable; returns nullptr when unset. Tests inject a map.
  using EnvLookup = std::function<const char*(const char*)>;

  explicit Config(std::string program) : program_(std::move(program)) {}

  // The pointers must outlive Parse(). `env` may be empty (no environment variable). A required
  // string must end up non-empty: given, or from a non-empty default.
  void AddString(std::string flag, std::string env, std::string default_value, std::string help,
                 std::string* out, bool required = false);
  void AddInt(std::string flag, std::string env, int64_t default_value, int64_t min, int64_t max,
              std::string help, int64_t* out);
  void AddBool(std::string flag, std::string env, bool default_value, std::string help, bool* out);

  // INVALID_ARGUMENT listing every bad or missing setting. --help sets help_requested() and
  // returns OK without checking required settings.
  Status Parse(int argc, const char* const* argv, const EnvLookup& env = ProcessEnv());
  bool help_requested() const { return help_requested_; }
  std::string Usage() const;

  static EnvLookup ProcessEnv();

 private:
  struct Setting {
    std::string flag, env, help, default_text;
    std::function<std::string(const std::string&)> set;  // returns an error text, empty if OK
    bool required = false;  // must be given (no usable default)
  };
  std::string program_;
  std::vector<Setting> settings_;
  bool help_requested_ = false;
};

// The PEM text (certificates, keys) of the file a flag names: INVALID_ARGUMENT naming the flag when
// the file cannot be read or holds no PEM block.
StatusOr<std::string> ReadPemFile(const std::string& flag, const std::string& path);

}  // namespace sales
