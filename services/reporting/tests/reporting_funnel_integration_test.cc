// The funnel, cycle times, lost reasons and scorecards as a user gets them: the real executables of
// lead acquisition, first offers, client support and reporting on the real Kafka broker of the
// test run. A scripted quarter: the services' clocks are moved back in time (--test-clock-offset-
// file) so that the leads are captured, worked, offered and won months apart; the expected figures
// are computed by hand below. Then an as-of answer, and a rebuild of reporting's store that must
// give the same rows and the same answers.
#include "gmock/gmock.h"
#include "sales/api/v1/client_support.grpc.pb.h"
#include "sales/api/v1/reporting.grpc.pb.h"
#include "services/first_offers/tests/offers_service_fixture.h"
#include "services/reporting/projection/reporting_projection.h"

namespace sales::reporting {
namespace {

constexpr int64_t kDay = 86400;
// Real seconds pass between the commands of one phase: durations are checked to within this.
constexpr double kSlack = 300;

class ReportingFunnelIT : public first_offers::FirstOffersIT {
 protected:
  void SetUp() override {
    FirstOffersIT::SetUp();
    RestartLeadsOnTheMovableClock();
    StartService(SALES_CLIENT_SUPPORT_BIN, "support-store", support_);
    support_stub_ = api::v1::ClientSupport::NewStub(support_->Channel());
    StartReporting("reporting-store");
  }

  void TearDown() override {
    if (HasFailure()) {
      if (reporting_) std::cerr << "reporting log tail:\n" << reporting_->LogTail(40);
      if (support_) std::cerr << "client-support log tail:\n" << support_->LogTail(40);
    }
    FirstOffersIT::TearDown();
  }

  void StartService(const char* binary, const std::string& store, std::unique_ptr<testing::ServiceProcess>& out) {
    testing::ServiceOptions o;
    o.binary = binary;
    o.args = CommonArgs(store);
    o.args.push_back("--test-clock-offset-file=" + dir_.File("clock-offset"));
    o.work_dir = dir_.File(store + "-work");
    std::filesystem::create_directories(o.work_dir);
    auto started = testing::ServiceProcess::Start(o);
    ASSERT_TRUE(started.ok()) << started.status();
    out = std::move(*started);
  }

  // The fixture starts lead acquisition on the real clock; this test moves its clock too.
  void RestartLeadsOnTheMovableClock() {
    ASSERT_TRUE(leads_->Stop().ok());
    StartService(SALES_LEAD_ACQUISITION_BIN, "leads-store", leads_);
    lead_stub_ = api::v1::LeadAcquisition::NewStub(leads_->Channel());
  }

  void StartReporting(const std::string& store) {
    StartService(SALES_REPORTING_BIN, store, reporting_);
    reporting_stub_ = api::v1::Reporting::NewStub(reporting_->Channel());
  }

  // Moves every service's clock to `days` from the real now; returns the moved now.
  absl::Time Phase(int days) {
    SetClockOffset(absl::Hours(24 * days));  // in effect on return
    return absl::Now() + absl::Hours(24 * days);
  }

  std::string Manager(const std::string& key, const std::string& extension) {
    api::v1::RegisterManagerRequest r;
    r.set_idempotency_key(key);
    r.set_name("Άννα Κ.");
    r.set_email(key + "@sales.example.gr");
    r.add_regions("*");
    r.set_extension(extension);
    api::v1::ManagerCommandResponse out;
    ::grpc::ClientContext ctx;
    auto s = lead_stub_->RegisterManager(Context(&ctx), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.manager_id();
  }

  void Expect(const ::grpc::Status& s) { EXPECT_TRUE(s.ok()) << s.error_message(); }

  void Qualify(const std::string& lead) {
    api::v1::QualifyLeadRequest q;
    q.set_idempotency_key(lead + "-q");
    q.set_lead_id(lead);
    q.set_need("a CRM");
    api::v1::LeadCommandResponse out;
    ::grpc::ClientContext ctx;
    Expect(lead_stub_->QualifyLead(Context(&ctx), q, &out));
    ASSERT_TRUE(testing::WaitUntil(
        [&] {
          api::v1::GetOpportunityRequest g;
          g.set_lead_id(lead);
          api::v1::Opportunity o;
          ::grpc::ClientContext gctx;
          return stub_->GetOpportunity(Context(&gctx), g, &o).ok() &&
                 o.status() == api::v1::OPPORTUNITY_STATUS_OPEN;
        },
        absl::Seconds(30)));
  }

  void Disqualify(const std::string& lead, events::v1::DisqualificationReason reason) {
    api::v1::DisqualifyLeadRequest r;
    r.set_idempotency_key(lead + "-dq");
    r.set_lead_id(lead);
    r.set_reason(reason);
    api::v1::LeadCommandResponse out;
    ::grpc::ClientContext ctx;
    Expect(lead_stub_->DisqualifyLead(Context(&ctx), r, &out));
  }

  void Merge(const std::string& survivor, const std::string& merged) {
    api::v1::MergeLeadsRequest r;
    r.set_idempotency_key(merged + "-merge");
    r.set_survivor_lead_id(survivor);
    r.set_merged_lead_id(merged);
    r.set_note("the same buyer, another e-mail");
    api::v1::MergeLeadsResponse out;
    ::grpc::ClientContext ctx;
    Expect(lead_stub_->MergeLeads(Context(&ctx), r, &out));
  }

  void Activity(const std::string& lead, const std::string& manager, events::v1::ActivityType type, absl::Time at,
                int32_t seconds) {
    api::v1::LogLeadActivityRequest r;
    r.set_idempotency_key(lead + "-activity-" + std::to_string(type));
    r.set_lead_id(lead);
    r.set_type(type);
    r.set_outcome(events::v1::ACTIVITY_OUTCOME_REACHED);
    r.set_manager_id(manager);
    *r.mutable_occurred_at() = events::ToProto(at);
    r.set_duration_seconds(seconds);
    api::v1::LeadCommandResponse out;
    ::grpc::ClientContext ctx;
    Expect(lead_stub_->LogLeadActivity(Context(&ctx), r, &out));
  }

  // Drafted and sent now; returns the offer id.
  std::string SentOffer(const std::string& lead) {
    api::v1::OfferCommandResponse out;
    Expect(Draft(lead + "-offer", lead, Terms(10, 0, absl::Hours(24 * 200)), &out));
    Expect(Send(lead + "-send", out.offer_id(), &out));
    return out.offer_id();
  }

  void Reject(const std::string& offer) {
    api::v1::RejectOfferRequest r = OnOffer<api::v1::RejectOfferRequest>(offer + "-reject", offer);
    r.set_reason(events::v1::REJECTION_REASON_PRICE);
    api::v1::OfferCommandResponse out;
    ::grpc::ClientContext ctx;
    Expect(stub_->RejectOffer(Context(&ctx), r, &out));
  }

  api::v1::Client ClientOf(const std::string& lead) {
    api::v1::Client client;
    EXPECT_TRUE(testing::WaitUntil(
        [&] {
          api::v1::GetClientRequest r;
          r.set_lead_id(lead);
          ::grpc::ClientContext ctx;
          return support_stub_->GetClient(Context(&ctx), r, &client).ok();
        },
        absl::Seconds(30)))
        << "client support never opened the client of lead " << lead;
    return client;
  }

  void Meeting(const std::string& client, const std::string& manager, absl::Time at) {
    api::v1::LogInteractionRequest r;
    r.set_idempotency_key(client + "-meeting");
    r.set_client_id(client);
    r.set_kind(events::v1::INTERACTION_KIND_MEETING);
    r.set_outcome(events::v1::INTERACTION_OUTCOME_FOLLOW_UP);
    r.set_manager_id(manager);
    r.set_duration_seconds(3600);
    *r.mutable_occurred_at() = events::ToProto(at);
    api::v1::ClientCommandResponse out;
    ::grpc::ClientContext ctx;
    Expect(support_stub_->LogInteraction(Context(&ctx), r, &out));
  }

  void PbxCall(const std::string& id, const std::string& from, absl::Time started_at, const std::string& extension) {
    const std::string json =
        StrCat(R"({"schema_version":1,"call_id":")", id, R"(","from":")", from,
               R"(","to":"+302100000000","direction":"inbound","started_at":")",
               absl::FormatTime(absl::RFC3339_sec, started_at, absl::UTCTimeZone()),
               R"(","duration_seconds":180,"answered":true,"extension":")", extension, R"("})");
    testing::RawProducer producer;
    ASSERT_TRUE(producer.Send(prefix_ + "telephony.calls.inbound", id, json).ok());
  }

  template <typename Request, typename Response>
  Response Ask(::grpc::Status (api::v1::Reporting::Stub::*rpc)(::grpc::ClientContext*, const Request&, Response*),
               const Request& r) {
    Response out;
    ::grpc::ClientContext ctx;
    Expect((reporting_stub_.get()->*rpc)(Context(&ctx), r, &out));
    return out;
  }

  template <typename Request>
  Request Scope(const std::string& period, absl::Time as_of, api::v1::Bucket dynamics = api::v1::BUCKET_UNSPECIFIED) {
    Request r;
    r.set_period(period);
    *r.mutable_as_of() = events::ToProto(as_of);
    r.set_dynamics(dynamics);
    return r;
  }

  api::v1::FunnelResponse Funnel(const std::string& period, absl::Time as_of,
                                 api::v1::Bucket dynamics = api::v1::BUCKET_UNSPECIFIED) {
    return Ask(&api::v1::Reporting::Stub::GetFunnel, Scope<api::v1::FunnelRequest>(period, as_of, dynamics));
  }
  api::v1::ScorecardsResponse Scores(const std::string& period, absl::Time as_of) {
    return Ask(&api::v1::Reporting::Stub::GetScorecards, Scope<api::v1::ScorecardsRequest>(period, as_of));
  }

  // Every report of the slice over `period` as of `as_of`, serialized: a rebuild must answer the same.
  std::string Answers(const std::string& period, absl::Time as_of) {
    return Funnel(period, as_of, api::v1::BUCKET_MONTH).SerializeAsString() +
           Ask(&api::v1::Reporting::Stub::GetCycleTimes, Scope<api::v1::CycleTimesRequest>(period, as_of))
               .SerializeAsString() +
           Ask(&api::v1::Reporting::Stub::GetLostReasons, Scope<api::v1::LostReasonsRequest>(period, as_of))
               .SerializeAsString() +
           Scores(period, as_of).SerializeAsString();
  }

  std::unique_ptr<testing::ServiceProcess> support_, reporting_;
  std::unique_ptr<api::v1::ClientSupport::Stub> support_stub_;
  std::unique_ptr<api::v1::Reporting::Stub> reporting_stub_;
};

std::vector<int64_t> Figures(const api::v1::FunnelStages& s) {
  return {s.captured(), s.qualified(), s.first_offer(), s.won(), s.lost()};
}

// The script (days from today; each phase's commands happen at that moved time):
//   -105  manager M (extension 201); leads A, B, C, E captured (all M's: M covers every region);
//         E merged into A
//   -100  A and B qualified; C disqualified (NO_BUDGET)
//    -95  A's offer sent
//    -70  M's call to A (logged, 10 min, at -104) and e-mail to B (20 min, at -103); A's offer
//         accepted (A becomes a client); B's offer sent and rejected (PRICE); lead D captured
//    -66  D qualified
//    -35  D's offer sent and accepted; a 1 h meeting with A's client; a 3 min PBX call from A's
//         client to extension 201
TEST_F(ReportingFunnelIT, AScriptedQuarterGivesTheFiguresWorkedOutByHandAndARebuildTheSameAnswers) {
  const absl::Time p1 = Phase(-105);
  ASSERT_TRUE(UpsertProduct("crm-pro", 4990, 1200).ok());
  const std::string m = Manager("funnel-m", "201");
  const std::string a = QualifiedLead("funnel-a", false), b = QualifiedLead("funnel-b", false),
                    c = QualifiedLead("funnel-c", false), e = QualifiedLead("funnel-e", false);
  Merge(a, e);
  Phase(-100);
  Qualify(a);
  Qualify(b);
  Disqualify(c, events::v1::DISQUALIFICATION_REASON_NO_BUDGET);
  const absl::Time p3 = Phase(-95);
  const std::string offer_a = SentOffer(a);
  Phase(-70);
  Activity(a, m, events::v1::ACTIVITY_TYPE_CALL, p1 + absl::Hours(24), 600);
  Activity(b, m, events::v1::ACTIVITY_TYPE_EMAIL, p1 + absl::Hours(48), 1200);
  api::v1::OfferCommandResponse out;
  Expect(Accept(offer_a + "-accept", offer_a, &out));
  Reject(SentOffer(b));
  const std::string d = QualifiedLead("funnel-d", false);
  Phase(-66);
  Qualify(d);
  const absl::Time p6 = Phase(-35);
  const std::string offer_d = SentOffer(d);
  Expect(Accept(offer_d + "-accept", offer_d, &out));
  const api::v1::Client client = ClientOf(a);
  Meeting(client.client_id(), m, p6);
  PbxCall("funnel-call-1", client.phone(), p6, "201");
  SetClockOffset(absl::ZeroDuration());

  const absl::Time now = absl::Now();
  const std::string all = StrCat(DayString(absl::ToCivilDay(p1, absl::UTCTimeZone())), "..",
                                 DayString(absl::ToCivilDay(now, absl::UTCTimeZone())));
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        const auto s = Scores(all, now + absl::Hours(1));
        return Figures(Funnel(all, now).total().rows(0).activity())[3] == 2 && s.total().rows_size() == 1 &&
               s.total().rows(0).calls_pbx() == 1 && s.total().rows(0).meetings() == 1;
      },
      absl::Seconds(40)))
      << "reporting never saw the whole script";

  // The funnel: A, B, C captured on day -105 (E is A); D on day -70.
  const std::string day1 = DayString(absl::ToCivilDay(p1, absl::UTCTimeZone()));
  auto cohort = Funnel(day1, now).total().rows(0);
  EXPECT_THAT(Figures(cohort.cohort()), ::testing::ElementsAre(3, 2, 2, 1, 2));  // B rejected, C disqualified
  EXPECT_NEAR(cohort.qualified_rate(), 2.0 / 3, 1e-9);
  EXPECT_DOUBLE_EQ(cohort.win_rate(), 0.5);
  const auto whole = Funnel(all, now, api::v1::BUCKET_MONTH);
  EXPECT_THAT(Figures(whole.total().rows(0).activity()), ::testing::ElementsAre(4, 3, 3, 2, 2));
  // By month: each phase's stages land in the month of its day.
  std::map<std::string, std::vector<int64_t>> by_month;
  const auto add = [&](absl::Time at, std::vector<int64_t> stages) {
    auto& sums = by_month[absl::FormatCivilTime(absl::ToCivilMonth(at, absl::UTCTimeZone()))];
    sums.resize(5);
    for (size_t i = 0; i < 5; ++i) sums[i] += stages[i];
  };
  add(p1, {3, 0, 0, 0, 0});
  add(p1 + absl::Hours(24 * 5), {0, 2, 0, 0, 1});  // -100
  add(p3, {0, 0, 1, 0, 0});
  add(p1 + absl::Hours(24 * 35), {1, 0, 1, 1, 1});  // -70: D captured, B offered and lost, A won
  add(p1 + absl::Hours(24 * 39), {0, 1, 0, 0, 0});  // -66
  add(p6, {0, 0, 1, 1, 0});
  ASSERT_GE(whole.buckets_size(), 3);
  for (const auto& bucket : whole.buckets()) {
    const std::string month = bucket.period().label().substr(0, 7);
    std::vector<int64_t> expected = by_month.count(month) ? by_month[month] : std::vector<int64_t>(5, 0);
    EXPECT_EQ(Figures(bucket.rows(0).activity()), expected) << bucket.period().label();
  }
  // As of the day after A's offer was sent: B's offer, the win and the rejection were not known.
  auto then = Funnel(day1, p3 + absl::Hours(24)).total().rows(0);
  EXPECT_THAT(Figures(then.cohort()), ::testing::ElementsAre(3, 2, 1, 0, 1));

  // Cycle times: captured to qualified 5, 5, 4 days; qualified to first offer 5, 30, 31; sent to
  // accepted 25, 0; captured to won 35, 35.
  auto cycles = Ask(&api::v1::Reporting::Stub::GetCycleTimes, Scope<api::v1::CycleTimesRequest>(all, now));
  const auto& row = cycles.total().rows(0);
  EXPECT_EQ(row.captured_to_qualified().count(), 3);
  EXPECT_NEAR(row.captured_to_qualified().median_seconds(), 5 * kDay, kSlack);
  EXPECT_NEAR(row.captured_to_qualified().p90_seconds(), 5 * kDay, kSlack);
  EXPECT_NEAR(row.qualified_to_first_offer().median_seconds(), 30 * kDay, kSlack);
  EXPECT_NEAR(row.qualified_to_first_offer().p90_seconds(), 31 * kDay, kSlack);
  EXPECT_NEAR(row.sent_to_accepted().median_seconds(), 0, kSlack);
  EXPECT_NEAR(row.sent_to_accepted().p90_seconds(), 25 * kDay, kSlack);
  EXPECT_NEAR(row.captured_to_won().median_seconds(), 35 * kDay, kSlack);

  auto lost = Ask(&api::v1::Reporting::Stub::GetLostReasons, Scope<api::v1::LostReasonsRequest>(all, now));
  ASSERT_EQ(lost.total().disqualified_size(), 1);
  EXPECT_EQ(lost.total().disqualified(0).reason(), "DISQUALIFICATION_REASON_NO_BUDGET");
  ASSERT_EQ(lost.total().rejected_size(), 1);
  EXPECT_EQ(lost.total().rejected(0).reason(), "REJECTION_REASON_PRICE");

  // M's scorecard: A, B, C, D assigned (E is A); A answered in a day, B in two; C and D never.
  auto card = Scores(all, now).total().rows(0);
  EXPECT_EQ(card.manager_id(), m);
  EXPECT_EQ(card.leads_assigned(), 4);
  EXPECT_EQ(card.responded(), 2);
  EXPECT_EQ(card.unanswered(), 2);
  EXPECT_NEAR(card.first_response_median_seconds(), kDay, kSlack);
  EXPECT_NEAR(card.first_response_p90_seconds(), 2 * kDay, kSlack);
  EXPECT_EQ(card.calls_logged(), 1);
  EXPECT_EQ(card.calls_pbx(), 1);
  EXPECT_EQ(card.meetings(), 1);
  EXPECT_EQ(card.emails(), 1);
  EXPECT_EQ(card.offers_sent(), 3);
  EXPECT_EQ(card.won(), 2);
  EXPECT_EQ(card.lost(), 1);
  EXPECT_NEAR(card.win_rate(), 2.0 / 3, 1e-9);
  EXPECT_EQ(card.revenue().units(), 99800);  // 2 x 10 x 49.90
  EXPECT_EQ(card.average_deal().units(), 49900);
  EXPECT_EQ(card.time_with_prospects_seconds(), 600 + 3600 + 180);
  EXPECT_EQ(card.logged_seconds(), 600 + 3600 + 180 + 1200);
  EXPECT_NEAR(card.time_with_prospects_share(), 4380.0 / 5580, 1e-9);
  EXPECT_FALSE(card.meets_time_target());

  // A rebuild of reporting's store from the topics: the same rows, the same answers.
  const std::string before = Answers(all, now);
  ASSERT_TRUE(reporting_->Stop().ok());
  std::unique_ptr<testing::ServiceProcess> rebuild;
  StartService(SALES_REPORTING_BIN, "reporting-rebuild", rebuild);
  ASSERT_TRUE(rebuild->Stop().ok());
  ReportingProjection projection;
  testing::ExpectSameRows(testing::StoreRows(dir_.File("reporting-store"), projection),
                          testing::StoreRows(dir_.File("reporting-rebuild"), projection));
  StartReporting("reporting-rebuild");
  EXPECT_EQ(Answers(all, now), before);
}

}  // namespace
}  // namespace sales::reporting
