#include "common/base/log.h"

#include <unistd.h>

#include <atomic>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/base/text.h"

namespace sales::log {
namespace {

std::string& ServiceName() {
  static auto* name = new std::string("sales");
  return *name;
}
std::atomic<int> min_level{static_cast<int>(Level::kInfo)};
thread_local std::string correlation_id;

const char* LevelName(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

// JSON strings must be valid UTF-8: bytes that are not part of well-formed UTF-8 (untrusted input
// such as an inbound record) are written as the text \xNN, so every line stays valid JSON.
void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  char buf[8];
  char32_t cp;
  for (size_t i = 0; i < s.size();) {
    const size_t n = DecodeUtf8(s, i, &cp);
    if (n == 0) {
      snprintf(buf, sizeof buf, "\\\\x%02x", static_cast<unsigned char>(s[i]));
      out->append(buf);
      ++i;
      continue;
    }
    switch (cp) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
          snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(cp));
          out->append(buf);
        } else {
          out->append(s.substr(i, n));
        }
    }
    i += n;
  }
  out->push_back('"');
}

void AppendField(std::string* out, std::string_view key, std::string_view value) {
  out->push_back(',');
  AppendJsonString(out, key);
  out->push_back(':');
  AppendJsonString(out, value);
}

}  // namespace

void Init(std::string_view service, Level level) {
  ServiceName() = std::string(service);
  min_level = static_cast<int>(level);
}

bool ParseLevel(std::string_view text, Level* level) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (text == LevelName(l)) {
      *level = l;
      return true;
    }
  }
  return false;
}

void Write(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  if (static_cast<int>(level) < min_level.load(std::memory_order_relaxed)) return;
  std::string line = "{\"ts\":\"";
  line += absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  line += "\"";
  AppendField(&line, "level", LevelName(level));
  AppendField(&line, "service", ServiceName());
  AppendField(&line, "msg", msg);
  if (!correlation_id.empty()) AppendField(&line, "correlation_id", correlation_id);
  for (const auto& f : fields) AppendField(&line, f.key, f.value);
  line += "}\n";
  // One write per line keeps lines whole when threads log at once.
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
}

ScopedCorrelation::ScopedCorrelation(std::string id) : previous_(std::move(correlation_id)) {
  correlation_id = std::move(id);
}

ScopedCorrelation::~ScopedCorrelation() { correlation_id = std::move(previous_); }

}  // namespace sales::log
