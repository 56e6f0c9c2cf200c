// The lead aggregate as pure code: given these events, when this command, then these events or
// this error.
#include "services/lead_acquisition/lead.h"

#include "common/events/envelope.h"
#include "common/testing/fake_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sales::lead_acquisition {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;

api::v1::CaptureLeadRequest ValidRequest() {
  api::v1::CaptureLeadRequest r;
  r.set_idempotency_key("key-1");
  r.set_name("  Μαρία Κωνσταντίνου  ");
  r.set_company("Ολυμπιακή Τεχνική");
  r.set_email("maria@Example.GR");
  r.set_phone("+30 210 555 0101");
  r.set_source(events::v1::LEAD_SOURCE_WEB_FORM);
  r.set_external_id("form-1");
  r.set_region("GR-ATT");
  r.add_product_interest("crm-pro");
  return r;
}

EventEnvelope Enveloped(const LeadEvent& payload, const std::string& id, int64_t version) {
  testing::FakeClock clock;
  EventEnvelope e = events::NewEnvelope(kAggregateType, id, version, kLeadCaptured, kSchemaVersion, {}, clock);
  *e.mutable_lead() = payload;
  return e;
}

std::vector<FieldViolation> ViolationsOf(const api::v1::CaptureLeadRequest& r) {
  Status s = ValidateCapture(r);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  return FieldViolations(s);
}

TEST(CaptureLead, GivenNoLeadWhenCaptureThenLeadCapturedNormalised) {
  auto r = ValidRequest();
  ASSERT_TRUE(ValidateCapture(r).ok());
  auto event = DecideCapture(std::nullopt, r);
  ASSERT_TRUE(event.ok()) << event.status();
  const auto& c = event->captured();
  EXPECT_EQ(c.contact().name(), "Μαρία Κωνσταντίνου");
  EXPECT_EQ(c.contact().email(), "maria@example.gr");
  EXPECT_EQ(c.source(), events::v1::LEAD_SOURCE_WEB_FORM);
  EXPECT_THAT(c.product_interest(), ElementsAre("crm-pro"));
}

TEST(CaptureLead, GivenLeadCapturedWhenCaptureAgainThenAlreadyExists) {
  auto r = ValidRequest();
  std::optional<Lead> state;
  ASSERT_TRUE(Evolve(state, Enveloped(*DecideCapture(std::nullopt, r), "lead-1", 1)).ok());
  EXPECT_EQ(DecideCapture(state, r).status().code(), absl::StatusCode::kAlreadyExists);
}

TEST(CaptureLead, EvolveBuildsTheLeadWithVersion) {
  std::optional<Lead> state;
  ASSERT_TRUE(Evolve(state, Enveloped(*DecideCapture(std::nullopt, ValidRequest()), "lead-1", 1)).ok());
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->lead_id(), "lead-1");
  EXPECT_EQ(state->version(), 1);
  EXPECT_EQ(state->status(), api::v1::LEAD_STATUS_NEW);
  EXPECT_EQ(state->company(), "Ολυμπιακή Τεχνική");
}

TEST(CaptureLead, EvolveRefusesASecondCapture) {
  std::optional<Lead> state;
  auto payload = *DecideCapture(std::nullopt, ValidRequest());
  ASSERT_TRUE(Evolve(state, Enveloped(payload, "lead-1", 1)).ok());
  EXPECT_EQ(Evolve(state, Enveloped(payload, "lead-1", 2)).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(CaptureLead, EvolveRefusesForeignAndEmptyEvents) {
  std::optional<Lead> state;
  EventEnvelope e = Enveloped(LeadEvent(), "lead-1", 1);
  EXPECT_EQ(Evolve(state, e).code(), absl::StatusCode::kInvalidArgument);
  e.set_aggregate_type("offer");
  EXPECT_THAT(Evolve(state, e).message(), HasSubstr("not a lead event"));
}

TEST(ValidateCapture, NamesEachBadField) {
  auto r = ValidRequest();
  r.clear_idempotency_key();
  EXPECT_THAT(ViolationsOf(r), ElementsAre(Field(&FieldViolation::field, "idempotency_key")));
  r = ValidRequest();
  r.set_name("   ");
  EXPECT_THAT(ViolationsOf(r), ElementsAre(Field(&FieldViolation::field, "name")));
  r = ValidRequest();
  r.set_name(std::string(201, 'x'));
  EXPECT_THAT(ViolationsOf(r), ElementsAre(Field(&FieldViolation::description, "at most 200 characters")));
  r = ValidRequest();
  r.set_name("Ζ" + std::string(199, 'x'));  // 200 characters, 201 bytes: allowed
  EXPECT_TRUE(ValidateCapture(r).ok());
  r.set_name("tab\there");
  EXPECT_THAT(ViolationsOf(r), ElementsAre(Field(&FieldViolation::description, HasSubstr("control characters"))));
  r = ValidRequest();
  r.set_source(events::v1::LEAD_SOURCE_UNSPECIFIED);
  EXPECT_THAT(ViolationsOf(r), ElementsAre(Field(&FieldViolation::field, "source")));
  r = ValidRequest();
  r.set_region("GR ATT");
  EXPECT_THAT(ViolationsOf(r), ElementsAre(Field(&FieldViolation::field, "region")));
  r = ValidRequest();
  r.add_product_interest("CRM Pro");
  EXPECT_THAT(ViolationsOf(r), ElementsAre(Field(&FieldViolation::field, "product_interest[1]")));
  r = ValidRequest();
  r.set_idempotency_key("has space");
  EXPECT_THAT(ViolationsOf(r), ElementsAre(Field(&FieldViolation::field, "idempotency_key")));
}

TEST(ValidateCapture, ContactNeedsEmailOrPhone) {
  auto r = ValidRequest();
  r.clear_email();
  EXPECT_TRUE(ValidateCapture(r).ok());
  r.clear_phone();
  EXPECT_THAT(ViolationsOf(r), ElementsAre(Field(&FieldViolation::description, HasSubstr("e-mail or a phone"))));
}

TEST(ValidateCapture, Emails) {
  for (const char* good : {"a@b.co", "first.last+tag@sub.example.com", "o'neil@example.ie"}) {
    auto r = ValidRequest();
    r.set_email(good);
    EXPECT_TRUE(ValidateCapture(r).ok()) << good;
  }
  for (const char* bad : {"plain", "@example.com", "a@", "a@b", "a..b@example.com", "a@-x.com", "a@x.c", "a b@x.com",
                          "a@x.c0m", "a@@x.com"}) {
    auto r = ValidRequest();
    r.set_email(bad);
    EXPECT_THAT(ViolationsOf(r), ElementsAre(Field(&FieldViolation::field, "email"))) << bad;
  }
}

TEST(ValidateCapture, Phones) {
  for (const char* good : {"+302105550101", "(210) 555-0101", "210.555.0101"}) {
    auto r = ValidRequest();
    r.set_phone(good);
    EXPECT_TRUE(ValidateCapture(r).ok()) << good;
  }
  for (const char* bad : {"12345", "+1 (555) 0101 2222 33333", "555-CALL-NOW", "30+210555010"}) {
    auto r = ValidRequest();
    r.set_phone(bad);
    EXPECT_THAT(ViolationsOf(r), ElementsAre(Field(&FieldViolation::field, "phone"))) << bad;
  }
}

TEST(ValidateCapture, ReportsAllViolationsAtOnce) {
  api::v1::CaptureLeadRequest r;
  auto v = ViolationsOf(r);
  std::vector<std::string> fields;
  for (const auto& f : v) fields.push_back(f.field);
  EXPECT_THAT(fields, ElementsAre("idempotency_key", "name", "email", "source"));
}

TEST(LeadIdFor, SameKeySameLead) {
  EXPECT_EQ(LeadIdFor("k"), LeadIdFor("k"));
  EXPECT_NE(LeadIdFor("k"), LeadIdFor("k2"));
}

}  // namespace
}  // namespace sales::lead_acquisition
