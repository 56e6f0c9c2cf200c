#include "common/command/request_checks.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "common/base/strings.h"
#include "common/base/text.h"

namespace sales::command {

constexpr size_t kMaxKey = 128;

void CheckIdempotencyKey(const std::string& key, Violations& v) {
  if (key.empty()) {
    v.push_back({"idempotency_key", "must not be empty (any unique string per command, e.g. a UUID)"});
  } else if (key.size() > kMaxKey) {
    v.push_back({"idempotency_key", StrCat("at most ", kMaxKey, " characters")});
  } else if (!std::all_of(key.begin(), key.end(), [](char c) { return c >= 0x21 && c <= 0x7e; })) {
    v.push_back({"idempotency_key", "only printable ASCII without spaces"});
  }
}

void CheckExpectedVersion(int64_t expected, Violations& v) {
  if (expected < 0) v.push_back({"expected_version", "must be 0 (any) or a version >= 1"});
}

void CheckText(const std::string& field, const std::string& value, size_t max, bool required, bool multiline,
               Violations& v) {
  const absl::string_view stripped = absl::StripAsciiWhitespace(value);
  const std::string_view t(stripped.data(), stripped.size());
  if (t.empty()) {
    if (required) v.push_back({field, "must not be empty"});
    return;
  }
  size_t length = 0;
  for (size_t i = 0; i < t.size();) {
    char32_t cp = 0;
    const size_t n = DecodeUtf8(t, i, &cp);
    if (n == 0) {
      v.push_back({field, "not valid UTF-8"});
      return;
    }
    const bool allowed_break = multiline && (cp == '\n' || cp == '\r' || cp == '\t');
    if ((cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) && !allowed_break) {
      v.push_back({field, multiline ? "must not contain control characters other than line breaks and tabs"
                                    : "must not contain control characters"});
      return;
    }
    ++length;
    i += n;
  }
  if (length > max) v.push_back({field, StrCat("at most ", max, " characters")});
}

Status Result(Violations v) { return v.empty() ? absl::OkStatus() : InvalidArgument(std::move(v)); }

}  // namespace sales::command
