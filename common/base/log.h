// Structured logs: one JSON object per line on stderr, e.g.
//   {"ts":"2026-11-26T14:00:00.123Z","level":"info","service":"lead-acquisition",
//    "msg":"lead captured","correlation_id":"...","lead_id":"..."}
// The correlation id of the request being served is attached automatically (ScopedCorrelation).
// Thread-safe: each line is written with one write(2).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"

namespace sales::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

struct Field {
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  template <typename T>
  Field(std::string_view k, T v) requires std::is_arithmetic_v<T> : key(k), value(absl::StrCat(v)) {}
  std::string_view key;
  std::string value;
};

// Process-wide settings; call before starting threads.
void Init(std::string_view service, Level min_level);
bool ParseLevel(std::string_view text, Level* level);

void Write(Level level, std::string_view msg, std::initializer_list<Field> fields = {});
inline void Debug(std::string_view msg, std::initializer_list<Field> f = {}) { Write(Level::kDebug, msg, f); }
inline void Info(std::string_view msg, std::initializer_list<Field> f = {}) { Write(Level::kInfo, msg, f); }
inline void Warn(std::string_view msg, std::initializer_list<Field> f = {}) { Write(Level::kWarn, msg, f); }
inline void Error(std::string_view msg, std::initializer_list<Field> f = {}) { Write(Level::kError, msg, f); }

// Sets the correlation id logged by this thread until destroyed (restores the previous one).
class ScopedCorrelation {
 public:
  explicit ScopedCorrelation(std::string id);
  ~ScopedCorrelation();
  ScopedCorrelation(const ScopedCorrelation&) = delete;
  ScopedCorrelation& operator=(const ScopedCorrelation&) = delete;

 private:
  std::string previous_;
};

}  // namespace sales::log
