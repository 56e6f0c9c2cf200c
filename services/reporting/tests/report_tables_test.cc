// Reports as tables: plan against actual made into a ReportTable (columns, kinds, cells, notes)
// from responses built by hand, and BuildTable's dispatch over a real (empty) store.
#include "services/reporting/api/report_tables.h"

#include "common/events/envelope.h"
#include "common/testing/fake_clock.h"
#include "common/testing/status_matchers.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/reporting/api/funnel_reports.h"
#include "services/reporting/projection/reporting_projection.h"

namespace sales::reporting {
namespace {

using api::v1::ReportCell;
using api::v1::ReportTable;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::StatusIs;

events::v1::Money Eur(int64_t units, const std::string& currency = "EUR") {
  events::v1::Money m;
  m.set_units(units);
  m.set_currency(currency);
  return m;
}

api::v1::PlanVsActualRow MoneyRow(const std::string& key, int64_t actual, std::optional<int64_t> target,
                                  int64_t forecast, const std::string& label = "") {
  api::v1::PlanVsActualRow r;
  r.set_key(key);
  r.set_label(label.empty() ? key : label);
  *r.mutable_actual_amount() = Eur(actual);
  *r.mutable_target_amount() = Eur(target.value_or(0));
  *r.mutable_forecast_amount() = Eur(forecast);
  r.set_has_target(target.has_value());
  if (target && *target > 0) r.set_attainment(static_cast<double>(actual) / static_cast<double>(*target));
  return r;
}

api::v1::PlanVsActualRequest Request(events::v1::PlanMetric metric, events::v1::PlanDimension by,
                                     api::v1::Bucket dynamics = api::v1::BUCKET_UNSPECIFIED) {
  api::v1::PlanVsActualRequest r;
  r.set_period("2026-11");
  r.set_metric(metric);
  r.set_by(by);
  r.set_dynamics(dynamics);
  return r;
}

api::v1::PlanVsActualResponse Response() {
  api::v1::PlanVsActualResponse out;
  out.set_reporting_currency("EUR");
  out.mutable_as_of()->set_seconds(1794700800);  // 2026-11-15T00:00:00Z
  out.mutable_total()->mutable_period()->set_label("2026-11");
  return out;
}

std::vector<std::string> Names(const ReportTable& t) {
  std::vector<std::string> out;
  for (const auto& c : t.columns()) out.push_back(c.name());
  return out;
}
std::vector<api::v1::ColumnKind> Kinds(const ReportTable& t) {
  std::vector<api::v1::ColumnKind> out;
  for (const auto& c : t.columns()) out.push_back(c.kind());
  return out;
}

MATCHER_P(IsText, text, "") { return arg.value_case() == ReportCell::kText && arg.text() == text; }
MATCHER_P(IsNumber, n, "") { return arg.value_case() == ReportCell::kNumber && arg.number() == n; }
MATCHER_P(IsMoney, units, "") {
  return arg.value_case() == ReportCell::kMoney && arg.money().units() == units && arg.money().currency() == "EUR";
}
MATCHER(IsEmpty, "") { return arg.value_case() == ReportCell::VALUE_NOT_SET; }

TEST(PlanVsActualTable, CompanyRevenueIsOneRowOfMoneyAndARatio) {
  auto response = Response();
  *response.mutable_total()->add_rows() = MoneyRow("", 3000000, 10000000, 6428571);
  *response.mutable_total()->mutable_rows(0)->mutable_weighted_forecast_amount() = Eur(4500000);
  const ReportTable t = ToTable(response, Request(events::v1::PLAN_METRIC_REVENUE, events::v1::PLAN_DIMENSION_COMPANY));
  EXPECT_EQ(t.title(), "Plan vs actual: revenue, 2026-11, company");
  EXPECT_EQ(t.report(), "plan-vs-actual");
  EXPECT_EQ(t.period(), "2026-11");
  EXPECT_EQ(t.sheet_name(), "Plan vs actual");
  EXPECT_EQ(t.reporting_currency(), "EUR");
  EXPECT_EQ(t.as_of().seconds(), 1794700800);
  EXPECT_THAT(Names(t), ElementsAre("Actual", "Target", "Attainment", "Forecast", "Weighted forecast"));
  EXPECT_THAT(Kinds(t), ElementsAre(api::v1::COLUMN_KIND_MONEY, api::v1::COLUMN_KIND_MONEY,
                                    api::v1::COLUMN_KIND_RATIO, api::v1::COLUMN_KIND_MONEY,
                                    api::v1::COLUMN_KIND_MONEY));
  for (int c : {0, 1, 3, 4}) EXPECT_EQ(t.columns(c).currency(), "EUR") << c;
  EXPECT_EQ(t.columns(2).currency(), "");
  ASSERT_EQ(t.rows_size(), 1);
  EXPECT_THAT(t.rows(0).cells(), ElementsAre(IsMoney(3000000), IsMoney(10000000), IsNumber(0.3), IsMoney(6428571),
                                             IsMoney(4500000)));
  EXPECT_TRUE(t.notes().empty());
}

TEST(PlanVsActualTable, ByManagerHasAKeyColumnAndEmptyCellsWithoutATarget) {
  auto response = Response();
  *response.mutable_total()->add_rows() = MoneyRow("anna", 1000000, 2934783, 2142857);
  *response.mutable_total()->add_rows() = MoneyRow("nikos", 2000000, std::nullopt, 4285714);
  auto request = Request(events::v1::PLAN_METRIC_REVENUE, events::v1::PLAN_DIMENSION_MANAGER);
  request.mutable_filters()->set_region("GR-ATT");
  const ReportTable t = ToTable(response, request);
  EXPECT_EQ(t.title(), "Plan vs actual: revenue, 2026-11, by manager (region GR-ATT)");
  EXPECT_THAT(Names(t), ElementsAre("Manager", "Actual", "Target", "Attainment", "Forecast", "Weighted forecast"));
  EXPECT_EQ(t.columns(0).kind(), api::v1::COLUMN_KIND_TEXT);
  ASSERT_EQ(t.rows_size(), 2);
  EXPECT_THAT(t.rows(0).cells(), ElementsAre(IsText("anna"), IsMoney(1000000), IsMoney(2934783),
                                             IsNumber(1000000.0 / 2934783), IsMoney(2142857), IsEmpty()));
  EXPECT_THAT(t.rows(1).cells(),
              ElementsAre(IsText("nikos"), IsMoney(2000000), IsEmpty(), IsEmpty(), IsMoney(4285714), IsEmpty()));
}

TEST(PlanVsActualTable, ByClientShowsTheCompanyBesideTheLeadId) {
  auto response = Response();
  *response.mutable_total()->add_rows() = MoneyRow("lead-a", 1000000, std::nullopt, 1000000, "Παππάς & Υιοί Α.Ε.");
  *response.mutable_total()->add_rows() = MoneyRow("lead-b", 0, 500000, 0);  // a target, no sale: no label
  const ReportTable t = ToTable(response, Request(events::v1::PLAN_METRIC_REVENUE, events::v1::PLAN_DIMENSION_CLIENT));
  EXPECT_THAT(Names(t),
              ElementsAre("Client", "Company", "Actual", "Target", "Attainment", "Forecast", "Weighted forecast"));
  EXPECT_THAT(t.rows(0).cells(0), IsText("lead-a"));
  EXPECT_THAT(t.rows(0).cells(1), IsText("Παππάς & Υιοί Α.Ε."));
  EXPECT_THAT(t.rows(1).cells(1), IsText(""));
  EXPECT_THAT(t.rows(1).cells(4), IsNumber(0.0)) << "a target and no sale: attainment 0, not empty";
}

TEST(PlanVsActualTable, DynamicsLeadWithThePeriodAndListEachBucketsRows) {
  auto response = Response();
  response.mutable_total()->mutable_period()->set_label("2026-Q4");
  for (const char* month : {"2026-10", "2026-11", "2026-12"}) {
    auto* b = response.add_buckets();
    b->mutable_period()->set_label(month);
    auto* r = b->add_rows();
    r->set_key("anna");
    r->set_label("anna");
    r->set_actual_count(std::string(month) == "2026-11" ? 2 : 0);
    r->set_target_count(3.33);
    r->set_forecast_count(std::string(month) == "2026-11" ? 4.29 : 0);
    r->set_has_target(true);
    r->set_attainment(std::string(month) == "2026-11" ? 2 / 3.33 : 0);
  }
  // The whole period's rows are not repeated: the table is the time series.
  *response.mutable_total()->add_rows() = MoneyRow("anna", 1, 1, 1);
  auto request = Request(events::v1::PLAN_METRIC_OFFERS_SENT, events::v1::PLAN_DIMENSION_MANAGER, api::v1::BUCKET_MONTH);
  request.set_period("2026-Q4");
  const ReportTable t = ToTable(response, request);
  EXPECT_EQ(t.title(), "Plan vs actual: offers sent, 2026-Q4, by manager, by month");
  EXPECT_THAT(Names(t), ElementsAre("Period", "Manager", "Actual", "Target", "Attainment", "Forecast"));
  EXPECT_THAT(Kinds(t), ElementsAre(api::v1::COLUMN_KIND_DAY, api::v1::COLUMN_KIND_TEXT, api::v1::COLUMN_KIND_COUNT,
                                    api::v1::COLUMN_KIND_DECIMAL, api::v1::COLUMN_KIND_RATIO,
                                    api::v1::COLUMN_KIND_DECIMAL));
  for (const auto& c : t.columns()) EXPECT_EQ(c.currency(), "") << c.name() << ": counts have no currency";
  ASSERT_EQ(t.rows_size(), 3);
  EXPECT_THAT(t.rows(0).cells(), ElementsAre(IsText("2026-10"), IsText("anna"), IsNumber(0.0), IsNumber(3.33),
                                             IsNumber(0.0), IsNumber(0.0)));
  EXPECT_THAT(t.rows(1).cells(), ElementsAre(IsText("2026-11"), IsText("anna"), IsNumber(2.0), IsNumber(3.33),
                                             IsNumber(2 / 3.33), IsNumber(4.29)));
  EXPECT_THAT(t.rows(2).cells(0), IsText("2026-12"));
}

TEST(PlanVsActualTable, UnconvertedAmountsAndMarginWithoutCostAreNotes) {
  auto response = Response();
  *response.mutable_total()->add_rows() = MoneyRow("", 0, std::nullopt, 0);
  *response.mutable_total()->add_unconverted() = Eur(200000, "USD");
  *response.mutable_total()->add_unconverted() = Eur(1500000, "JPY");
  response.set_margin_without_cost(3);
  auto t = ToTable(response, Request(events::v1::PLAN_METRIC_MARGIN, events::v1::PLAN_DIMENSION_COMPANY));
  EXPECT_THAT(t.notes(), ElementsAre(HasSubstr("USD 2,000.00"), HasSubstr("JPY 1,500,000"),
                                     HasSubstr("3 sale lines without a known unit cost")));
  EXPECT_THAT(t.notes(0), HasSubstr("no exchange rate"));
  // The margin note belongs to margin only (revenue has no cost to miss).
  t = ToTable(response, Request(events::v1::PLAN_METRIC_REVENUE, events::v1::PLAN_DIMENSION_COMPANY));
  EXPECT_EQ(t.notes_size(), 2);
}

TEST(MajorUnits, ExactWithTheCurrencysDecimals) {
  EXPECT_EQ(table::MajorUnits(Eur(123456789), false), "1234567.89");
  EXPECT_EQ(table::MajorUnits(Eur(123456789), true), "1,234,567.89");
  EXPECT_EQ(table::MajorUnits(Eur(-5), false), "-0.05");
  EXPECT_EQ(table::MajorUnits(Eur(0), true), "0.00");
  EXPECT_EQ(table::MajorUnits(Eur(1200, "JPY"), true), "1,200");
  EXPECT_EQ(table::MajorUnits(Eur(1250, "KWD"), false), "1.250");
  EXPECT_EQ(table::MajorUnits(Eur(INT64_MIN), false), "-92233720368547758.08");
}

// ---- BuildTable over a real store ----

class BuildTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Store::Open({.path = dir_.path(), .column_families = projection_.column_families()}).value();
    queries_ = std::make_unique<ReportQueries>(store_.get(), &clock_, ReportSettings{});
  }
  testing::TempDir dir_;
  testing::FakeClock clock_;
  ReportingProjection projection_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<ReportQueries> queries_;
};

TEST_F(BuildTableTest, NoReportIsRefusedNamingReport) {
  const auto t = BuildTable(Reports{.plans = queries_.get()}, api::v1::ReportRequest{});
  EXPECT_THAT(t, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("report")));
  ASSERT_EQ(FieldViolations(t.status()).size(), 1u);
  EXPECT_EQ(FieldViolations(t.status())[0].field, "report");
}

TEST_F(BuildTableTest, TheQuerysErrorsAreNamedUnderTheReport) {
  api::v1::ReportRequest r;
  r.mutable_plan_vs_actual()->set_period("2026-13");
  const auto t = BuildTable(Reports{.plans = queries_.get()}, r);
  EXPECT_THAT(t, StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<std::string> fields;
  for (const auto& v : FieldViolations(t.status())) fields.push_back(v.field);
  EXPECT_THAT(fields, ElementsAre("plan_vs_actual.period", "plan_vs_actual.metric"));
}

TEST_F(BuildTableTest, PlanVsActualIsTheQuerysFiguresAsATable) {
  api::v1::ReportRequest r;
  r.mutable_plan_vs_actual()->set_period("2026-11");
  r.mutable_plan_vs_actual()->set_metric(events::v1::PLAN_METRIC_CALLS);
  r.mutable_plan_vs_actual()->set_by(events::v1::PLAN_DIMENSION_REGION);
  const auto t = BuildTable(Reports{.plans = queries_.get()}, r);
  ASSERT_THAT(t, testing::IsOk());
  EXPECT_EQ(t->title(), "Plan vs actual: calls, 2026-11, by region");
  EXPECT_THAT(Names(*t), ElementsAre("Region", "Actual", "Target", "Attainment", "Forecast"));
  EXPECT_EQ(t->rows_size(), 0) << "an empty store: no keys";
  EXPECT_EQ(t->reporting_currency(), "EUR");
}

// Files are named after the report and period, and a workbook's tab after the sheet name.
TEST_F(BuildTableTest, TheFunnelsTablesSayWhichReportAndPeriodTheyAre) {
  const FunnelReports funnel(store_.get(), &clock_, ReportSettings{});
  api::v1::ReportRequest r;
  r.mutable_lost_reasons()->set_period("2026-Q3");
  const auto t = BuildTable(Reports{.plans = queries_.get(), .funnel = &funnel}, r);
  ASSERT_THAT(t, testing::IsOk());
  EXPECT_EQ(t->report(), "lost-reasons");
  EXPECT_EQ(t->period(), "2026-Q3");
  EXPECT_EQ(t->sheet_name(), "Lost reasons");
}

}  // namespace
}  // namespace sales::reporting
