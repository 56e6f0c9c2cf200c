#include "services/lead_acquisition/validation.h"

#include "absl/strings/ascii.h"
#include "common/base/ids.h"
#include "common/base/strings.h"

namespace sales::lead_acquisition {
namespace {

// Code points of UTF-8 text (protobuf has already rejected invalid UTF-8 in strings); -1 when a
// control character is present.
int64_t TextLength(const std::string& s) {
  int64_t n = 0;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return -1;
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

bool IsAtext(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+/=?^_`{|}~-").find(c) != std::string_view::npos;
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
  const int64_t len = TextLength(v);
  if (len < 0) out.push_back({field, "must not contain control characters"});
  else if (static_cast<size_t>(len) > max) out.push_back({field, StrCat("at most ", max, " characters")});
}

bool ValidRegion(const std::string& s) { return s == "*" || ValidCode(s, 32, false); }
bool ValidProductCode(const std::string& s) { return ValidCode(s, 64, true); }

// A practical subset of RFC 5322 addr-spec: dot-atom local part, DNS host name with a TLD.
bool ValidEmail(const std::string& e) {
  if (e.size() > 254) return false;
  const size_t at = e.find('@');
  if (at == std::string::npos || at == 0 || at > 64 || e.find('@', at + 1) != std::string::npos) return false;
  const std::string local = e.substr(0, at), domain = e.substr(at + 1);
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string::npos) return false;
  for (char c : local) {
    if (c != '.' && !IsAtext(c)) return false;
  }
  if (domain.size() < 4 || domain.find('.') == std::string::npos) return false;
  size_t start = 0;
  while (start <= domain.size()) {
    size_t dot = domain.find('.', start);
    if (dot == std::string::npos) dot = domain.size();
    const std::string label = domain.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    if (dot == domain.size()) {
      if (label.size() < 2) return false;
      for (char c : label) {
        if (!absl::ascii_isalpha(static_cast<unsigned char>(c))) return false;
      }
    }
    start = dot + 1;
  }
  return true;
}

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

}  // namespace sales::lead_acquisition
