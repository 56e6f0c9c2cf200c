#include "common/events/envelope.h"

#include <fstream>
#include <sstream>

#include "common/testing/fake_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sales::events {
namespace {

using ::testing::HasSubstr;

EventEnvelope Sample() {
  testing::FakeClock clock;
  EventEnvelope e = NewEnvelope("lead", "lead-1", 1, "lead.captured", 1,
                                {"corr-1", "cause-1", "alice", "key-1", "lead-acquisition"}, clock);
  e.mutable_lead()->mutable_captured()->mutable_contact()->set_name("Νίκος Παπαδόπουλος");
  return e;
}

TEST(Envelope, RoundTripsEveryField) {
  EventEnvelope e = Sample();
  auto decoded = Decode(Encode(e));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->SerializeAsString(), e.SerializeAsString());
  EXPECT_EQ(decoded->correlation_id(), "corr-1");
  EXPECT_EQ(decoded->actor(), "alice");
  EXPECT_EQ(decoded->idempotency_key(), "key-1");
  EXPECT_EQ(decoded->lead().captured().contact().name(), "Νίκος Παπαδόπουλος");
  EXPECT_EQ(FromProto(decoded->occurred_at()), absl::FromUnixSeconds(1767225600));
}

TEST(Envelope, RefusesGarbageWithAReason) {
  auto s = Decode("\xff\xff\xff not protobuf");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("not a valid sales.events.v1.EventEnvelope"));
  EXPECT_THAT(Decode("").status().message(), HasSubstr("empty message"));
}

TEST(Envelope, RefusesMissingRequiredFields) {
  EventEnvelope e = Sample();
  e.set_event_id("nope");
  EXPECT_THAT(Decode(Encode(e)).status().message(), HasSubstr("event_id: not a UUID"));
  e = Sample();
  e.set_aggregate_version(0);
  EXPECT_THAT(Decode(Encode(e)).status().message(), HasSubstr("aggregate_version: must be >= 1"));
  e = Sample();
  e.clear_aggregate_id();
  EXPECT_THAT(Decode(Encode(e)).status().message(), HasSubstr("aggregate_id: missing"));
  e = Sample();
  e.clear_lead();
  EXPECT_THAT(Decode(Encode(e)).status().message(), HasSubstr("payload: missing"));
}

TEST(Envelope, TimestampsKeepNanosecondsAndPreEpoch) {
  const absl::Time t = absl::FromUnixNanos(-1500000001);
  EXPECT_EQ(FromProto(ToProto(t)), t);
  EXPECT_GE(ToProto(t).nanos(), 0);
}

// Events written by earlier releases must stay readable forever. Each fixture is the exact bytes
// a release wrote; never edit one, add new ones.
std::string ReadFixture(const std::string& name) {
  std::ifstream in(std::string(SALES_FIXTURES_DIR) + "/events/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(EnvelopeFixtures, V1LeadCapturedStaysReadable) {
  const std::string bytes = ReadFixture("v1/lead_captured.bin");
  ASSERT_FALSE(bytes.empty()) << "fixture missing";
  auto e = Decode(bytes);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->event_id(), "5f0c7b1e-3d7a-4e55-9a51-2b6f1c0d9e01");
  EXPECT_EQ(e->aggregate_type(), "lead");
  EXPECT_EQ(e->aggregate_id(), "2b1f4b7e-7b0a-5c55-8f0e-6f1d2f3a4b5c");
  EXPECT_EQ(e->aggregate_version(), 1);
  EXPECT_EQ(e->event_type(), "lead.captured");
  EXPECT_EQ(e->schema_version(), 1u);
  EXPECT_EQ(e->idempotency_key(), "fixture-key-1");
  const auto& c = e->lead().captured();
  EXPECT_EQ(c.contact().name(), "Ελένη Γεωργίου");
  EXPECT_EQ(c.contact().email(), "eleni@example.gr");
  EXPECT_EQ(c.source(), v1::LEAD_SOURCE_WEB_FORM);
  EXPECT_EQ(c.region(), "GR-ATT");
  ASSERT_EQ(c.product_interest_size(), 2);
  EXPECT_EQ(c.product_interest(1), "crm-pro");
}

// Written by first offers' first release (the .textproto beside each is how it was made).
TEST(EnvelopeFixtures, V1OfferAndProductEventsStayReadable) {
  auto drafted = Decode(ReadFixture("v1/offer_drafted.bin"));
  ASSERT_TRUE(drafted.ok()) << drafted.status();
  EXPECT_EQ(drafted->event_type(), "offer.drafted");
  const auto& d = drafted->offer().drafted();
  EXPECT_EQ(d.lead().contact().company(), "Γεωργίου Α.Ε.");
  EXPECT_EQ(d.lead().owner_manager_id(), "9a8b7c6d-5e4f-5a3b-8c2d-1e0f9a8b7c6d");
  ASSERT_EQ(d.terms().lines_size(), 1);
  EXPECT_EQ(d.terms().lines(0).quantity(), 3);
  EXPECT_EQ(d.terms().lines(0).discount_bp(), 1250);
  EXPECT_EQ(d.terms().total().units(), 5247);
  EXPECT_EQ(d.terms().total().currency(), "EUR");
  EXPECT_EQ(d.terms().payment_terms(), v1::PAYMENT_TERMS_NET_30);

  auto accepted = Decode(ReadFixture("v1/offer_accepted.bin"));
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  const auto& a = accepted->offer().accepted();
  EXPECT_TRUE(a.converts_lead());
  EXPECT_EQ(a.conversion().lead_id(), "2b1f4b7e-7b0a-5c55-8f0e-6f1d2f3a4b5c");
  EXPECT_EQ(a.conversion().region(), "GR-ATT");
  EXPECT_EQ(a.conversion().value().units(), 5247);
  ASSERT_EQ(a.conversion().product_codes_size(), 1);

  auto product = Decode(ReadFixture("v1/product_upserted.bin"));
  ASSERT_TRUE(product.ok()) << product.status();
  EXPECT_EQ(product->aggregate_type(), "product");
  EXPECT_EQ(product->product().upserted().unit_cost().units(), 600);
  EXPECT_TRUE(product->product().upserted().active());
}

// Client support's repeat orders: before unit costs were recorded, and with them.
TEST(EnvelopeFixtures, V1OrderRecordedStaysReadableWithAndWithoutCosts) {
  auto before = Decode(ReadFixture("v1/order_recorded.bin"));
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->event_type(), "client.order_recorded");
  const auto& o = before->client().order_recorded();
  ASSERT_EQ(o.lines_size(), 1);
  EXPECT_EQ(o.lines(0).net().units(), 5247);
  EXPECT_EQ(o.total().units(), 5247);
  EXPECT_EQ(o.costs_size(), 0) << "orders recorded before costs have none";

  auto with_costs = Decode(ReadFixture("v1/order_recorded_costs.bin"));
  ASSERT_TRUE(with_costs.ok()) << with_costs.status();
  const auto& c = with_costs->client().order_recorded();
  ASSERT_EQ(c.costs_size(), 1);
  EXPECT_EQ(c.costs(0).product_code(), "crm-pro");
  EXPECT_EQ(c.costs(0).unit_cost().units(), 600);
  EXPECT_EQ(c.costs(0).unit_cost().currency(), "EUR");
  EXPECT_EQ(c.total().units(), 5247);
}

}  // namespace
}  // namespace sales::events
