// What every report is computed from (docs/REPORTS.md, "Common rules"): the as-of time, the
// filters, the exchange rates known at that time, and the sums of facts per cell - one kind of
// fact, one day, one key of the report's dimension and one currency. A report adds cells up; the
// money of a cell is converted at its day's rate and rounded once, so every report rounds alike.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/command/request_checks.h"
#include "common/store/store.h"
#include "services/reporting/domain/plan.h"
#include "services/reporting/projection/reporting_projection.h"

namespace sales::reporting {

// The request's as-of time; unset means now.
absl::Time AsOf(const google::protobuf::Timestamp& as_of, const Clock& clock);

// Every row of a family, parsed (DATA_LOSS on a corrupt row).
template <typename Message>
StatusOr<std::vector<Message>> ReadAll(const Store& store, const char* family) {
  std::vector<Message> rows;
  Status inner = absl::OkStatus();
  RETURN_IF_ERROR(store.Scan(family, "", "", [&](std::string_view key, std::string_view value) {
    Message m;
    if (!m.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      inner = absl::DataLossError(StrCat("stored ", family, " row ", key, " is corrupt"));
      return false;
    }
    rows.push_back(std::move(m));
    return true;
  }));
  RETURN_IF_ERROR(inner);
  return rows;
}

// Exchange rates as of a time: per currency, (day, rate) in day order.
class Rates {
 public:
  static StatusOr<Rates> Load(const Store& store, absl::Time as_of);
  // The rate of `currency` on `day`: set for that day or the latest earlier one.
  std::optional<int64_t> On(const std::string& currency, absl::CivilDay day) const;

 private:
  std::map<std::string, std::map<absl::CivilDay, int64_t>> by_currency_;
};

// ---- Dimensions and filters ----
// The key a fact is counted under in dimension `by` (COMPANY and UNSPECIFIED: "").
std::string KeyOf(const Fact& f, PlanDimension by);
// Whether the fact passes every filter given.
bool Matches(const Fact& f, const api::v1::ReportFilters& filters);
// The filter on dimension `by` itself, if any ("" when none): only that key is listed.
std::string FilterOn(PlanDimension by, const api::v1::ReportFilters& filters);
// Violations of `filters` (a source that is not a lead source), fields named "<prefix>.source".
void CheckFilters(const api::v1::ReportFilters& filters, const std::string& prefix, command::Violations& v);

// ---- Cells ----
// The sums of one cell (CellKey, in the projection's header), as a report adds them up.
struct Cell {
  int64_t facts = 0;
  __int128 amount = 0;       // minor units of the cell's currency
  __int128 cost = 0;         // quantity x unit cost of the lines whose cost is known in that currency
  int64_t without_cost = 0;  // sale lines whose cost is not known (or not in the sale's currency)
  int64_t quantity = 0;      // units sold (sale lines)

  // Adds (sign 1) or takes away (sign -1) sums in the order of CellSum.
  void Add(const std::vector<int64_t>& sums, int sign = 1);
  // Adds a row of Batch::AddSums as stored (no vector on the way); false when it is not one.
  bool AddEncoded(std::string_view sums);
};

// Which sums kept per dimension key (the cells, and the funnel's and the open pipeline's) answer a
// query by `by` with `filters`: those of `dimension` (only `only_key` when set), re-keyed to the
// company's "" when the query is by COMPANY with a filter. nullopt: filters on two dimensions, or
// one on another dimension than `by` (not COMPANY): only the rows can answer.
struct CellSource {
  PlanDimension dimension;
  std::string only_key;
  bool as_company;
};
std::optional<CellSource> CellSourceFor(PlanDimension by, const api::v1::ReportFilters& filters);

struct CellQuery {
  Fact::Kind kind = Fact::KIND_UNSPECIFIED;
  Period period;                     // facts that occurred in it (reporting time zone)
  PlanDimension by = events::v1::PLAN_DIMENSION_COMPANY;
  api::v1::ReportFilters filters;    // facts matching every filter; with a filter on `by`, only that key
  absl::Time as_of = absl::InfiniteFuture();  // facts recorded after it are left out
  bool scan_facts = false;           // read every fact instead of the roll-ups (tests compare the two)
  bool client_labels = true;         // by CLIENT: load every client's label (CellSums::labels)
  // For a caller whose every window is whole months of `period` (itself whole months): the cells
  // without an amount or with one in this currency (the reporting currency: no conversion at a
  // day's rate) are summed per month, keyed at its first day. Thirty times fewer cells.
  std::optional<std::string> whole_months_in;

  // The day `day`'s cell in `currency` is kept under (whole_months_in).
  absl::CivilDay CellDay(absl::CivilDay day, std::string_view currency) const {
    if (!whole_months_in || (!currency.empty() && currency != *whole_months_in)) return day;
    return absl::CivilDay(absl::CivilMonth(day));
  }
};
// Whether `period` is whole calendar months, and so are the windows of `dynamics` in it.
bool WholeMonths(const Period& period, api::v1::Bucket dynamics);

struct CellSums {
  std::map<CellKey, Cell> cells;
  std::map<std::string, std::string> labels;  // key -> label where it is not the key (a client's company)
};

// Calls `fn` with every fact of `kind` that occurred in `period` and was recorded by `as_of`, in
// occurred-at order (for reports that need each fact rather than sums).
[[nodiscard]] Status ForEachFact(const Store& store, Fact::Kind kind, const Period& period, absl::Time as_of,
                                 absl::TimeZone tz, const std::function<void(const Fact&)>& fn);

// The keys (in the facts family) of the facts of `kind` recorded after `as_of`, or nullopt when
// more than 50,000 facts were: taking them out of sums one by one then costs more than reading the
// facts.
StatusOr<std::optional<std::vector<std::string>>> FactsRecordedAfter(const Store& store, absl::Time as_of,
                                                                     Fact::Kind kind);

// The cells of the facts `q` selects: from the roll-ups when they can answer (no filter, or one
// filter on the report's own dimension or with `by` COMPANY) minus the facts recorded after the
// as-of time; else from the facts themselves. Both give the same cells.
StatusOr<CellSums> SumCells(const Store& store, const CellQuery& q, absl::TimeZone tz);

// A cell's money in the reporting currency: `units` of `cell_currency` converted at the rate of
// `day` (rounded once), or nullopt when there is no rate on or before that day.
std::optional<__int128> ToReportingUnits(__int128 units, const std::string& cell_currency, absl::CivilDay day,
                                         const Rates& rates, const std::string& reporting_currency);

int64_t ClampToInt64(__int128 v);

}  // namespace sales::reporting
