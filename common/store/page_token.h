// Page tokens for listings over a store: the last key returned plus a fingerprint of the listing's
// filters, web-safe base64. Paging resumes after that key, so it neither skips nor repeats a row
// while new rows arrive; a token is only accepted with the filters it was issued for.
#pragma once

#include <string>
#include <string_view>

#include "common/base/status.h"

namespace sales {

// `fingerprint`: a short digest of the request's filters (without page size and token).
std::string EncodePageToken(std::string_view fingerprint, std::string_view last_key);
// The last key of the previous page ("" for an empty token). INVALID_ARGUMENT naming `page_token`
// when it is not a token of this listing or was issued for other filters.
StatusOr<std::string> DecodePageToken(std::string_view token, std::string_view fingerprint);

}  // namespace sales
