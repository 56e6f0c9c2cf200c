// Reporting as a user runs it: the real executables of lead acquisition, first offers and
// reporting on the real Kafka broker of the test run, real RocksDB, real gRPC. Sales reach the
// reports only through first offers' events on `sales.offers`; plans are reporting's own.
#include <atomic>
#include <optional>
#include <thread>

#include "gmock/gmock.h"
#include "common/service/rebuild.h"
#include "sales/api/v1/admin.grpc.pb.h"
#include "sales/api/v1/reporting.grpc.pb.h"
#include "services/first_offers/tests/offers_service_fixture.h"
#include "services/reporting/projection/reporting_projection.h"

namespace sales::reporting {
namespace {

using ::testing::HasSubstr;

// The period's one row: a failure of the test (and an empty row) when it has not exactly one.
const api::v1::PlanVsActualRow& OneRow(const api::v1::PlanVsActualPeriod& p) {
  static const api::v1::PlanVsActualRow kNone;
  if (p.rows_size() == 1) return p.rows(0);
  ADD_FAILURE() << "expected one row: " << p.ShortDebugString();
  return kNone;
}

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
  const auto& row = OneRow(report->total());
  EXPECT_EQ(row.target_amount().units(), 200000);
  EXPECT_TRUE(row.has_target());
  EXPECT_DOUBLE_EQ(row.attainment(), 0.499);
  EXPECT_EQ(report->total().facts(), 2);
  // The margin: the catalogue's cost recorded on the acceptance (2 x 10 x 12.00).
  auto margin = Report(events::v1::PLAN_METRIC_MARGIN);
  ASSERT_TRUE(margin.ok());
  EXPECT_EQ(OneRow(margin->total()).actual_amount().units(), 99800 - 24000);
  EXPECT_EQ(margin->margin_without_cost(), 0);
  // Offers sent and new clients count too, attributed to the offers' owner.
  auto sent = Report(events::v1::PLAN_METRIC_OFFERS_SENT, events::v1::PLAN_DIMENSION_MANAGER);
  ASSERT_TRUE(sent.ok());
  ASSERT_EQ(sent->total().rows_size(), 1);
  EXPECT_EQ(OneRow(sent->total()).key(), manager);
  EXPECT_DOUBLE_EQ(OneRow(sent->total()).actual_count(), 2);

  // A revision: the history stays, the report uses the new value.
  ASSERT_TRUE(SetTarget("rep-target-2", "", 100000, &target).ok());
  EXPECT_EQ(target.version(), 2);
  report = Report(events::v1::PLAN_METRIC_REVENUE);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(OneRow(report->total()).target_amount().units(), 100000);

  ExpectReportingRebuildGivesIdenticalRows();
  report = Report(events::v1::PLAN_METRIC_REVENUE);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(OneRow(report->total()).actual_amount().units(), 99800);
}

// Operations on the reporting service (the kit's, as on every service): an as-of store answers
// plan against actual as it stood before a revision and a sale, while the live store answers as
// now; then a rebuild without downtime switches the service to a new store with the same rows,
// and commands go on on it.
TEST_F(ReportingIT, AnAsOfStoreAndARebuildWithoutDowntimeOfTheReportingStore) {
  ASSERT_TRUE(UpsertProduct("crm-pro", 4990, 1200).ok());
  api::v1::PlanCommandResponse target;
  ASSERT_TRUE(SetTarget("ops-target-1", "", 200000, &target).ok());
  Sale("ops-sale-1");
  WaitForRevenue(49900);
  absl::SleepFor(absl::Milliseconds(50));
  const absl::Time then = absl::Now();
  absl::SleepFor(absl::Milliseconds(50));
  ASSERT_TRUE(SetTarget("ops-target-2", "", 100000, &target).ok());
  Sale("ops-sale-2");
  WaitForRevenue(99800);

  auto admin = api::v1::Admin::NewStub(reporting_->Channel());
  const auto revenue = [&](const std::string& as_of_store) -> StatusOr<api::v1::PlanVsActualRow> {
    api::v1::PlanVsActualRequest r;
    r.set_period(period_);
    r.set_metric(events::v1::PLAN_METRIC_REVENUE);
    api::v1::PlanVsActualResponse out;
    ::grpc::ClientContext ctx;
    if (!as_of_store.empty()) ctx.AddMetadata("x-as-of-store", as_of_store);
    auto s = reporting_stub_->GetPlanVsActual(Context(&ctx), r, &out);
    if (!s.ok()) return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
    if (out.total().rows_size() != 1) return absl::InternalError(out.DebugString());
    return OneRow(out.total());
  };
  {
    api::v1::StartAsOfStoreRequest r;
    r.set_name("before-revision");
    r.mutable_as_of()->set_seconds(absl::ToUnixSeconds(then));
    r.mutable_as_of()->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(then - absl::FromUnixSeconds(absl::ToUnixSeconds(then)))));
    api::v1::AsOfStore out;
    ::grpc::ClientContext ctx;
    ASSERT_TRUE(admin->StartAsOfStore(Context(&ctx), r, &out).ok());
  }
  auto old_row = revenue("before-revision");
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        old_row = revenue("before-revision");
        return old_row.ok();
      },
      absl::Seconds(60)))
      << old_row.status();
  ASSERT_TRUE(old_row.ok()) << old_row.status();
  EXPECT_EQ(old_row->target_amount().units(), 200000);
  EXPECT_EQ(old_row->actual_amount().units(), 49900);
  auto live_row = revenue("");
  ASSERT_TRUE(live_row.ok()) << live_row.status();
  EXPECT_EQ(live_row->target_amount().units(), 100000);
  EXPECT_EQ(live_row->actual_amount().units(), 99800);
  {
    api::v1::PlanCommandResponse refused;
    api::v1::SetTargetRequest r;
    r.set_idempotency_key("ops-target-as-of");
    r.set_period(period_);
    r.set_metric(events::v1::PLAN_METRIC_REVENUE);
    r.set_dimension(events::v1::PLAN_DIMENSION_COMPANY);
    r.mutable_amount()->set_units(1);
    r.mutable_amount()->set_currency("EUR");
    ::grpc::ClientContext ctx;
    ctx.AddMetadata("x-as-of-store", "before-revision");
    EXPECT_EQ(reporting_stub_->SetTarget(Context(&ctx), r, &refused).error_code(),
              ::grpc::StatusCode::FAILED_PRECONDITION);
  }

  const auto rebuild = [&](const std::string& what) {
    api::v1::RebuildStatus out;
    ::grpc::ClientContext ctx;
    ::grpc::Status s;
    if (what == "start") s = admin->StartRebuild(Context(&ctx, absl::Seconds(60)), {}, &out);
    if (what == "status") s = admin->GetRebuildStatus(Context(&ctx, absl::Seconds(60)), {}, &out);
    if (what == "switch") s = admin->SwitchRebuild(Context(&ctx, absl::Seconds(60)), {}, &out);
    EXPECT_TRUE(s.ok()) << what << ": " << s.error_message();
    return out;
  };
  rebuild("start");
  ASSERT_TRUE(testing::WaitUntil(
      [&] { return rebuild("status").state() == api::v1::RebuildStatus::STATE_CAUGHT_UP; }, absl::Seconds(120)));
  EXPECT_THAT(rebuild("switch").serving_path(), HasSubstr("reporting-store.gen-1"));
  live_row = revenue("");
  ASSERT_TRUE(live_row.ok()) << live_row.status();
  EXPECT_EQ(live_row->target_amount().units(), 100000);
  EXPECT_EQ(live_row->actual_amount().units(), 99800);
  ASSERT_TRUE(SetTarget("ops-target-3", "", 300000, &target).ok());
  EXPECT_EQ(target.version(), 3);
  old_row = revenue("before-revision");
  ASSERT_TRUE(old_row.ok()) << old_row.status();
  EXPECT_EQ(old_row->target_amount().units(), 200000) << "the as-of store is untouched by the switch";

  // The switched-in store has the rows a rebuild from scratch gives.
  auto stopped = reporting_->Stop();
  ASSERT_TRUE(stopped.ok() && *stopped == 0) << "reporting did not stop cleanly";
  auto scratch = StartReportingProcess("reporting-rebuild");
  ASSERT_TRUE(scratch.ok()) << scratch.status();
  ASSERT_TRUE((*scratch)->Stop().ok());
  ReportingProjection projection;
  testing::ExpectSameRows(testing::StoreRows(dir_.File("reporting-rebuild"), projection),
                          testing::StoreRows(service::ServingStorePath(dir_.File("reporting-store")), projection));
}

// Four months of sales and plans, the figures computed by hand. First offers' clock is moved back
// so each sale happens (and is recorded) on the 10th of its month; targets are set and revised
// now; a call from two months ago is logged late (recorded now).
TEST_F(ReportingIT, SeveralMonthsOfSalesAgainstTheirPlansAsOfAnyTime) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::CivilMonth m = absl::ToCivilMonth(absl::Now(), utc);
  const auto tenth_of = [&](absl::CivilMonth mm) {
    return absl::FromCivil(absl::CivilSecond(absl::CivilDay(mm) + 9) + 10 * 3600, utc) - absl::Now();
  };
  // First offers' events never go back in time (a clock step back must not reorder them): its
  // clock starts three months back, before its first event, and only moves forward.
  SetClockOffset(tenth_of(m - 3) - absl::Hours(1));
  ASSERT_TRUE(UpsertProduct("crm-pro", 4990, 1200).ok());
  const std::string manager = RegisterManager("months-mgr");
  const auto month = [](absl::CivilMonth mm) { return absl::FormatCivilTime(mm).substr(0, 7); };
  const auto first = [](absl::CivilMonth mm) { return DayString(absl::CivilDay(mm)); };
  const auto last = [](absl::CivilMonth mm) { return DayString(absl::CivilDay(mm + 1) - 1); };
  // Sales of 499.00 EUR: one in M-3, two in M-2, one in M-1 (each on the 10th), one today.
  for (const auto& [months_back, sales] : std::vector<std::pair<int, int>>{{3, 1}, {2, 2}, {1, 1}}) {
    SetClockOffset(tenth_of(m - months_back));
    for (int i = 0; i < sales; ++i) {
      const std::string key = StrCat("months-", months_back, "-", i);
      Sale(key);
    }
  }
  SetClockOffset(absl::ZeroDuration());
  const auto set_target = [&](const std::string& key, const std::string& period, events::v1::PlanDimension d,
                              const std::string& k, int64_t units) {
    api::v1::SetTargetRequest r;
    r.set_idempotency_key(key);
    r.set_period(period);
    r.set_metric(events::v1::PLAN_METRIC_REVENUE);
    r.set_dimension(d);
    r.set_key(k);
    r.mutable_amount()->set_units(units);
    r.mutable_amount()->set_currency("EUR");
    api::v1::PlanCommandResponse out;
    ::grpc::ClientContext ctx;
    auto s = reporting_stub_->SetTarget(Context(&ctx), r, &out);
    EXPECT_TRUE(s.ok()) << key << ": " << s.error_message();
  };
  const auto company = events::v1::PLAN_DIMENSION_COMPANY;
  set_target("months-t3", month(m - 3), company, "", 100000);
  set_target("months-t2", month(m - 2), company, "", 100000);
  set_target("months-t1", month(m - 1), company, "", 120000);
  set_target("months-q", first(m - 3) + ".." + last(m - 1), events::v1::PLAN_DIMENSION_MANAGER, manager, 300000);
  absl::SleepFor(absl::Milliseconds(5));  // the revision below is recorded strictly later
  const absl::Time before_revision = absl::Now();
  absl::SleepFor(absl::Milliseconds(5));
  set_target("months-t2-revised", month(m - 2), company, "", 80000);
  Sale("months-0-0");
  // A call two months ago (the 15th), logged only now: it counts in its own month.
  {
    api::v1::LogLeadActivityRequest r;
    r.set_idempotency_key("months-late-call");
    r.set_lead_id(QualifiedLead("months-call-lead"));
    r.set_type(events::v1::ACTIVITY_TYPE_CALL);
    r.set_outcome(events::v1::ACTIVITY_OUTCOME_REACHED);
    r.set_manager_id(manager);
    *r.mutable_occurred_at() = events::ToProto(absl::FromCivil(absl::CivilDay(m - 2) + 14, utc));
    api::v1::LeadCommandResponse out;
    ::grpc::ClientContext ctx;
    ASSERT_TRUE(lead_stub_->LogLeadActivity(Context(&ctx), r, &out).ok());
  }
  const absl::Time after_call = absl::Now();

  const std::string whole = first(m - 3) + ".." + last(m);
  const auto report = [&](events::v1::PlanMetric metric, events::v1::PlanDimension by, const std::string& period,
                          std::optional<absl::Time> as_of) {
    api::v1::PlanVsActualRequest r;
    r.set_period(period);
    r.set_metric(metric);
    r.set_by(by);
    r.set_dynamics(api::v1::BUCKET_MONTH);
    if (as_of) *r.mutable_as_of() = events::ToProto(*as_of);
    api::v1::PlanVsActualResponse out;
    ::grpc::ClientContext ctx;
    auto s = reporting_stub_->GetPlanVsActual(Context(&ctx), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  };
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        auto r = report(events::v1::PLAN_METRIC_REVENUE, company, whole, std::nullopt);
        auto c = report(events::v1::PLAN_METRIC_CALLS, company, whole, std::nullopt);
        return r.total().facts() == 5 && c.total().facts() == 1;
      },
      absl::Seconds(30)))
      << "the five sales and the call never all reached the report";

  // Company revenue by month: actual, target (M-2's revised), attainment.
  const absl::Time now = absl::Now();
  auto r = report(events::v1::PLAN_METRIC_REVENUE, company, whole, now);
  ASSERT_EQ(r.buckets_size(), 4);
  const int64_t actual[] = {49900, 99800, 49900, 49900};
  const int64_t target[] = {100000, 80000, 120000, 0};
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(r.buckets(i).period().label());
    EXPECT_EQ(r.buckets(i).period().label(), month(m - 3 + i));
    ASSERT_EQ(r.buckets(i).rows_size(), 1);
    const auto& row = OneRow(r.buckets(i));
    EXPECT_EQ(row.actual_amount().units(), actual[i]);
    EXPECT_EQ(row.target_amount().units(), target[i]);
    EXPECT_EQ(row.has_target(), target[i] > 0);
    if (target[i] > 0) {
      EXPECT_DOUBLE_EQ(row.attainment(), static_cast<double>(actual[i]) / target[i]);
    }
  }
  EXPECT_EQ(OneRow(r.total()).actual_amount().units(), 249500);
  EXPECT_EQ(OneRow(r.total()).target_amount().units(), 300000);

  // The manager's target over three months counts whole over them; each month its share by days.
  auto by_manager = report(events::v1::PLAN_METRIC_REVENUE, events::v1::PLAN_DIMENSION_MANAGER,
                           first(m - 3) + ".." + last(m - 1), std::nullopt);
  ASSERT_EQ(by_manager.total().rows_size(), 1);
  EXPECT_EQ(OneRow(by_manager.total()).key(), manager);
  EXPECT_EQ(OneRow(by_manager.total()).actual_amount().units(), 199600);
  EXPECT_EQ(OneRow(by_manager.total()).target_amount().units(), 300000);
  const int64_t days = absl::CivilDay(m) - absl::CivilDay(m - 3);
  const int64_t m3_days = absl::CivilDay(m - 2) - absl::CivilDay(m - 3);
  EXPECT_EQ(OneRow(by_manager.buckets(0)).target_amount().units(),
            (300000 * m3_days * 2 + days) / (2 * days));  // half away from zero

  // As of before the revision: M-2's first target, and today's sale not known yet.
  auto then = report(events::v1::PLAN_METRIC_REVENUE, company, whole, before_revision);
  EXPECT_EQ(OneRow(then.buckets(1)).target_amount().units(), 100000);
  EXPECT_EQ(OneRow(then.total()).actual_amount().units(), 199600);
  EXPECT_EQ(then.buckets(3).rows_size(), 0);

  // The late call counts in M-2, but only as of after it was recorded.
  auto calls = report(events::v1::PLAN_METRIC_CALLS, company, whole, std::nullopt);
  EXPECT_DOUBLE_EQ(OneRow(calls.buckets(1)).actual_count(), 1);
  EXPECT_EQ(report(events::v1::PLAN_METRIC_CALLS, company, whole, before_revision).total().facts(), 0);
  EXPECT_EQ(report(events::v1::PLAN_METRIC_CALLS, company, whole, after_call).total().facts(), 1);

  ExpectReportingRebuildGivesIdenticalRows();
  auto rebuilt = report(events::v1::PLAN_METRIC_REVENUE, company, whole, now);
  EXPECT_EQ(rebuilt.SerializeAsString(), r.SerializeAsString()) << "the rebuilt store answers differently";
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
