// Parsing of inbound marketing records (docs/INTAKE.md): every way a record can be wrong gets a
// reason fit for the dead-letter header.
#include "services/lead_acquisition/intake/intake.h"

#include "common/base/text.h"
#include "gmock/gmock.h"
#include "services/lead_acquisition/domain/lead.h"
#include "gtest/gtest.h"

namespace sales::lead_acquisition {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ParseInboundLead, AcceptsAVersionOneRecordInEitherFieldNaming) {
  auto r = ParseInboundLead(R"({"schema_version": 1, "source": "web_form", "external_id": "hs-1001",
      "name": "Δήμητρα Ρήγα", "email": "dimitra@example.gr", "productInterest": ["crm-pro"],
      "company_size": 40, "utm_campaign": "autumn"})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->source_label(), "web_form") << "verbatim; the decider maps it to the web form channel";
  EXPECT_EQ(r->external_id(), "hs-1001");
  EXPECT_EQ(r->name(), "Δήμητρα Ρήγα");
  EXPECT_EQ(r->product_interest(0), "crm-pro");
  EXPECT_EQ(r->company_size(), 40);
  EXPECT_TRUE(r->idempotency_key().empty()) << "the consumer sets it from the record's position";
  auto defaulted = ParseInboundLead(R"({"schema_version":1,"external_id":"x","name":"N","phone":"+302105550101"})");
  ASSERT_TRUE(defaulted.ok());
  EXPECT_EQ(defaulted->source(), events::v1::LEAD_SOURCE_MARKETING_SYSTEM);
}

TEST(ParseInboundLead, RefusesWithAReason) {
  struct Case {
    std::string json, reason;
  };
  const std::vector<Case> cases = {
      {"{not json", "not a valid JSON lead record"},
      {"", "record: empty"},
      {"[1,2]", "not a valid JSON lead record"},
      {R"({"schema_version": "one", "external_id": "x"})", "not a valid JSON lead record"},
      {R"({"schema_version": 1, "external_id": "x", "company_size": "big"})", "not a valid JSON lead record"},
      {R"({"schema_version": 1, "external_id": "x", "name": 5})", "not a valid JSON lead record"},
      {R"({"external_id": "x", "name": "N"})", "schema_version: required"},
      {R"({"schema_version": 2, "external_id": "x", "name": "N"})", "unsupported version 2"},
      {R"({"schema_version": 1, "name": "N", "email": "a@b.co"})", "external_id: required"},
      {R"({"schema_version": 1, "external_id": "x", "name": ")" + std::string(70000, 'a') + "\"}", "oversized"},
  };
  for (const auto& c : cases) {
    auto r = ParseInboundLead(c.json);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.json.substr(0, 80);
    EXPECT_THAT(r.status().message(), HasSubstr(c.reason)) << c.json.substr(0, 80);
  }
}

// Untrusted bytes are refused, and the reason (a dead letter's header) never carries them raw.
TEST(ParseInboundLead, InvalidUtf8AndLineBreaksAreRefusedWithoutCopyingThem) {
  const std::vector<std::string> records = {
      "{\"schema_version\":1,\"external_id\":\"x\",\"email\":\"a@b.co\",\"name\":\"Bad \xff\xfe\"}",
      "{\"schema_version\":1,\"external_id\":\"x\",\"email\":\"a@b.co\",\"name\":\"N\",\"source\":\"\xff\"}",
      "{\"schema_version\":1,\"external_id\":\"x\xc3\",\"email\":\"a@b.co\",\"name\":\"N\"}",
      "{\"schema_version\":1,\"external_id\":\"x\",\"email\":\"a@b.co\",\"name\":\"Ann\\u202ea\"}",
  };
  std::vector<std::string> reasons;
  for (const auto& json : records) {
    auto parsed = ParseInboundLead(json);
    Status refusal = parsed.status();
    if (parsed.ok()) {
      parsed->set_idempotency_key("intake:t:0:0");  // as the consumer sets it
      refusal = ValidateCapture(*parsed);
    }
    EXPECT_EQ(refusal.code(), absl::StatusCode::kInvalidArgument) << json;
    const std::string reason(refusal.message());
    EXPECT_TRUE(IsValidUtf8(reason)) << reason;
    EXPECT_EQ(reason.find('\n'), std::string::npos) << reason;
    reasons.push_back(reason);
  }
  EXPECT_THAT(reasons, ElementsAre("record: not a valid JSON lead record: Encountered non UTF-8 code points.",
                                   "record: not a valid JSON lead record: Encountered non UTF-8 code points.",
                                   "record: not a valid JSON lead record: Encountered non UTF-8 code points.",
                                   "name: must not contain bidirectional controls (U+202A-U+202E, U+2066-U+2069)"));
}

// Sources are whatever the sender calls them: kept verbatim as the label (the decider maps it to a
// channel, and makes line breaks spaces); a record is never refused for its source.
TEST(ParseInboundLead, SourceLabelsAreKeptVerbatim) {
  auto fax = ParseInboundLead(R"({"schema_version":1,"external_id":"x","name":"N","email":"a@b.co","source":"fax"})");
  ASSERT_TRUE(fax.ok()) << fax.status();
  EXPECT_EQ(fax->source_label(), "fax");
  EXPECT_EQ(fax->source(), events::v1::LEAD_SOURCE_UNSPECIFIED) << "the decider looks the channel up";
  auto campaign = ParseInboundLead(
      R"({"schema_version":1,"external_id":"x","name":"N","email":"a@b.co","campaign":"Google Ads - Άνοιξη"})");
  ASSERT_TRUE(campaign.ok());
  EXPECT_EQ(campaign->source_label(), "Google Ads - Άνοιξη") << "the campaign when there is no source";
  auto none = ParseInboundLead(R"({"schema_version":1,"external_id":"x","name":"N","email":"a@b.co"})");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->source(), events::v1::LEAD_SOURCE_MARKETING_SYSTEM);
  EXPECT_TRUE(none->source_label().empty());
}

}  // namespace
}  // namespace sales::lead_acquisition
