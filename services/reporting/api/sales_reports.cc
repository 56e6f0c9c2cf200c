#include "services/reporting/api/sales_reports.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "absl/hash/hash.h"
#include "common/events/envelope.h"
#include "services/reporting/api/query_helpers.h"
#include "services/reporting/api/report_queries.h"

namespace sales::reporting {
namespace {

using events::v1::PlanDimension;

constexpr char kNoProduct[] = "(no product: renewals)";

double Ratio(__int128 part, __int128 whole) {
  return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0;
}

// The earliest first day of `periods`.
absl::CivilDay Earliest(const std::vector<Period>& periods) {
  absl::CivilDay first = periods.front().first;
  for (const auto& p : periods) first = std::min(first, p.first);
  return first;
}

api::v1::ProductPeriod ProductsOf(const Period& p, const KeySums& now, const Period& previous,
                                  const KeySums& before, const std::string& currency) {
  api::v1::ProductPeriod out;
  *out.mutable_period() = ToProto(p);
  *out.mutable_previous() = ToProto(previous);
  std::vector<std::string> keys;
  for (const auto& [key, sums] : now.rows) keys.push_back(key);
  for (const auto& [key, sums] : before.rows) {
    if (!now.rows.count(key) && sums.revenue > 0) keys.push_back(key);  // sold before, nothing now: -100 %
  }
  __int128 margin = 0;
  for (const std::string& key : keys) {
    const Converted c = now.rows.count(key) ? now.rows.at(key) : Converted{};
    const __int128 prev = before.rows.count(key) ? before.rows.at(key).revenue : 0;
    auto* row = out.add_rows();
    row->set_product_code(key);
    row->set_label(key.empty() ? kNoProduct : key);
    *row->mutable_revenue() = ToMoney(c.revenue, currency);
    row->set_units(c.quantity);
    *row->mutable_margin() = ToMoney(c.margin, currency);
    row->set_lines_without_cost(c.without_cost);
    row->set_share(Ratio(c.revenue, now.revenue));
    *row->mutable_previous_revenue() = ToMoney(prev, currency);
    if (auto g = Growth(static_cast<double>(c.revenue), static_cast<double>(prev))) {
      row->set_has_growth(true);
      row->set_growth(*g);
    }
    margin += c.margin;
  }
  std::sort(out.mutable_rows()->begin(), out.mutable_rows()->end(), [](const auto& a, const auto& b) {
    return std::make_pair(-a.revenue().units(), a.product_code()) < std::make_pair(-b.revenue().units(), b.product_code());
  });
  *out.mutable_revenue() = ToMoney(now.revenue, currency);
  *out.mutable_margin() = ToMoney(margin, currency);
  ListUnconverted(now.unconverted, out.mutable_unconverted());
  return out;
}

api::v1::ClientRevenuePeriod ClientRevenueOf(const Period& p, const KeySums& all, const KeySums& first,
                                             const std::map<std::string, std::string>& labels,
                                             const std::string& currency) {
  api::v1::ClientRevenuePeriod out;
  *out.mutable_period() = ToProto(p);
  for (const auto& [key, sums] : all.rows) {
    const __int128 new_units = first.rows.count(key) ? first.rows.at(key).revenue : 0;
    auto* row = out.add_rows();
    row->set_key(key);
    auto label = labels.find(key);
    row->set_label(label != labels.end() ? label->second : key);
    *row->mutable_new_client_amount() = ToMoney(new_units, currency);
    *row->mutable_regular_client_amount() = ToMoney(sums.revenue - new_units, currency);
    *row->mutable_total_amount() = ToMoney(sums.revenue, currency);
    row->set_regular_share(Ratio(sums.revenue - new_units, sums.revenue));
  }
  ListUnconverted(all.unconverted, out.mutable_unconverted());
  return out;
}

// Days as numbers (from 1970-01-01): a cell's day is compared twice per window it enters or leaves.
int64_t DayNumber(absl::CivilDay day) { return day - absl::CivilDay(1970, 1, 1); }

// One sale cell by client, for the trailing years: its day, its client (an index into its
// group's), and its amount converted at the rate of its day, or when there was no rate its amount
// in `currency` (listed as not converted).
struct ClientSaleCell {
  __int128 units;
  int32_t day;
  uint32_t client;
  uint32_t currency;  // an index into its group's currencies
  bool converted;
};

// A client id's hash from three 8-byte loads (its start, middle and end) and its length: ids are
// long (UUIDs), and 125,000 of them are looked up per concentration report.
uint64_t ClientIdHash(std::string_view id) {
  if (id.size() < 8) return absl::Hash<std::string_view>()(id);
  const auto load = [&](size_t at) {
    uint64_t v;
    std::memcpy(&v, id.data() + at, 8);
    return v;
  };
  uint64_t h = load(0) * 0x9E3779B97F4A7C15ull;
  h = (h ^ load((id.size() - 8) / 2) ^ (h >> 29)) * 0xBF58476D1CE4E5B9ull;
  h = (h ^ load(id.size() - 8) ^ id.size() ^ (h >> 31)) * 0x94D049BB133111EBull;
  return h ^ (h >> 32);
}

// Clients and their sale cells in day order; no client is in two groups, so that the figures of
// a trailing year add up over the groups.
struct ClientGroup {
  std::vector<std::string_view> clients;  // index -> client id
  std::vector<uint64_t> id_prefixes;      // index -> the id's first 8 bytes, big-endian (0-padded)
  std::vector<ClientSaleCell> cells;
  std::vector<std::string_view> currencies;  // of the cells
  // id -> index, by open addressing: a slot holds an index + 1 (0: empty), at most half are used.
  // (Most ids are looked up once, to be added: absl's map spent a third more on each.)
  std::vector<uint32_t> slots = std::vector<uint32_t>(16, 0);

  // Empty, with room for `expected` clients (the memory is kept for the next group).
  void Clear(size_t expected) {
    clients.clear();
    id_prefixes.clear();
    cells.clear();
    currencies.clear();
    size_t n = 16;
    while (n < 2 * expected) n <<= 1;
    slots.assign(std::max(n, slots.size()), 0);
  }
  // The index of `client`, added when new.
  uint32_t Client(std::string_view client) {
    uint8_t bytes[8] = {};
    std::memcpy(bytes, client.data(), std::min<size_t>(client.size(), 8));
    uint64_t prefix = 0;
    for (uint8_t b : bytes) prefix = (prefix << 8) | b;
    const size_t mask = slots.size() - 1;
    for (size_t at = ClientIdHash(client) & mask;; at = (at + 1) & mask) {
      const uint32_t slot = slots[at];
      if (slot == 0) {
        slots[at] = static_cast<uint32_t>(clients.size() + 1);
        clients.push_back(client);
        id_prefixes.push_back(prefix);
        if (2 * clients.size() > slots.size()) Grow();
        return static_cast<uint32_t>(clients.size() - 1);
      }
      if (id_prefixes[slot - 1] == prefix && clients[slot - 1] == client) return slot - 1;
    }
  }
  void Grow() {
    slots.assign(2 * slots.size(), 0);
    const size_t mask = slots.size() - 1;
    for (uint32_t i = 0; i < clients.size(); ++i) {
      size_t at = ClientIdHash(clients[i]) & mask;
      while (slots[at] != 0) at = (at + 1) & mask;
      slots[at] = i + 1;
    }
  }
  // Whether client a comes before client b: by revenue, larger first, then by id (many clients
  // may have the same revenue: the prefixes spare most of the string comparisons).
  bool Before(__int128 revenue_a, uint32_t a, __int128 revenue_b, uint32_t b) const {
    if (revenue_a != revenue_b) return revenue_a > revenue_b;
    if (id_prefixes[a] != id_prefixes[b]) return id_prefixes[a] < id_prefixes[b];
    return clients[a] < clients[b];
  }
  void Add(int64_t day, uint32_t client, std::string_view currency, __int128 amount, const Rates& rates,
           const std::string& reporting_currency) {
    const uint32_t c = Currency(currency);
    if (currency == reporting_currency) {
      cells.push_back({amount, static_cast<int32_t>(day), client, c, true});
      return;
    }
    const std::optional<__int128> converted = ToReportingUnits(
        amount, std::string(currency), absl::CivilDay(1970, 1, 1) + day, rates, reporting_currency);
    cells.push_back({converted.value_or(amount), static_cast<int32_t>(day), client, c, converted.has_value()});
  }
  uint32_t Currency(std::string_view currency) {  // (a few currencies: a look along the list)
    for (uint32_t i = 0; i < currencies.size(); ++i) {
      if (currencies[i] == currency) return i;
    }
    currencies.push_back(currency);
    return static_cast<uint32_t>(currencies.size() - 1);
  }
};

// The figures of a trailing year.
struct TrailingFigures {
  __int128 total = 0;           // every converted cell
  __int128 positive_total = 0;  // of the clients whose revenue is above zero
  __int128 squares = 0;         // their revenues squared
  int64_t clients = 0;          // how many they are
  std::vector<std::pair<__int128, std::string>> largest;  // up to five, by revenue, then by id
  std::map<std::string, __int128> unconverted;             // a currency with a cell in the window

  ConcentrationIndex Index() const {
    std::array<__int128, 5> top{};
    for (size_t i = 0; i < largest.size(); ++i) top[i] = largest[i].first;
    return ConcentrationOfSums(positive_total, squares, top);
  }
};

// The trailing years ending on given days, added up group by group: each group's cells are
// walked once, the window sliding from one end to the next (a year in months asks for about 14
// overlapping years), its sums kept as cells enter and leave it.
class TrailingYears {
 public:
  explicit TrailingYears(const std::vector<absl::CivilDay>& ends) {
    for (absl::CivilDay end : ends) figures_[end];
  }
  // No figures yet, for the same ends as `other`.
  static TrailingYears SameEnds(const TrailingYears& other) {
    TrailingYears out({});
    for (const auto& f : other.figures_) out.figures_[f.first];
    return out;
  }

  void Add(const ClientGroup& group) {
    std::vector<__int128> revenue(group.clients.size(), 0);
    __int128 total = 0, positive_total = 0, squares = 0;
    int64_t clients = 0;
    std::map<std::string_view, std::pair<__int128, int64_t>> unconverted;  // amount, cells
    // The group's (up to) five largest clients with revenue above zero, in order: kept as revenues
    // grow; when one of them shrinks, found again by a scan of every client at the window's end.
    std::vector<uint32_t> largest;
    std::vector<uint8_t> in_largest(group.clients.size(), 0);
    bool rescan = false;
    const auto before = [&](uint32_t a, uint32_t b) { return group.Before(revenue[a], a, revenue[b], b); };
    const auto consider = [&](uint32_t c) {  // c's revenue is above zero and grew
      if (in_largest[c]) {
        std::sort(largest.begin(), largest.end(), before);
        return;
      }
      if (largest.size() == 5 && !before(c, largest.back())) return;
      if (largest.size() == 5) {
        in_largest[largest.back()] = 0;
        largest.pop_back();
      }
      largest.insert(std::upper_bound(largest.begin(), largest.end(), c, before), c);
      in_largest[c] = 1;
    };
    const auto apply = [&](const ClientSaleCell& c, int sign) {
      if (!c.converted) {
        auto& [amount, cells] = unconverted[group.currencies[c.currency]];
        amount += sign * c.units;
        cells += sign;
        return;
      }
      __int128& r = revenue[c.client];
      const __int128 was = r;
      if (r > 0) {
        positive_total -= r;
        squares -= r * r;
        --clients;
      }
      r += sign * c.units;
      total += sign * c.units;
      if (r > 0) {
        positive_total += r;
        squares += r * r;  // up to ~1e12 minor units a client: far from __int128's limit
        ++clients;
      }
      if (rescan) return;
      if (r < was && in_largest[c.client]) {
        rescan = true;
      } else if (r > was && r > 0) {
        consider(c.client);
      }
    };
    size_t lo = 0, hi = 0;  // the cells added: [lo, hi)
    for (auto& [last, f] : figures_) {
      const int64_t first = DayNumber(TrailingYear(last).first), end = DayNumber(last);
      while (hi < group.cells.size() && group.cells[hi].day <= end) apply(group.cells[hi++], 1);
      // (The first days only move forward with the last ones: TrailingYear is monotonic.)
      while (lo < hi && group.cells[lo].day < first) apply(group.cells[lo++], -1);
      f.total += total;
      f.positive_total += positive_total;
      f.squares += squares;
      f.clients += clients;
      for (const auto& [currency, sums] : unconverted) {
        if (sums.second > 0) f.unconverted[std::string(currency)] += sums.first;
      }
      if (rescan) {
        for (uint32_t c : largest) in_largest[c] = 0;
        largest.clear();
        rescan = false;
        for (uint32_t c = 0; c < revenue.size(); ++c) {
          if (revenue[c] > 0 && (largest.size() < 5 || before(c, largest.back()))) consider(c);
        }
      }
      for (uint32_t c : largest) AddLargest(revenue[c], group.clients[c], f.largest);
    }
  }

  // Adds the figures of `other` (the same ends, other clients).
  void Merge(const TrailingYears& other) {
    for (auto& [last, f] : figures_) {
      const TrailingFigures& o = other.figures_.at(last);
      f.total += o.total;
      f.positive_total += o.positive_total;
      f.squares += o.squares;
      f.clients += o.clients;
      for (const auto& [revenue, id] : o.largest) AddLargest(revenue, id, f.largest);
      for (const auto& [currency, amount] : o.unconverted) f.unconverted[currency] += amount;
    }
  }

  const TrailingFigures& Ending(absl::CivilDay last) const { return figures_.at(last); }

 private:
  // Adds a client to `largest` (the five largest, by revenue, then by id) if it is one of them.
  static void AddLargest(__int128 revenue, std::string_view id,
                         std::vector<std::pair<__int128, std::string>>& largest) {
    const auto before = [](__int128 revenue_a, std::string_view a, __int128 revenue_b, std::string_view b) {
      return revenue_a != revenue_b ? revenue_a > revenue_b : a < b;
    };
    if (largest.size() == 5 && !before(revenue, id, largest.back().first, largest.back().second)) return;
    const size_t at = std::find_if(largest.begin(), largest.end(),
                                   [&](const auto& l) { return before(revenue, id, l.first, l.second); }) -
                      largest.begin();
    if (largest.size() == 5) largest.pop_back();
    largest.emplace(largest.begin() + at, revenue, std::string(id));
  }

  std::map<absl::CivilDay, TrailingFigures> figures_;
};

// The figures of the trailing year ending with `p`'s last day. `labels`: a client's label once
// loaded (only the five largest of a window are shown).
StatusOr<api::v1::Concentration> ConcentrationOf(const Period& p, const TrailingYears& years, const Store& store,
                                                 const ReportSettings& settings,
                                                 std::map<std::string, std::string>& labels) {
  api::v1::Concentration out;
  *out.mutable_period() = ToProto(p);
  *out.mutable_window() = ToProto(TrailingYear(p.last));
  const TrailingFigures& f = years.Ending(p.last);
  const ConcentrationIndex index = f.Index();
  const ConcentrationIndex previous = years.Ending(PrecedingPeriod(p).last).Index();
  *out.mutable_revenue() = ToMoney(f.total, settings.currency);
  out.set_largest_share(index.largest_share);
  out.set_top5_share(index.top5_share);
  out.set_hhi(index.hhi);
  out.set_concentrated(index.hhi > static_cast<double>(settings.sales.concentration_threshold));
  out.set_previous_hhi(previous.hhi);
  out.set_hhi_change(index.hhi - previous.hhi);
  out.set_clients(f.clients);
  for (const auto& [revenue, id] : f.largest) {
    auto label = labels.find(id);
    if (label == labels.end()) {
      ASSIGN_OR_RETURN(std::optional<store::v1::ClientLabel> row,
                       LoadRow<store::v1::ClientLabel>(store, kClientLabelsFamily, id));
      label = labels.emplace(id, row ? row->label() : id).first;
    }
    auto* c = out.add_largest();
    c->set_client_id(id);
    c->set_label(label->second);
    *c->mutable_revenue() = ToMoney(revenue, settings.currency);
    c->set_share(Ratio(revenue, f.total));
  }
  ListUnconverted(f.unconverted, out.mutable_unconverted());
  return out;
}

// The sale facts recorded after `as_of` taken out of the cells by client: per row key, the
// entries to add (facts and amount, negative). nullopt when too many facts were recorded after
// it (FactsRecordedAfter): the facts answer then.
using ClientSaleCorrections = std::map<std::string, std::map<std::string, std::pair<int64_t, int64_t>>>;
StatusOr<std::optional<ClientSaleCorrections>> LateClientSales(const Store& store, absl::Time as_of,
                                                               absl::TimeZone tz) {
  ClientSaleCorrections out;
  ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> fact_keys, FactsRecordedAfter(store, as_of, Fact::KIND_SALE));
  if (!fact_keys) return std::optional<ClientSaleCorrections>();
  for (const std::string& key : *fact_keys) {
    ASSIGN_OR_RETURN(std::optional<Fact> f, LoadRow<Fact>(store, kFactsFamily, key));
    if (!f) continue;
    const absl::CivilDay day = absl::ToCivilDay(events::FromProto(f->occurred_at()), tz);
    std::string currency;
    const std::vector<int64_t> sums = CellSumsOf(*f, &currency);
    const auto [row, sub_key] = CellOf(*f, events::v1::PLAN_DIMENSION_CLIENT, day, currency);
    auto& [facts, amount] = out[row][sub_key];
    facts -= sums[kCellFacts];
    amount -= sums[kCellAmount];
  }
  return std::optional<ClientSaleCorrections>(std::move(out));
}

// Adds to `years` the sale cells of the clients in the buckets it takes from `next_bucket` (one
// at a time, until none is left) in the months from `first` to `last`, from the cells by client
// (a group per bucket) with the `corrections` applied.
Status AddClientBuckets(const Store& store, std::atomic<int>& next_bucket, absl::CivilMonth first,
                        absl::CivilMonth last, const ClientSaleCorrections& corrections,
                        const ReportSettings& settings, const Rates& rates, TrailingYears& years) {
  const auto corrupt = [] { return absl::DataLossError(StrCat("stored ", kCellsFamily, " row is corrupt")); };
  const auto row_key = [](int bucket, absl::CivilMonth month) {
    return CellRowKey({Fact::KIND_SALE, events::v1::PLAN_DIMENSION_CLIENT, month, bucket});
  };
  static const std::map<std::string, std::pair<int64_t, int64_t>> kNone;
  ClientGroup group;
  std::vector<std::pair<std::string, std::string>> rows;  // key, value: the group's ids point into them
  for (int bucket = next_bucket++; bucket < kClientCellBuckets; bucket = next_bucket++) {
    // The bucket's rows of those months (together in the key order), and any month with only
    // corrections (none in a store whose cells hold every fact).
    rows.clear();
    const std::string from = row_key(bucket, first), end = row_key(bucket, last + 1);
    RETURN_IF_ERROR(store.ScanRange(kCellsFamily, from, end, [&](std::string_view key, std::string_view value) {
      rows.emplace_back(key, value);
      return true;
    }));
    for (auto it = corrections.lower_bound(from); it != corrections.end() && it->first < end; ++it) {
      if (std::none_of(rows.begin(), rows.end(), [&](const auto& r) { return r.first == it->first; })) {
        rows.emplace_back(it->first, "");
        std::sort(rows.begin(), rows.end());
      }
    }
    size_t bytes = 0;
    for (const auto& row : rows) bytes += row.second.size();
    group.Clear(bytes / 64);  // an entry takes 60 bytes or more: at most that many clients
    group.cells.reserve(bytes / 64);
    for (const auto& [key, value] : rows) {
      const std::optional<CellRow> row = DecodeCellRowKey(key);
      if (!row) return corrupt();
      const int64_t month_start = DayNumber(absl::CivilDay(row->month));
      auto known = corrections.find(key);
      const auto& late = known != corrections.end() ? known->second : kNone;
      auto next_late = late.begin();
      // The row's entries and the corrections, both in sub-key order, walked together.
      KeyedSumsReader reader(value);
      std::string_view sub_key, sums;
      bool more = reader.Next(&sub_key, &sums);
      while (more || next_late != late.end()) {
        int64_t facts = 0, amount = 0;
        std::string_view at;
        if (more && (next_late == late.end() || sub_key <= next_late->first)) {
          if (sums.size() < 16) return corrupt();
          at = sub_key;
          facts = *DecodeInt64(sums.substr(0, 8));
          amount = *DecodeInt64(sums.substr(8, 8));
          more = reader.Next(&sub_key, &sums);
        }
        if (next_late != late.end() && (at.empty() || at == next_late->first)) {
          at = next_late->first;
          facts += next_late->second.first;
          amount += next_late->second.second;
          ++next_late;
        }
        if (facts == 0) continue;  // its only sales were recorded too late
        const std::optional<CellEntry> cell = DecodeCellSubKey(at);
        if (!cell) return corrupt();
        group.Add(month_start + cell->day_of_month - 1, group.Client(cell->key), cell->currency, amount, rates,
                  settings.currency);
      }
      if (reader.corrupt()) return corrupt();
    }
    years.Add(group);
  }
  return absl::OkStatus();
}

// Adds to `years` the sale cells of every client in the months from `first` to `last`, from the
// cells by client less the sales recorded after `as_of`; false (nothing added) when they cannot
// answer: then the facts do. Two threads (this one and a QueryHelpers one) take the buckets one
// at a time: a report walks a cell per sale and client and day, 125,000 in the bench's year in
// months, and a second core nearly halves its time.
StatusOr<bool> AddClientCells(const Store& store, absl::CivilMonth first, absl::CivilMonth last, absl::Time as_of,
                              const ReportSettings& settings, const Rates& rates, TrailingYears& years) {
  ASSIGN_OR_RETURN(std::optional<std::string> zone, store.Get(kSettingsFamily, kTimeZoneSetting));
  if (!zone || *zone != settings.time_zone.name()) return false;  // built for another zone
  ClientSaleCorrections corrections;
  if (as_of < absl::InfiniteFuture()) {
    ASSIGN_OR_RETURN(std::optional<ClientSaleCorrections> late, LateClientSales(store, as_of, settings.time_zone));
    if (!late) return false;
    corrections = std::move(*late);
  }
  std::atomic<int> next_bucket = 0;
  TrailingYears others = TrailingYears::SameEnds(years);
  Status first_done, second_done;
  QueryHelpers::Shared().RunBoth(
      [&] { first_done = AddClientBuckets(store, next_bucket, first, last, corrections, settings, rates, years); },
      [&] { second_done = AddClientBuckets(store, next_bucket, first, last, corrections, settings, rates, others); });
  RETURN_IF_ERROR(first_done);
  RETURN_IF_ERROR(second_done);
  years.Merge(others);
  return true;
}

}  // namespace

StatusOr<ReportScope> CheckScope(const std::string& period, std::optional<PlanDimension> by, api::v1::Bucket dynamics,
                                 const api::v1::ReportFilters& filters, const google::protobuf::Timestamp& as_of,
                                 const Clock& clock) {
  command::Violations v;
  StatusOr<Period> parsed = ParsePeriod(period);
  if (!parsed.ok()) {
    for (auto& f : FieldViolations(parsed.status())) v.push_back(std::move(f));
  }
  if (by && !events::v1::PlanDimension_IsValid(*by)) v.push_back({"by", "unknown dimension"});
  if (!api::v1::Bucket_IsValid(dynamics)) v.push_back({"dynamics", "DAY, WEEK or MONTH (or none)"});
  CheckFilters(filters, "filters", v);
  RETURN_IF_ERROR(command::Result(std::move(v)));
  ReportScope scope{.period = *parsed, .as_of = AsOf(as_of, clock)};
  if (by && *by != events::v1::PLAN_DIMENSION_UNSPECIFIED) scope.by = *by;
  if (dynamics != api::v1::BUCKET_UNSPECIFIED) scope.buckets = Buckets(scope.period, dynamics);
  return scope;
}

std::vector<Period> Windows(const ReportScope& scope) {
  std::vector<Period> out = {scope.period};
  out.insert(out.end(), scope.buckets.begin(), scope.buckets.end());
  return out;
}

KeySums SumConverted(const CellSums& cells, const Period& window, const Rates& rates, const std::string& currency) {
  KeySums out;
  for (auto it = cells.cells.lower_bound(CellKey{window.first, "", ""});
       it != cells.cells.end() && it->first.day <= window.last; ++it) {
    const auto& [at, cell] = *it;
    Converted& row = out.rows[at.key];
    row.quantity += cell.quantity;
    row.without_cost += cell.without_cost;
    const auto revenue = ToReportingUnits(cell.amount, at.currency, at.day, rates, currency);
    const auto margin = ToReportingUnits(cell.amount - cell.cost, at.currency, at.day, rates, currency);
    if (!revenue || !margin) {
      out.unconverted[at.currency] += cell.amount;
      continue;
    }
    row.revenue += *revenue;
    row.margin += *margin;
    out.revenue += *revenue;
  }
  return out;
}

events::v1::Money ToMoney(__int128 units, const std::string& currency) {
  events::v1::Money m;
  m.set_units(ClampToInt64(units));
  m.set_currency(currency);
  return m;
}

void ListUnconverted(const std::map<std::string, __int128>& units,
                     google::protobuf::RepeatedPtrField<events::v1::Money>* out) {
  for (const auto& [currency, amount] : units) *out->Add() = ToMoney(amount, currency);
}

StatusOr<api::v1::ProductReportResponse> ReportQueries::GetProductReport(const api::v1::ProductReportRequest& r) const {
  ASSIGN_OR_RETURN(ReportScope scope, CheckScope(r.period(), std::nullopt, r.dynamics(), r.filters(), r.as_of(), *clock_));
  const std::vector<Period> windows = Windows(scope);
  std::vector<Period> previous;
  for (const Period& w : windows) previous.push_back(PrecedingPeriod(w));
  // One sum of cells from the earliest preceding period on: every window adds up its days.
  ASSIGN_OR_RETURN(Rates rates, Rates::Load(*store_, scope.as_of));
  ASSIGN_OR_RETURN(CellSums cells,
                   SumCells(*store_,
                            CellQuery{.kind = Fact::KIND_SALE,
                                      .period = Period{"", Earliest(previous), scope.period.last},
                                      .by = events::v1::PLAN_DIMENSION_PRODUCT,
                                      .filters = r.filters(),
                                      .as_of = scope.as_of},
                            settings_.time_zone));
  api::v1::ProductReportResponse out;
  out.set_reporting_currency(settings_.currency);
  *out.mutable_as_of() = events::ToProto(scope.as_of);
  for (size_t i = 0; i < windows.size(); ++i) {
    *(i == 0 ? out.mutable_total() : out.add_buckets()) =
        ProductsOf(windows[i], SumConverted(cells, windows[i], rates, settings_.currency), previous[i],
                   SumConverted(cells, previous[i], rates, settings_.currency), settings_.currency);
  }
  return out;
}

StatusOr<api::v1::ClientRevenueResponse> ReportQueries::GetClientRevenue(const api::v1::ClientRevenueRequest& r) const {
  ASSIGN_OR_RETURN(ReportScope scope, CheckScope(r.period(), r.by(), r.dynamics(), r.filters(), r.as_of(), *clock_));
  ASSIGN_OR_RETURN(Rates rates, Rates::Load(*store_, scope.as_of));
  // All sales, and the first deals among them (a copy of theirs: the same cells).
  CellQuery q{.kind = Fact::KIND_SALE, .period = scope.period, .by = scope.by, .filters = r.filters(), .as_of = scope.as_of};
  ASSIGN_OR_RETURN(CellSums sales, SumCells(*store_, q, settings_.time_zone));
  q.kind = Fact::KIND_FIRST_DEAL;
  ASSIGN_OR_RETURN(CellSums first_deals, SumCells(*store_, q, settings_.time_zone));
  api::v1::ClientRevenueResponse out;
  out.set_reporting_currency(settings_.currency);
  *out.mutable_as_of() = events::ToProto(scope.as_of);
  const std::vector<Period> windows = Windows(scope);
  for (size_t i = 0; i < windows.size(); ++i) {
    *(i == 0 ? out.mutable_total() : out.add_buckets()) =
        ClientRevenueOf(windows[i], SumConverted(sales, windows[i], rates, settings_.currency),
                        SumConverted(first_deals, windows[i], rates, settings_.currency), sales.labels,
                        settings_.currency);
  }
  return out;
}

StatusOr<api::v1::ConcentrationResponse> ReportQueries::GetConcentration(const api::v1::ConcentrationRequest& r) const {
  ASSIGN_OR_RETURN(ReportScope scope, CheckScope(r.period(), std::nullopt, r.dynamics(), r.filters(), r.as_of(), *clock_));
  const std::vector<Period> windows = Windows(scope);
  std::vector<absl::CivilDay> ends;  // of each window's trailing year, and of its preceding period's
  absl::CivilDay first = scope.period.first;
  for (const Period& w : windows) {
    ends.push_back(w.last);
    ends.push_back(PrecedingPeriod(w).last);
    first = std::min(first, TrailingYear(ends.back()).first);
  }
  ASSIGN_OR_RETURN(Rates rates, Rates::Load(*store_, scope.as_of));
  TrailingYears years(ends);
  bool added = false;
  if (!scan_facts_ && r.filters().ByteSizeLong() == 0) {  // no filter: every client
    ASSIGN_OR_RETURN(added, AddClientCells(*store_, absl::CivilMonth(first), absl::CivilMonth(scope.period.last),
                                               scope.as_of, settings_, rates, years));
  }
  if (!added) {  // with filters: the cells (or the facts) of every client as one group
    ASSIGN_OR_RETURN(CellSums cells, SumCells(*store_,
                                              CellQuery{.kind = Fact::KIND_SALE,
                                                        .period = Period{"", first, scope.period.last},
                                                        .by = events::v1::PLAN_DIMENSION_CLIENT,
                                                        .filters = r.filters(),
                                                        .as_of = scope.as_of,
                                                        .scan_facts = scan_facts_,
                                                        .client_labels = false},
                                              settings_.time_zone));
    ClientGroup group;
    for (const auto& [at, cell] : cells.cells) {
      group.Add(DayNumber(at.day), group.Client(at.key), at.currency, cell.amount, rates, settings_.currency);
    }
    years.Add(group);
  }
  std::map<std::string, std::string> labels;
  api::v1::ConcentrationResponse out;
  out.set_reporting_currency(settings_.currency);
  *out.mutable_as_of() = events::ToProto(scope.as_of);
  out.set_threshold(static_cast<double>(settings_.sales.concentration_threshold));
  for (size_t i = 0; i < windows.size(); ++i) {
    ASSIGN_OR_RETURN(*(i == 0 ? out.mutable_total() : out.add_buckets()),
                     ConcentrationOf(windows[i], years, *store_, settings_, labels));
  }
  return out;
}

}  // namespace sales::reporting
