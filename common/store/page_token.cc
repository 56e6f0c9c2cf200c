#include "common/store/page_token.h"

#include "absl/strings/escaping.h"

namespace sales {

std::string EncodePageToken(std::string_view fingerprint, std::string_view last_key) {
  return absl::WebSafeBase64Escape(StrCat(fingerprint, "|", last_key));
}

StatusOr<std::string> DecodePageToken(std::string_view token, std::string_view fingerprint) {
  if (token.empty()) return std::string();
  std::string raw;
  if (!absl::WebSafeBase64Unescape(absl::string_view(token.data(), token.size()), &raw) ||
      raw.size() <= fingerprint.size() || raw[fingerprint.size()] != '|') {
    return InvalidField("page_token", "not a token this service issued");
  }
  if (std::string_view(raw).substr(0, fingerprint.size()) != fingerprint) {
    return InvalidField("page_token", "issued for other filters; repeat the first request's filters");
  }
  return raw.substr(fingerprint.size() + 1);
}

}  // namespace sales
