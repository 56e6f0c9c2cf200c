#include "services/reporting/api/report_basics.h"

#include <algorithm>

#include "common/base/strings.h"
#include "common/events/envelope.h"
#include "services/reporting/projection/reporting_projection.h"

namespace sales::reporting {

absl::Time AsOf(const google::protobuf::Timestamp& as_of, const Clock& clock) {
  return as_of.seconds() == 0 && as_of.nanos() == 0 ? clock.Now() : events::FromProto(as_of);
}

StatusOr<Rates> Rates::Load(const Store& store, absl::Time as_of) {
  ASSIGN_OR_RETURN(std::vector<PlanState> states, ReadAll<PlanState>(store, kRatesFamily));
  Rates rates;
  for (const auto& s : states) {
    const auto* revision = RevisionAsOf(s, as_of);
    const auto day = ParseDay(s.day());
    if (revision != nullptr && day) rates.by_currency_[s.currency()][*day] = revision->rate_micros();
  }
  return rates;
}

std::optional<int64_t> Rates::On(const std::string& currency, absl::CivilDay day) const {
  auto c = by_currency_.find(currency);
  if (c == by_currency_.end()) return std::nullopt;
  auto it = c->second.upper_bound(day);
  if (it == c->second.begin()) return std::nullopt;
  return std::prev(it)->second;
}

std::string KeyOf(const Fact& f, PlanDimension by) {
  switch (by) {
    case events::v1::PLAN_DIMENSION_MANAGER: return f.manager_id();
    case events::v1::PLAN_DIMENSION_REGION: return f.region();
    case events::v1::PLAN_DIMENSION_PRODUCT: return f.product_code();
    case events::v1::PLAN_DIMENSION_CLIENT: return f.client_id();
    case events::v1::PLAN_DIMENSION_SOURCE: return events::v1::LeadSource_Name(f.source());
    default: return "";
  }
}

bool Matches(const Fact& f, const api::v1::ReportFilters& filters) {
  return (filters.manager_id().empty() || f.manager_id() == filters.manager_id()) &&
         (filters.region().empty() || f.region() == filters.region()) &&
         (filters.product_code().empty() || f.product_code() == filters.product_code()) &&
         (filters.client_id().empty() || f.client_id() == filters.client_id()) &&
         (filters.source().empty() || events::v1::LeadSource_Name(f.source()) == filters.source());
}

std::string FilterOn(PlanDimension by, const api::v1::ReportFilters& filters) {
  switch (by) {
    case events::v1::PLAN_DIMENSION_MANAGER: return filters.manager_id();
    case events::v1::PLAN_DIMENSION_REGION: return filters.region();
    case events::v1::PLAN_DIMENSION_PRODUCT: return filters.product_code();
    case events::v1::PLAN_DIMENSION_CLIENT: return filters.client_id();
    case events::v1::PLAN_DIMENSION_SOURCE: return filters.source();
    default: return "";
  }
}

void CheckFilters(const api::v1::ReportFilters& filters, const std::string& prefix, command::Violations& v) {
  if (events::v1::LeadSource source;
      !filters.source().empty() && !events::v1::LeadSource_Parse(filters.source(), &source)) {
    v.push_back({prefix + ".source", "a lead source such as LEAD_SOURCE_REFERRAL"});
  }
}

int64_t ClampToInt64(__int128 v) { return static_cast<int64_t>(std::clamp<__int128>(v, INT64_MIN, INT64_MAX)); }

std::optional<__int128> ToReportingUnits(__int128 units, const std::string& cell_currency, absl::CivilDay day,
                                         const Rates& rates, const std::string& reporting_currency) {
  if (cell_currency == reporting_currency) return units;
  const std::optional<int64_t> rate = rates.On(cell_currency, day);
  if (!rate) return std::nullopt;
  StatusOr<Money> amount = Money::Of(ClampToInt64(units), cell_currency);
  if (!amount.ok()) return std::nullopt;
  StatusOr<Money> converted = Convert(*amount, *rate, reporting_currency);
  if (!converted.ok()) return std::nullopt;
  return converted->units();
}

// Adds one fact to its cell.
void AddToCell(const Fact& f, CellKey key, CellSums& sums) {
  StatusOr<Money> amount = f.has_amount() ? Money::FromProto(f.amount(), "amount") : absl::NotFoundError("");
  if (amount.ok()) key.currency = std::string(amount->currency());
  Cell& c = sums.cells[key];
  ++c.facts;
  c.quantity += f.quantity();
  if (!amount.ok()) return;  // a count, or not a valid amount (the owner validated it)
  c.amount += amount->units();
  StatusOr<Money> cost = f.cost_known() ? Money::FromProto(f.cost(), "cost") : absl::NotFoundError("");
  if (cost.ok() && cost->currency() == amount->currency()) {
    c.cost += cost->units();
  } else if (f.kind() == Fact::KIND_SALE) {
    ++c.without_cost;
  }
}

StatusOr<CellSums> SumCells(const Store& store, const CellQuery& q, absl::TimeZone tz) {
  CellSums sums;
  const std::string only_key = FilterOn(q.by, q.filters);
  const std::string end_key = FactKeyPrefix(q.kind, absl::FromCivil(q.period.last + 1, tz));
  Status inner = absl::OkStatus();
  RETURN_IF_ERROR(store.ScanFrom(
      kFactsFamily, FactKeyPrefix(q.kind, absl::FromCivil(q.period.first, tz)),
      [&](std::string_view key, std::string_view value) {
        if (key >= end_key) return false;
        Fact f;
        if (!f.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
          inner = absl::DataLossError(StrCat("stored fact ", key, " is corrupt"));
          return false;
        }
        if (events::FromProto(f.recorded_at()) > q.as_of || !Matches(f, q.filters)) return true;
        CellKey cell{absl::ToCivilDay(events::FromProto(f.occurred_at()), tz), KeyOf(f, q.by), ""};
        if (!only_key.empty() && cell.key != only_key) return true;
        if (q.by == events::v1::PLAN_DIMENSION_CLIENT && !f.client_label().empty()) {
          sums.labels[cell.key] = f.client_label();
        }
        AddToCell(f, std::move(cell), sums);
        return true;
      }));
  RETURN_IF_ERROR(inner);
  return sums;
}

}  // namespace sales::reporting
