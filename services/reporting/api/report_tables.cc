#include "services/reporting/api/report_tables.h"

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "common/money/money.h"
#include "services/reporting/api/funnel_tables.h"
#include "services/reporting/api/sales_tables.h"

namespace sales::reporting {
namespace {

using api::v1::ColumnKind;
using api::v1::ReportTable;

// Runs `query` of `reports` for the case's request and makes its table.
template <typename Reports, typename Request, typename Response>
StatusOr<ReportTable> Run(const Reports* reports, StatusOr<Response> (Reports::*query)(const Request&) const,
                          const Request& request, std::string_view case_name) {
  StatusOr<Response> response = (reports->*query)(request);
  if (!response.ok()) return PrefixFields(response.status(), case_name);
  return ToTable(*response, request);
}

std::string BucketWords(api::v1::Bucket b) {
  switch (b) {
    case api::v1::BUCKET_DAY: return "by day";
    case api::v1::BUCKET_WEEK: return "by week";
    case api::v1::BUCKET_MONTH: return "by month";
    default: return "";
  }
}

// The dimension as a column header: "Manager", "Client".
std::string Capitalized(std::string s) {
  if (!s.empty()) s[0] = absl::ascii_toupper(static_cast<unsigned char>(s[0]));
  return s;
}

}  // namespace

Status PrefixFields(const Status& status, std::string_view prefix) {
  std::vector<FieldViolation> violations = FieldViolations(status);
  if (violations.empty()) return status;
  for (auto& v : violations) v.field = StrCat(prefix, ".", v.field);
  return InvalidArgument(std::move(violations));
}

StatusOr<ReportTable> BuildTable(const Reports& reports, const api::v1::ReportRequest& request) {
  using R = api::v1::ReportRequest;
  switch (request.report_case()) {
    case R::kPlanVsActual:
      return Run(reports.plans, &ReportQueries::GetPlanVsActual, request.plan_vs_actual(), "plan_vs_actual");
    case R::kFunnel:
      return Run(reports.funnel, &FunnelReports::GetFunnel, request.funnel(), "funnel");
    case R::kCycleTimes:
      return Run(reports.funnel, &FunnelReports::GetCycleTimes, request.cycle_times(), "cycle_times");
    case R::kLostReasons:
      return Run(reports.funnel, &FunnelReports::GetLostReasons, request.lost_reasons(), "lost_reasons");
    case R::kScorecards:
      return Run(reports.scorecards, &Scorecards::GetScorecards, request.scorecards(), "scorecards");
    case R::kProducts:
      return Run(reports.plans, &ReportQueries::GetProductReport, request.products(), "products");
    case R::kClientRevenue:
      return Run(reports.plans, &ReportQueries::GetClientRevenue, request.client_revenue(), "client_revenue");
    case R::kConcentration:
      return Run(reports.plans, &ReportQueries::GetConcentration, request.concentration(), "concentration");
    case R::kInboundCalls:
      return Run(reports.plans, &ReportQueries::GetInboundCalls, request.inbound_calls(), "inbound_calls");
    case R::kPipeline:
      return Run(reports.plans, &ReportQueries::GetPipeline, request.pipeline(), "pipeline");
    case R::REPORT_NOT_SET:
      break;
  }
  return InvalidField("report",
                      "say which report: plan_vs_actual, funnel, cycle_times, lost_reasons, scorecards, products, "
                      "client_revenue, concentration, inbound_calls, pipeline");
}

ReportTable ToTable(const api::v1::PlanVsActualResponse& response, const api::v1::PlanVsActualRequest& request) {
  using events::v1::PlanDimension;
  const PlanDimension by =
      request.by() == events::v1::PLAN_DIMENSION_UNSPECIFIED ? events::v1::PLAN_DIMENSION_COMPANY : request.by();
  const bool money = IsMoneyMetric(request.metric());
  const bool dynamics = request.dynamics() != api::v1::BUCKET_UNSPECIFIED;
  const std::string& currency = response.reporting_currency();

  ReportTable t;
  t.set_report("plan-vs-actual");
  t.set_sheet_name("Plan vs actual");
  t.set_period(request.period());
  t.set_reporting_currency(currency);
  *t.mutable_as_of() = response.as_of();
  std::string title = StrCat("Plan vs actual: ", table::MetricWords(request.metric()), ", ",
                             response.total().period().label(), ", ",
                             by == events::v1::PLAN_DIMENSION_COMPANY ? "company" : "by " + table::DimensionWord(by));
  if (dynamics) StrAppend(&title, ", ", BucketWords(request.dynamics()));
  if (const std::string f = table::FilterWords(request.filters()); !f.empty()) StrAppend(&title, " (", f, ")");
  t.set_title(title);

  if (dynamics) table::AddColumn(t, "Period", api::v1::COLUMN_KIND_DAY);
  const bool keyed = by != events::v1::PLAN_DIMENSION_COMPANY;
  const bool labelled = by == events::v1::PLAN_DIMENSION_CLIENT;  // the key is a lead id; the label its company
  if (keyed) table::AddColumn(t, Capitalized(table::DimensionWord(by)), api::v1::COLUMN_KIND_TEXT);
  if (labelled) table::AddColumn(t, "Company", api::v1::COLUMN_KIND_TEXT);
  const ColumnKind figure = money ? api::v1::COLUMN_KIND_MONEY : api::v1::COLUMN_KIND_DECIMAL;
  const std::string figure_currency = money ? currency : "";
  table::AddColumn(t, "Actual", money ? api::v1::COLUMN_KIND_MONEY : api::v1::COLUMN_KIND_COUNT, figure_currency);
  table::AddColumn(t, "Target", figure, figure_currency);
  table::AddColumn(t, "Attainment", api::v1::COLUMN_KIND_RATIO);
  table::AddColumn(t, "Forecast", figure, figure_currency);
  // Revenue's second forecast: the actual plus the open pipeline weighted by stage (in the period or
  // bucket holding the as-of time; empty elsewhere).
  const bool weighted = request.metric() == events::v1::PLAN_METRIC_REVENUE;
  if (weighted) table::AddColumn(t, "Weighted forecast", figure, figure_currency);

  const auto add_rows = [&](const api::v1::PlanVsActualPeriod& p) {
    for (const auto& r : p.rows()) {
      auto* row = t.add_rows();
      if (dynamics) *row->add_cells() = table::Text(p.period().label());
      if (keyed) *row->add_cells() = table::Text(r.key());
      if (labelled) *row->add_cells() = table::Text(r.label() == r.key() ? "" : r.label());
      if (money) {
        *row->add_cells() = table::Amount(r.actual_amount());
        *row->add_cells() = r.has_target() ? table::Amount(r.target_amount()) : table::Empty();
      } else {
        *row->add_cells() = table::Number(r.actual_count());
        *row->add_cells() = r.has_target() ? table::Number(r.target_count()) : table::Empty();
      }
      // Attainment is set only when there is a target above zero (0 is the proto default).
      const bool attained = r.has_target() && (money ? r.target_amount().units() > 0 : r.target_count() > 0);
      *row->add_cells() = attained ? table::Number(r.attainment()) : table::Empty();
      *row->add_cells() = money ? table::Amount(r.forecast_amount()) : table::Number(r.forecast_count());
      if (weighted) {
        *row->add_cells() =
            r.has_weighted_forecast_amount() ? table::Amount(r.weighted_forecast_amount()) : table::Empty();
      }
    }
  };
  if (dynamics) {
    for (const auto& b : response.buckets()) add_rows(b);
  } else {
    add_rows(response.total());
  }

  for (const auto& m : response.total().unconverted()) {
    t.add_notes(StrCat("Not converted (no exchange rate on or before the day of the sale): ", table::MoneyWords(m),
                       "; not in the figures."));
  }
  if (request.metric() == events::v1::PLAN_METRIC_MARGIN && response.margin_without_cost() > 0) {
    t.add_notes(StrCat(response.margin_without_cost(), " sale line", response.margin_without_cost() == 1 ? "" : "s",
                       " without a known unit cost: counted at full revenue in the margin."));
  }
  return t;
}

namespace table {

void AddColumn(ReportTable& t, std::string name, ColumnKind kind, std::string currency) {
  auto* c = t.add_columns();
  c->set_name(std::move(name));
  c->set_kind(kind);
  c->set_currency(std::move(currency));
}

api::v1::ReportCell Text(std::string text) {
  api::v1::ReportCell c;
  c.set_text(std::move(text));
  return c;
}

api::v1::ReportCell Number(double value) {
  api::v1::ReportCell c;
  c.set_number(value);
  return c;
}

api::v1::ReportCell Amount(const events::v1::Money& money) {
  api::v1::ReportCell c;
  *c.mutable_money() = money;
  return c;
}

std::string MetricWords(events::v1::PlanMetric metric) {
  std::string name = events::v1::PlanMetric_Name(metric);
  absl::string_view rest(name);
  absl::ConsumePrefix(&rest, "PLAN_METRIC_");
  return absl::StrReplaceAll(absl::AsciiStrToLower(rest), {{"_", " "}});
}

std::string DimensionWord(events::v1::PlanDimension dimension) {
  std::string name = events::v1::PlanDimension_Name(dimension);
  absl::string_view rest(name);
  absl::ConsumePrefix(&rest, "PLAN_DIMENSION_");
  return absl::AsciiStrToLower(rest);
}

std::string FilterWords(const api::v1::ReportFilters& f) {
  std::string out;
  const auto add = [&](const char* what, const std::string& value) {
    if (!value.empty()) StrAppend(&out, out.empty() ? "" : ", ", what, " ", value);
  };
  add("manager", f.manager_id());
  add("region", f.region());
  add("product", f.product_code());
  add("client", f.client_id());
  add("source", f.source());
  return out;
}

std::string MajorUnits(const events::v1::Money& money, bool thousands) {
  const int exponent = CurrencyExponent(money.currency()).value_or(2);
  // The magnitude as unsigned, so that INT64_MIN prints too.
  const uint64_t magnitude = money.units() < 0 ? 0 - static_cast<uint64_t>(money.units())
                                               : static_cast<uint64_t>(money.units());
  uint64_t scale = 1;
  for (int i = 0; i < exponent; ++i) scale *= 10;
  const std::string whole = StrCat(magnitude / scale);
  std::string out = money.units() < 0 ? "-" : "";
  for (size_t i = 0; i < whole.size(); ++i) {
    if (thousands && i > 0 && (whole.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(whole[i]);
  }
  if (exponent > 0) {
    std::string fraction = StrCat(magnitude % scale);
    StrAppend(&out, ".", std::string(exponent - fraction.size(), '0'), fraction);
  }
  return out;
}

std::string MoneyWords(const events::v1::Money& money) {
  return StrCat(money.currency(), " ", MajorUnits(money, /*thousands=*/true));
}

}  // namespace table
}  // namespace sales::reporting
