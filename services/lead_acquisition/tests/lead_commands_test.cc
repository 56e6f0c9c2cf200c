// The command path with a fake publisher and a real store in a temp folder: idempotency, the
// UNAVAILABLE path and read-your-writes, without Kafka.
#include "services/lead_acquisition/lead_commands.h"

#include <thread>

#include "common/testing/fake_clock.h"
#include "common/testing/fake_publisher.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/lead_acquisition/lead_projection.h"

namespace sales::lead_acquisition {
namespace {

using ::testing::HasSubstr;

api::v1::CaptureLeadRequest Request(const std::string& key) {
  api::v1::CaptureLeadRequest r;
  r.set_idempotency_key(key);
  r.set_name("Γιώργος Αλεξίου");
  r.set_email("g@example.gr");
  r.set_source(events::v1::LEAD_SOURCE_INBOUND_CALL);
  return r;
}

class LeadCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Store::Open({.path = dir_.path(), .column_families = projection_.column_families()}).value();
    applier_ = std::make_unique<projection::Applier>(store_.get(), &projection_);
    commands_ = std::make_unique<LeadCommands>(CommandOptions{"t.sales.leads"}, &publisher_, applier_.get(), &clock_);
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  testing::FakePublisher publisher_;
  LeadProjection projection_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<projection::Applier> applier_;
  std::unique_ptr<LeadCommands> commands_;
  const Caller caller_{"corr-9", "alice"};
};

TEST_F(LeadCommandsTest, CaptureAppendsOneEnvelopedEventAndIsReadableAtOnce) {
  auto r = commands_->CaptureLead(Request("k1"), caller_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->lead_id(), LeadIdFor("k1"));
  EXPECT_EQ(r->version(), 1);
  EXPECT_FALSE(r->replayed());

  auto published = publisher_.published();
  ASSERT_EQ(published.size(), 1u);
  EXPECT_EQ(published[0].topic, "t.sales.leads");
  EXPECT_EQ(published[0].key, r->lead_id());
  auto e = events::Decode(published[0].value);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->event_type(), kLeadCaptured);
  EXPECT_EQ(e->idempotency_key(), "k1");
  EXPECT_EQ(e->correlation_id(), "corr-9");
  EXPECT_EQ(e->actor(), "alice");
  EXPECT_EQ(e->producer(), "lead-acquisition");
  EXPECT_EQ(e->command_hash().size(), 64u);
  EXPECT_EQ(events::FromProto(e->occurred_at()), clock_.Now());

  api::v1::GetLeadRequest get;
  get.set_lead_id(r->lead_id());
  auto lead = commands_->GetLead(get);
  ASSERT_TRUE(lead.ok()) << lead.status();
  EXPECT_EQ(lead->name(), "Γιώργος Αλεξίου");
  EXPECT_EQ(lead->version(), 1);
}

TEST_F(LeadCommandsTest, RetryWithSameKeyAnswersTheFirstResultAndAppendsNothing) {
  auto first = commands_->CaptureLead(Request("k2"), caller_);
  ASSERT_TRUE(first.ok());
  auto retry = commands_->CaptureLead(Request("k2"), caller_);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->lead_id(), first->lead_id());
  EXPECT_EQ(retry->version(), 1);
  EXPECT_TRUE(retry->replayed());
  EXPECT_EQ(publisher_.published().size(), 1u);
}

TEST_F(LeadCommandsTest, ConcurrentRetriesAppendOnce) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] { ok += commands_->CaptureLead(Request("same"), caller_).ok(); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 8);
  EXPECT_EQ(publisher_.published().size(), 1u);
}

TEST_F(LeadCommandsTest, SameKeyDifferentRequestIsRefused) {
  ASSERT_TRUE(commands_->CaptureLead(Request("k3"), caller_).ok());
  auto other = Request("k3");
  other.set_name("Someone Else");
  auto r = commands_->CaptureLead(other, caller_);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("idempotency_key: already used for a different request"));
  EXPECT_EQ(publisher_.published().size(), 1u);
}

TEST_F(LeadCommandsTest, KafkaDownAnswersUnavailableAndWritesNothing) {
  publisher_.FailWith(absl::UnavailableError("kafka: broker down"));
  auto r = commands_->CaptureLead(Request("k4"), caller_);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  api::v1::GetLeadRequest get;
  get.set_lead_id(LeadIdFor("k4"));
  EXPECT_EQ(commands_->GetLead(get).status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(LoadIdempotency(*store_, "k4").value().has_value());

  publisher_.FailWith(absl::OkStatus());
  auto retry = commands_->CaptureLead(Request("k4"), caller_);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_FALSE(retry->replayed());
  EXPECT_EQ(publisher_.published().size(), 1u);
}

TEST_F(LeadCommandsTest, InvalidRequestAppendsNothing) {
  auto bad = Request("k5");
  bad.set_email("not-an-email");
  EXPECT_EQ(commands_->CaptureLead(bad, caller_).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(publisher_.published().empty());
}

TEST_F(LeadCommandsTest, GetLeadErrors) {
  api::v1::GetLeadRequest get;
  get.set_lead_id("nope");
  auto bad = commands_->GetLead(get);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("lead_id"));
  get.set_lead_id("123e4567-e89b-12d3-a456-426614174000");
  EXPECT_EQ(commands_->GetLead(get).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace sales::lead_acquisition
