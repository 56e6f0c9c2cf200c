#include "services/lead_acquisition/domain/validation.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "common/base/ids.h"
#include "common/base/strings.h"
#include "common/base/text.h"
#include "common/unicode/unicode.h"

namespace sales::lead_acquisition {
namespace {

// Embedding, override and isolate controls: they reorder how the text around them is shown (a
// name can be made to read as something else).
bool IsBidiControl(char32_t c) { return (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069); }

// White space and the characters shown as nothing (Unicode White_Space and
// Default_Ignorable_Code_Point): a text made only of these looks blank.
bool IsInvisible(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0xAD || c == 0x034F || c == 0x061C ||
         c == 0x115F || c == 0x1160 || c == 0x1680 || c == 0x17B4 || c == 0x17B5 || (c >= 0x180B && c <= 0x180F) ||
         (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F) || (c >= 0x205F && c <= 0x206F) ||
         c == 0x3000 || c == 0x3164 || (c >= 0xFE00 && c <= 0xFE0F) || c == 0xFEFF || c == 0xFFA0 ||
         (c >= 0xFFF0 && c <= 0xFFF8) || (c >= 0x1BCA0 && c <= 0x1BCA3) || (c >= 0x1D173 && c <= 0x1D17A) ||
         (c >= 0xE0000 && c <= 0xE0FFF);
}

bool ValidCode(const std::string& s, size_t max, bool product) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    const bool ok = absl::ascii_isdigit(u) || c == '-' || c == '_' ||
                    (product ? (absl::ascii_islower(u) || c == '.') : absl::ascii_isalpha(u));
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string Trim(const std::string& s) { return std::string(absl::StripAsciiWhitespace(s)); }

void CheckIdempotencyKey(const std::string& key, Violations& out) {
  if (key.empty()) {
    out.push_back({"idempotency_key", "must not be empty (any unique string per command, e.g. a UUID)"});
    return;
  }
  if (key.size() > 128) {
    out.push_back({"idempotency_key", "at most 128 characters"});
    return;
  }
  for (char c : key) {
    if (c < 0x21 || c > 0x7e) {
      out.push_back({"idempotency_key", "only printable ASCII without spaces"});
      return;
    }
  }
}

void CheckId(const std::string& field, const std::string& id, Violations& out) {
  if (id.empty()) out.push_back({field, "must not be empty"});
  else if (!IsUuid(id)) out.push_back({field, "must be an id (UUID)"});
}

void CheckText(const std::string& field, const std::string& value, size_t max, bool required, Violations& out) {
  const std::string v = Trim(value);
  if (v.empty()) {
    if (required) out.push_back({field, "must not be empty"});
    return;
  }
  // Text from gRPC is valid UTF-8 (protobuf checks), text from inbound records need not be.
  size_t length = 0;
  bool visible = false;
  char32_t c;
  for (size_t i = 0; i < v.size(); ++length) {
    const size_t n = DecodeUtf8(v, i, &c);
    if (n == 0) {
      out.push_back({field, "not valid UTF-8"});
      return;
    }
    if (c < 0x20 || (c >= 0x7F && c <= 0x9F)) {
      out.push_back({field, "must not contain control characters"});
      return;
    }
    if (IsBidiControl(c)) {
      out.push_back({field, "must not contain bidirectional controls (U+202A-U+202E, U+2066-U+2069)"});
      return;
    }
    visible = visible || !IsInvisible(c);
    i += n;
  }
  if (!visible) out.push_back({field, "must contain a visible character, not only blank or invisible ones"});
  else if (length > max) out.push_back({field, StrCat("at most ", max, " characters")});
}

bool ValidRegion(const std::string& s) { return s == "*" || ValidCode(s, 32, false); }
bool ValidProductCode(const std::string& s) { return ValidCode(s, 64, true); }

// RFC 5321 addresses with RFC 6531's internationalised local parts and IDNA domains (ICU):
// common/unicode/unicode.h.
bool ValidEmail(const std::string& e) { return unicode::IsValidEmail(e); }

// International format: optional leading '+', digits and the usual separators, 7-15 digits (E.164).
bool ValidPhone(const std::string& p) {
  int digits = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) ++digits;
    else if (c == '+' && i == 0) continue;
    else if (c != ' ' && c != '-' && c != '(' && c != ')' && c != '.') return false;
  }
  return digits >= 7 && digits <= 15;
}

Status Result(Violations violations) {
  if (violations.empty()) return absl::OkStatus();
  return InvalidArgument(std::move(violations));
}

void CheckExtension(const std::string& field, const std::string& value, Violations& out) {
  const std::string e = Trim(value);
  if (e.empty()) return;
  if (e.size() < 2 || e.size() > 8 || !std::all_of(e.begin(), e.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    out.push_back({field, "2 to 8 digits, as the telephone exchange numbers extensions (empty: none)"});
  }
}

}  // namespace sales::lead_acquisition
