// Every report as a table (api::v1::ReportTable): what GetReportTable answers, what ExportReport
// writes to CSV and .xlsx (api/export.h) and what `salesctl report` prints. A table is typed:
// each column says whether it holds text, counts, decimals, money (with its currency) or ratios,
// so each consumer formats figures its own way and a spreadsheet gets numbers, not text.
//
// Adding a report: write its `ToTable(const XResponse&, const XRequest&)` in the report's own file
// (declared in its header, built from the helpers below), and add one `case` to BuildTable in
// report_tables.cc. The switch has no `default`, so the compiler points at BuildTable when a case
// of ReportRequest's oneof has none.
//
// Pure functions of their arguments (BuildTable reads through the thread-safe ReportQueries).
#pragma once

#include <string>
#include <string_view>

#include "common/base/status.h"
#include "sales/api/v1/reporting.pb.h"
#include "services/reporting/api/funnel_reports.h"
#include "services/reporting/api/report_queries.h"
#include "services/reporting/api/scorecards.h"

namespace sales::reporting {

// Every report object of the service (they must outlive the use).
struct Reports {
  const ReportQueries* plans;
  const FunnelReports* funnel;
  const Scorecards* scorecards;
};

// The report's table for one ReportRequest: the query of its oneof case, then its ToTable.
// INVALID_ARGUMENT naming `report` when no report is set; a query's field violations are named
// under the case ("plan_vs_actual.period").
[[nodiscard]] StatusOr<api::v1::ReportTable> BuildTable(const Reports& reports, const api::v1::ReportRequest& request);

// A status whose field violations are named under `prefix`: "period" -> "plan_vs_actual.period"
// (an error of a request nested in another). Other statuses unchanged.
[[nodiscard]] Status PrefixFields(const Status& status, std::string_view prefix);

// Plan against actual (docs/REPORTS.md): a row per key of the dimension (one for COMPANY); with
// dynamics, a leading Period column and the rows of each bucket in order. Columns: the key (and
// the company's name when by client), Actual, Target, Attainment (RATIO), Forecast; MONEY for
// revenue and margin, COUNT/DECIMAL for counts (prorated targets and forecasts have decimals). No
// target: Target and Attainment are empty cells. Notes: amounts not converted for want of a rate,
// margin lines without a known cost.
[[nodiscard]] api::v1::ReportTable ToTable(const api::v1::PlanVsActualResponse& response,
                                           const api::v1::PlanVsActualRequest& request);

// ---- Helpers for every report's ToTable ----
namespace table {

void AddColumn(api::v1::ReportTable& t, std::string name, api::v1::ColumnKind kind, std::string currency = "");
api::v1::ReportCell Text(std::string text);
api::v1::ReportCell Number(double value);
api::v1::ReportCell Amount(const events::v1::Money& money);
inline api::v1::ReportCell Empty() { return {}; }

// Lower case words for a metric and a dimension: "revenue", "offers sent"; "manager", "client".
std::string MetricWords(events::v1::PlanMetric metric);
std::string DimensionWord(events::v1::PlanDimension dimension);
// The filters as words for a title: "manager m-1, region GR-MAC" (empty without filters).
std::string FilterWords(const api::v1::ReportFilters& filters);
// The amount in major units with the currency's decimals: "-1234.50", "1200" (JPY); with
// `thousands`, "1,234.50". Exact (from the integer minor units).
std::string MajorUnits(const events::v1::Money& money, bool thousands);
// "USD 2,000.00": the currency, then the amount with thousands separators and the currency's
// decimals (what notes say).
std::string MoneyWords(const events::v1::Money& money);

}  // namespace table
}  // namespace sales::reporting
