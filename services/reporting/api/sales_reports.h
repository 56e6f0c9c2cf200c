// The products, clients and concentration reports (docs/REPORTS.md; ReportQueries' methods are
// defined in sales_reports.cc), and what the reports of this slice share: the checks of a
// request, the sums of cells converted per key.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "services/reporting/api/report_basics.h"

namespace sales::reporting {

// The fields every report request has, checked.
struct ReportScope {
  Period period;
  std::vector<Period> buckets;  // dynamics: in order; empty without
  PlanDimension by = events::v1::PLAN_DIMENSION_COMPANY;
  absl::Time as_of;
};
// INVALID_ARGUMENT with every violation (period, by when `by` is given, dynamics, filters.source).
StatusOr<ReportScope> CheckScope(const std::string& period, std::optional<PlanDimension> by, api::v1::Bucket dynamics,
                                 const api::v1::ReportFilters& filters, const google::protobuf::Timestamp& as_of,
                                 const Clock& clock);

// The whole period first, then its buckets.
std::vector<Period> Windows(const ReportScope& scope);

// Cells converted to the reporting currency (per cell, docs/REPORTS.md) and summed per key.
struct Converted {
  __int128 revenue = 0;
  __int128 margin = 0;       // revenue minus known costs
  int64_t quantity = 0;
  int64_t without_cost = 0;  // sale lines without a known cost
};
struct KeySums {
  std::map<std::string, Converted> rows;
  __int128 revenue = 0;
  std::map<std::string, __int128> unconverted;  // per currency, minor units (revenue)
};
// The cells of `cells` whose day is in `window`.
KeySums SumConverted(const CellSums& cells, const Period& window, const Rates& rates, const std::string& currency);

events::v1::Money ToMoney(__int128 units, const std::string& currency);
void ListUnconverted(const std::map<std::string, __int128>& units,
                     google::protobuf::RepeatedPtrField<events::v1::Money>* out);

}  // namespace sales::reporting
