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

std::string KeyOf(const Fact& f, PlanDimension by) { return CellKeyString(f, by); }

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

bool Cell::AddEncoded(std::string_view sums) {
  if (sums.size() % 8 != 0) return false;
  for (size_t i = 0; i < sums.size() / 8; ++i) {
    const std::optional<int64_t> v = DecodeInt64(sums.substr(8 * i, 8));
    if (!v) return false;
    switch (static_cast<CellSum>(i)) {
      case kCellFacts: facts += *v; break;
      case kCellAmount: amount += *v; break;
      case kCellCost: cost += *v; break;
      case kCellWithoutCost: without_cost += *v; break;
      case kCellQuantity: quantity += *v; break;
      default: break;  // a sum of a later build: not read, as Add does not
    }
  }
  return true;
}

void Cell::Add(const std::vector<int64_t>& sums, int sign) {
  const auto at = [&](CellSum i) -> int64_t { return i < static_cast<int>(sums.size()) ? sums[i] * sign : 0; };
  facts += at(kCellFacts);
  amount += at(kCellAmount);
  cost += at(kCellCost);
  without_cost += at(kCellWithoutCost);
  quantity += at(kCellQuantity);
}

std::optional<CellSource> CellSourceFor(PlanDimension by, const api::v1::ReportFilters& filters) {
  std::vector<std::pair<PlanDimension, std::string>> set;
  for (PlanDimension d : kCellDimensions) {
    if (std::string value = FilterOn(d, filters); !value.empty()) set.emplace_back(d, std::move(value));
  }
  if (set.empty()) return CellSource{by, "", false};
  if (set.size() > 1) return std::nullopt;
  const auto& [dimension, value] = set.front();
  if (by == events::v1::PLAN_DIMENSION_COMPANY) return CellSource{dimension, value, true};
  if (by == dimension) return CellSource{dimension, value, false};
  return std::nullopt;
}

namespace {

// Beyond this many facts recorded after the as-of time, reading the facts is cheaper than taking
// them out of the roll-ups one by one.
constexpr int kMaxLateFacts = 50000;

// The fact behind a key of the recorded-at index, when `q` selects it.
StatusOr<std::optional<Fact>> SelectedFact(const Store& store, const CellQuery& q, std::string_view fact_key,
                                            absl::TimeZone tz) {
  if (fact_key.empty() || fact_key[0] != static_cast<char>(q.kind)) return std::optional<Fact>();
  ASSIGN_OR_RETURN(std::optional<Fact> f, LoadRow<Fact>(store, kFactsFamily, std::string(fact_key)));
  if (!f || !q.period.Contains(absl::ToCivilDay(events::FromProto(f->occurred_at()), tz)) || !Matches(*f, q.filters)) {
    return std::optional<Fact>();
  }
  const std::string only_key = FilterOn(q.by, q.filters);
  if (!only_key.empty() && KeyOf(*f, q.by) != only_key) return std::optional<Fact>();
  return f;
}

void AddFact(const Fact& f, const CellQuery& q, PlanDimension by, absl::TimeZone tz, int sign, CellSums& sums) {
  CellKey cell{absl::ToCivilDay(events::FromProto(f.occurred_at()), tz), KeyOf(f, by), ""};
  const std::vector<int64_t> add = CellSumsOf(f, &cell.currency);
  cell.day = q.CellDay(cell.day, cell.currency);
  Cell& c = sums.cells[cell];
  c.Add(add, sign);
  if (c.facts == 0) sums.cells.erase(cell);  // the only fact of the cell was recorded too late
}

// The cells from the roll-ups, or nullopt when they cannot answer `q`.
StatusOr<std::optional<CellSums>> FromRollUps(const Store& store, const CellQuery& q, absl::TimeZone tz) {
  const std::optional<CellSource> source = CellSourceFor(q.by, q.filters);
  if (!source) return std::optional<CellSums>();
  ASSIGN_OR_RETURN(std::optional<std::string> zone, store.Get(kSettingsFamily, kTimeZoneSetting));
  if (!zone || *zone != tz.name()) return std::optional<CellSums>();  // built for another zone

  CellSums sums;
  const PlanDimension dimension = source->dimension;
  const int only_bucket = source->only_key.empty() ? -1 : CellBucket(dimension, source->only_key);
  const auto corrupt = [&] { return absl::DataLossError(StrCat("stored ", kCellsFamily, " row is corrupt")); };
  Status inner = absl::OkStatus();
  for (int bucket = 0; bucket < CellBuckets(dimension) && inner.ok(); ++bucket) {
    if (only_bucket >= 0 && bucket != only_bucket) continue;
    const std::string end = CellRowKey({q.kind, dimension, absl::CivilMonth(q.period.last) + 1, bucket});
    RETURN_IF_ERROR(store.ScanRange(
        kCellsFamily, CellRowKey({q.kind, dimension, absl::CivilMonth(q.period.first), bucket}), end,
        [&](std::string_view key, std::string_view value) {
          const std::optional<CellRow> row = DecodeCellRowKey(key);
          if (!row) {
            inner = corrupt();
            return false;
          }
          const absl::CivilDay month_start(row->month);
          KeyedSumsReader reader(value);
          std::string_view sub_key, cell_sums;
          bool bad = false;
          while (!bad && reader.Next(&sub_key, &cell_sums)) {
            const std::optional<CellEntry> entry = DecodeCellSubKey(sub_key);
            if (!entry) {
              bad = true;
              continue;
            }
            const absl::CivilDay day = month_start + (entry->day_of_month - 1);
            if (!q.period.Contains(day) || (!source->only_key.empty() && entry->key != source->only_key)) continue;
            CellKey cell{q.CellDay(day, entry->currency), source->as_company ? std::string() : std::string(entry->key),
                         std::string(entry->currency)};
            // A row's entries come in the map's order (day, key, currency): most land at the end.
            bad = !sums.cells.emplace_hint(sums.cells.end(), std::move(cell), Cell{})->second.AddEncoded(cell_sums);
          }
          if (bad || reader.corrupt()) {
            inner = corrupt();
            return false;
          }
          return true;
        }));
  }
  RETURN_IF_ERROR(inner);

  // Take out what was recorded after the as-of time.
  if (q.as_of < absl::InfiniteFuture()) {
    ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> fact_keys, FactsRecordedAfter(store, q.as_of, q.kind));
    if (!fact_keys) return std::optional<CellSums>();
    for (const std::string& fact_key : *fact_keys) {
      ASSIGN_OR_RETURN(std::optional<Fact> f, SelectedFact(store, q, fact_key, tz));
      if (f) AddFact(*f, q, source->as_company ? events::v1::PLAN_DIMENSION_COMPANY : q.by, tz, -1, sums);
    }
  }
  return std::optional<CellSums>(std::move(sums));
}

// The cells from every fact of the period.
StatusOr<CellSums> FromFacts(const Store& store, const CellQuery& q, absl::TimeZone tz) {
  CellSums sums;
  const std::string only_key = FilterOn(q.by, q.filters);
  RETURN_IF_ERROR(ForEachFact(store, q.kind, q.period, q.as_of, tz, [&](const Fact& f) {
    if (!Matches(f, q.filters) || (!only_key.empty() && KeyOf(f, q.by) != only_key)) return;
    AddFact(f, q, q.by, tz, 1, sums);
  }));
  return sums;
}

}  // namespace

StatusOr<std::optional<std::vector<std::string>>> FactsRecordedAfter(const Store& store, absl::Time as_of,
                                                                     Fact::Kind kind) {
  std::vector<std::string> fact_keys;
  if (as_of == absl::InfiniteFuture()) return fact_keys;
  int late = 0;
  RETURN_IF_ERROR(store.ScanFrom(kRecordedFamily, EncodeInt64(absl::ToUnixNanos(as_of) + 1),
                                 [&](std::string_view key, std::string_view) {
                                   if (++late > kMaxLateFacts) return false;
                                   if (key.size() > 8 && key[8] == static_cast<char>(kind)) {
                                     fact_keys.emplace_back(key.substr(8));
                                   }
                                   return true;
                                 }));
  if (late > kMaxLateFacts) return std::nullopt;
  return fact_keys;
}

Status ForEachFact(const Store& store, Fact::Kind kind, const Period& period, absl::Time as_of, absl::TimeZone tz,
                   const std::function<void(const Fact&)>& fn) {
  const std::string end_key = FactKeyPrefix(kind, absl::FromCivil(period.last + 1, tz));
  Status inner = absl::OkStatus();
  RETURN_IF_ERROR(store.ScanFrom(kFactsFamily, FactKeyPrefix(kind, absl::FromCivil(period.first, tz)),
                                 [&](std::string_view key, std::string_view value) {
                                   if (key >= end_key) return false;
                                   Fact f;
                                   if (!f.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
                                     inner = absl::DataLossError(StrCat("stored fact ", key, " is corrupt"));
                                     return false;
                                   }
                                   if (events::FromProto(f.recorded_at()) <= as_of) fn(f);
                                   return true;
                                 }));
  return inner;
}

bool WholeMonths(const Period& period, api::v1::Bucket dynamics) {
  return period.first.day() == 1 && (period.last + 1).day() == 1 &&
         (dynamics == api::v1::BUCKET_UNSPECIFIED || dynamics == api::v1::BUCKET_MONTH);
}

StatusOr<CellSums> SumCells(const Store& store, const CellQuery& q, absl::TimeZone tz) {
  std::optional<CellSums> sums;
  if (!q.scan_facts) {
    ASSIGN_OR_RETURN(sums, FromRollUps(store, q, tz));
  }
  if (!sums) {
    ASSIGN_OR_RETURN(CellSums scanned, FromFacts(store, q, tz));
    sums = std::move(scanned);
  }
  if (q.by == events::v1::PLAN_DIMENSION_CLIENT && q.client_labels) {
    for (const auto& [cell, sum] : sums->cells) {
      if (cell.key.empty() || sums->labels.count(cell.key)) continue;
      ASSIGN_OR_RETURN(std::optional<store::v1::ClientLabel> label,
                       LoadRow<store::v1::ClientLabel>(store, kClientLabelsFamily, cell.key));
      if (label) sums->labels[cell.key] = label->label();
    }
  }
  return std::move(*sums);
}

}  // namespace sales::reporting
