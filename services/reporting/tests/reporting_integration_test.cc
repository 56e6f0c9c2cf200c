// Reporting as a user runs it: the real executables of lead acquisition, first offers and
// reporting on the real Kafka broker of the test run, real RocksDB, real gRPC. Sales reach the
// reports only through first offers' events on `sales.offers`; plans are reporting's own.
#include <atomic>
#include <thread>

#include "gmock/gmock.h"
#include "sales/api/v1/reporting.grpc.pb.h"
#include "services/first_offers/tests/offers_service_fixture.h"
#include "services/reporting/projection/reporting_projection.h"

namespace sales::reporting {
namespace {

using ::testing::HasSubstr;

class ReportingIT : public first_offers::FirstOffersIT {
 protected:
  void SetUp() override {
    FirstOffersIT::SetUp();
    plans_topic_ = prefix_ + "sales.plans";
    StartReporting();
    // A period around today (UTC), whatever day the test runs.
    const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
    period_ = StrCat(DayString(today - 1), "..", DayString(today + 1));
  }

  void TearDown() override {
    if (HasFailure() && reporting_) std::cerr << "reporting log tail:\n" << reporting_->LogTail(60);
    FirstOffersIT::TearDown();
  }

  StatusOr<std::unique_ptr<testing::ServiceProcess>> StartReportingProcess(const std::string& store) {
    testing::ServiceOptions o;
    o.binary = SALES_REPORTING_BIN;
    o.args = CommonArgs(store);
    o.work_dir = dir_.File(store + "-work");
    std::filesystem::create_directories(o.work_dir);
    return testing::ServiceProcess::Start(o);
  }

  void StartReporting() {
    auto service = StartReportingProcess("reporting-store");
    ASSERT_TRUE(service.ok()) << service.status();
    reporting_ = std::move(*service);
    reporting_stub_ = api::v1::Reporting::NewStub(reporting_->Channel());
  }

  ::grpc::Status SetTarget(const std::string& key, const std::string& manager, int64_t units,
                           api::v1::PlanCommandResponse* out, absl::Duration deadline = absl::Seconds(20)) {
    api::v1::SetTargetRequest r;
    r.set_idempotency_key(key);
    r.set_period(period_);
    r.set_metric(events::v1::PLAN_METRIC_REVENUE);
    r.set_dimension(manager.empty() ? events::v1::PLAN_DIMENSION_COMPANY : events::v1::PLAN_DIMENSION_MANAGER);
    r.set_key(manager);
    r.mutable_amount()->set_units(units);
    r.mutable_amount()->set_currency("EUR");
    ::grpc::ClientContext ctx;
    return reporting_stub_->SetTarget(Context(&ctx, deadline), r, out);
  }

  StatusOr<api::v1::PlanVsActualResponse> Report(events::v1::PlanMetric metric,
                                                 events::v1::PlanDimension by = events::v1::PLAN_DIMENSION_COMPANY) {
    api::v1::PlanVsActualRequest r;
    r.set_period(period_);
    r.set_metric(metric);
    r.set_by(by);
    api::v1::PlanVsActualResponse out;
    ::grpc::ClientContext ctx;
    auto s = reporting_stub_->GetPlanVsActual(Context(&ctx), r, &out);
    if (!s.ok()) return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
    return out;
  }

  // Waits until the company's revenue in the period reaches `units`.
  void WaitForRevenue(int64_t units) {
    int64_t seen = -1;
    EXPECT_TRUE(testing::WaitUntil(
        [&] {
          auto r = Report(events::v1::PLAN_METRIC_REVENUE);
          seen = r.ok() && r->total().rows_size() > 0 ? r->total().rows(0).actual_amount().units() : -1;
          return seen == units;
        },
        absl::Seconds(30)))
        << "revenue never reached " << units << " (last seen " << seen << ")";
  }

  // An accepted first offer of 10 x crm-pro at 49.90 EUR (cost 12.00 EUR): 499.00 EUR.
  void Sale(const std::string& key) {
    const std::string lead = QualifiedLead(key);
    api::v1::OfferCommandResponse out;
    ASSERT_TRUE(Draft(key + "-offer", lead, Terms(10, 0), &out).ok());
    ASSERT_TRUE(Send(key + "-send", out.offer_id(), &out).ok());
    ASSERT_TRUE(Accept(key + "-accept", out.offer_id(), &out).ok());
  }

  // Stops the serving reporting, rebuilds a fresh store from the four topics with a second
  // instance, and checks both stores hold the same rows byte for byte.
  void ExpectReportingRebuildGivesIdenticalRows() {
    auto stopped = reporting_->Stop();
    ASSERT_TRUE(stopped.ok() && *stopped == 0) << "reporting did not stop cleanly";
    auto rebuild = StartReportingProcess("reporting-rebuild");
    ASSERT_TRUE(rebuild.ok()) << rebuild.status();
    ASSERT_TRUE((*rebuild)->Stop().ok());
    ReportingProjection projection;
    testing::ExpectSameRows(testing::StoreRows(dir_.File("reporting-store"), projection),
                            testing::StoreRows(dir_.File("reporting-rebuild"), projection));
    StartReporting();
  }

  std::string plans_topic_, period_;
  std::unique_ptr<testing::ServiceProcess> reporting_;
  std::unique_ptr<api::v1::Reporting::Stub> reporting_stub_;
};

TEST_F(ReportingIT, AcceptedOffersReachPlanAgainstActualAndARebuildGivesTheSameRows) {
  ASSERT_TRUE(UpsertProduct("crm-pro", 4990, 1200).ok());
  const std::string manager = RegisterManager("rep-mgr");
  api::v1::PlanCommandResponse target;
  ASSERT_TRUE(SetTarget("rep-target-1", "", 200000, &target).ok());  // 2,000.00 EUR
  EXPECT_EQ(target.version(), 1);
  Sale("rep-sale-1");
  Sale("rep-sale-2");
  WaitForRevenue(99800);  // 2 x 499.00

  auto report = Report(events::v1::PLAN_METRIC_REVENUE);
  ASSERT_TRUE(report.ok()) << report.status();
  const auto& row = report->total().rows(0);
  EXPECT_EQ(row.target_amount().units(), 200000);
  EXPECT_TRUE(row.has_target());
  EXPECT_DOUBLE_EQ(row.attainment(), 0.499);
  EXPECT_EQ(report->total().facts(), 2);
  // The margin: the catalogue's cost recorded on the acceptance (2 x 10 x 12.00).
  auto margin = Report(events::v1::PLAN_METRIC_MARGIN);
  ASSERT_TRUE(margin.ok());
  EXPECT_EQ(margin->total().rows(0).actual_amount().units(), 99800 - 24000);
  EXPECT_EQ(margin->margin_without_cost(), 0);
  // Offers sent and new clients count too, attributed to the offers' owner.
  auto sent = Report(events::v1::PLAN_METRIC_OFFERS_SENT, events::v1::PLAN_DIMENSION_MANAGER);
  ASSERT_TRUE(sent.ok());
  ASSERT_EQ(sent->total().rows_size(), 1);
  EXPECT_EQ(sent->total().rows(0).key(), manager);
  EXPECT_DOUBLE_EQ(sent->total().rows(0).actual_count(), 2);

  // A revision: the history stays, the report uses the new value.
  ASSERT_TRUE(SetTarget("rep-target-2", "", 100000, &target).ok());
  EXPECT_EQ(target.version(), 2);
  report = Report(events::v1::PLAN_METRIC_REVENUE);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->total().rows(0).target_amount().units(), 100000);

  ExpectReportingRebuildGivesIdenticalRows();
  report = Report(events::v1::PLAN_METRIC_REVENUE);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->total().rows(0).actual_amount().units(), 99800);
}

TEST_F(ReportingIT, BadRequestsNameTheFieldAndRecordNothing) {
  api::v1::SetTargetRequest r;
  r.set_idempotency_key("rep-bad");
  r.set_period("2026-13");
  r.set_metric(events::v1::PLAN_METRIC_CALLS);
  r.set_dimension(events::v1::PLAN_DIMENSION_COMPANY);
  r.set_count(-1);
  api::v1::PlanCommandResponse out;
  ::grpc::ClientContext ctx;
  const auto s = reporting_stub_->SetTarget(Context(&ctx), r, &out);
  EXPECT_EQ(s.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("period"));
  EXPECT_THAT(s.error_message(), HasSubstr("count"));
  auto report = Report(events::v1::PLAN_METRIC_UNSPECIFIED);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(report.status().message(), HasSubstr("metric"));
  auto events = testing::ReadTopic(plans_topic_);
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(events->empty());
}

// SetTarget commands in flight when reporting is killed: every acknowledged one survives, and
// retrying every key afterwards leaves exactly one event per key.
TEST_F(ReportingIT, KillNineDuringCommandsLosesAndDuplicatesNothing) {
  constexpr int kKeys = 300;
  auto set = [&](int i, absl::Duration deadline) {
    api::v1::PlanCommandResponse out;
    return SetTarget("rep-kill-" + std::to_string(i), "mgr-" + std::to_string(i), 1000 + i, &out, deadline);
  };
  std::atomic<int> next{0}, acked{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 6; ++t) {
    callers.emplace_back([&] {
      for (int i; (i = next++) < kKeys;) {
        if (set(i, absl::Seconds(5)).ok()) ++acked;
      }
    });
  }
  testing::WaitUntil([&] { return next >= kKeys / 3; }, absl::Seconds(60));
  reporting_->Kill();
  for (auto& t : callers) t.join();
  ASSERT_LT(acked.load(), kKeys) << "nothing was in flight at the kill";
  const int acknowledged_before = acked.load();
  StartReporting();
  api::v1::ListTargetsRequest list;
  list.set_dimension(events::v1::PLAN_DIMENSION_MANAGER);
  api::v1::ListTargetsResponse targets;
  {
    ::grpc::ClientContext ctx;
    ASSERT_TRUE(reporting_stub_->ListTargets(Context(&ctx), list, &targets).ok());
  }
  EXPECT_GE(targets.targets_size(), acknowledged_before) << "an acknowledged target was lost";
  for (int i = 0; i < kKeys; ++i) {
    auto s = set(i, absl::Seconds(20));
    ASSERT_TRUE(s.ok()) << i << ": " << s.error_message();
  }
  auto all = testing::ReadTopic(plans_topic_);
  ASSERT_TRUE(all.ok());
  std::map<std::string, int> per_key;
  for (const auto& m : *all) {
    auto e = events::Decode(m.value);
    ASSERT_TRUE(e.ok());
    per_key[e->idempotency_key()]++;
  }
  for (int i = 0; i < kKeys; ++i) EXPECT_EQ(per_key["rep-kill-" + std::to_string(i)], 1) << i;
  {
    ::grpc::ClientContext ctx;
    ASSERT_TRUE(reporting_stub_->ListTargets(Context(&ctx), list, &targets).ok());
  }
  EXPECT_EQ(targets.targets_size(), kKeys);
  ExpectReportingRebuildGivesIdenticalRows();
}

}  // namespace
}  // namespace sales::reporting
