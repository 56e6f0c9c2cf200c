// Page tokens: what a listing hands out comes back as the last key it returned, only with the
// filters it was issued for; anything else is INVALID_ARGUMENT naming page_token.
#include "common/store/page_token.h"

#include <string>

#include "common/base/status.h"
#include "common/testing/status_matchers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sales {
namespace {

using testing::IsOkAndHolds;
using testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Code = absl::StatusCode;

constexpr char kFilters[] = "0123456789abcdef";  // a 16-hex-digit digest, as the listings use
constexpr char kOtherFilters[] = "fedcba9876543210";

std::vector<std::string> FieldsOf(const Status& s) {
  std::vector<std::string> fields;
  for (const auto& v : FieldViolations(s)) fields.push_back(v.field);
  return fields;
}

TEST(PageToken, RoundTripsAnyLastKey) {
  // Row keys are binary: big-endian times, separators, NULs, high bytes.
  const std::string binary = std::string("\x80\x00\x00\x01\x02\x03\x04\x05", 8) + "offer/1|x\xff";
  for (const std::string& key : {std::string("lead-1"), binary, std::string(300, 'k'), std::string("a|b|c")}) {
    const std::string token = EncodePageToken(kFilters, key);
    EXPECT_THAT(DecodePageToken(token, kFilters), IsOkAndHolds(key));
    EXPECT_THAT(token, ::testing::MatchesRegex("[A-Za-z0-9_=-]+")) << "web-safe: fits in a URL unescaped";
  }
}

TEST(PageToken, AnEmptyTokenIsTheFirstPage) {
  EXPECT_THAT(DecodePageToken("", kFilters), IsOkAndHolds(""));
  EXPECT_THAT(DecodePageToken("", ""), IsOkAndHolds(""));
}

TEST(PageToken, ATokenOfOtherFiltersIsRefusedNamingPageToken) {
  const std::string token = EncodePageToken(kFilters, "lead-7");
  const StatusOr<std::string> other = DecodePageToken(token, kOtherFilters);
  EXPECT_THAT(other, StatusIs(Code::kInvalidArgument,
                              "page_token: issued for other filters; repeat the first request's filters"));
  EXPECT_THAT(FieldsOf(other.status()), ElementsAre("page_token"));
  // A fingerprint of another length is no better.
  EXPECT_THAT(DecodePageToken(token, "0123"), StatusIs(Code::kInvalidArgument, HasSubstr("page_token: ")));
  EXPECT_THAT(DecodePageToken(token, std::string(kFilters) + "00"),
              StatusIs(Code::kInvalidArgument, HasSubstr("page_token: ")));
}

TEST(PageToken, GarbageIsRefusedNamingPageToken) {
  for (const std::string& garbage : {std::string("garbage!"), std::string("%%%"), std::string("not a token"),
                                     EncodePageToken("", ""), std::string("MDEyMzQ1Njc4OWFiY2RlZg")}) {
    const StatusOr<std::string> decoded = DecodePageToken(garbage, kFilters);
    EXPECT_THAT(decoded, StatusIs(Code::kInvalidArgument, "page_token: not a token this service issued"))
        << "\"" << garbage << "\"";
    EXPECT_THAT(FieldsOf(decoded.status()), ElementsAre("page_token"));
  }
}

TEST(PageToken, TokensOfDifferentKeysOrFiltersDiffer) {
  EXPECT_NE(EncodePageToken(kFilters, "a"), EncodePageToken(kFilters, "b"));
  EXPECT_NE(EncodePageToken(kFilters, "a"), EncodePageToken(kOtherFilters, "a"));
}

}  // namespace
}  // namespace sales
