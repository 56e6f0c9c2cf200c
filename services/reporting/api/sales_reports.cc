#include "services/reporting/api/sales_reports.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "common/events/envelope.h"
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

// The sale cells of a concentration request by client, converted once (per cell, at the rate of
// its day) and in day order, so that each trailing year adds up a range of them into a vector
// indexed by client: no map of clients per window (a year may have a hundred thousand clients and
// a year in months asks for 26 windows).
class ClientDays {
 public:
  ClientDays(const CellSums& cells, const Rates& rates, const std::string& currency) {
    absl::flat_hash_map<std::string_view, uint32_t> index;
    for (const auto& [at, cell] : cells.cells) {
      auto [it, added] = index.try_emplace(at.key, static_cast<uint32_t>(clients_.size()));
      if (added) clients_.push_back(&at.key);
      entries_.push_back(Entry{at.day, it->second, &at.currency, cell.amount,
                               ToReportingUnits(cell.amount, at.currency, at.day, rates, currency)});
    }
  }

  struct Window {
    std::vector<__int128> revenue;   // per client index; meaningful for `clients` only
    std::vector<uint32_t> clients;   // those with a cell in the window, in order of index
    __int128 total = 0;
    std::map<std::string, __int128> unconverted;
  };
  Window Sum(const Period& window) const {
    Window w;
    w.revenue.assign(clients_.size(), 0);
    std::vector<bool> seen(clients_.size(), false);
    auto it = std::lower_bound(entries_.begin(), entries_.end(), window.first,
                               [](const Entry& e, absl::CivilDay d) { return e.day < d; });
    for (; it != entries_.end() && it->day <= window.last; ++it) {
      seen[it->client] = true;
      if (!it->converted) {
        w.unconverted[*it->currency] += it->amount;
        continue;
      }
      w.revenue[it->client] += *it->converted;
      w.total += *it->converted;
    }
    for (uint32_t c = 0; c < seen.size(); ++c) {
      if (seen[c]) w.clients.push_back(c);
    }
    return w;
  }
  const std::string& client(uint32_t i) const { return *clients_[i]; }

 private:
  struct Entry {
    absl::CivilDay day;
    uint32_t client;
    const std::string* currency;
    __int128 amount;
    std::optional<__int128> converted;
  };
  std::vector<Entry> entries_;               // in day order (the cells' order)
  std::vector<const std::string*> clients_;  // index -> client id (keys of the cells)
};

ConcentrationIndex IndexOf(const ClientDays::Window& w) {
  std::vector<__int128> revenues;
  revenues.reserve(w.clients.size());
  for (uint32_t c : w.clients) revenues.push_back(w.revenue[c]);
  return Concentrate(revenues);
}

// The figures of the trailing year ending with `p`'s last day. `labels`: a client's label once
// loaded (only the five largest of a window are shown). `indexes`: each trailing year's index by
// its last day, once computed (a month's previous year is the year of the month before it).
StatusOr<api::v1::Concentration> ConcentrationOf(const Period& p, const ClientDays& days, const Store& store,
                                                 const ReportSettings& settings,
                                                 std::map<std::string, std::string>& labels,
                                                 std::map<absl::CivilDay, ConcentrationIndex>& indexes) {
  api::v1::Concentration out;
  *out.mutable_period() = ToProto(p);
  const Period window = TrailingYear(p.last);
  *out.mutable_window() = ToProto(window);
  const ClientDays::Window sums = days.Sum(window);
  const ConcentrationIndex index = indexes[p.last] = IndexOf(sums);
  const absl::CivilDay previous_last = PrecedingPeriod(p).last;
  auto known = indexes.find(previous_last);
  if (known == indexes.end()) {
    known = indexes.emplace(previous_last, IndexOf(days.Sum(TrailingYear(previous_last)))).first;
  }
  const ConcentrationIndex previous = known->second;
  *out.mutable_revenue() = ToMoney(sums.total, settings.currency);
  out.set_largest_share(index.largest_share);
  out.set_top5_share(index.top5_share);
  out.set_hhi(index.hhi);
  out.set_concentrated(index.hhi > static_cast<double>(settings.sales.concentration_threshold));
  out.set_previous_hhi(previous.hhi);
  out.set_hhi_change(index.hhi - previous.hhi);
  std::vector<uint32_t> ranked;
  for (uint32_t c : sums.clients) {
    if (sums.revenue[c] > 0) ranked.push_back(c);
  }
  out.set_clients(static_cast<int64_t>(ranked.size()));
  const auto larger = [&](uint32_t a, uint32_t b) {
    return sums.revenue[a] != sums.revenue[b] ? sums.revenue[a] > sums.revenue[b] : days.client(a) < days.client(b);
  };
  const size_t shown = std::min<size_t>(ranked.size(), 5);
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(shown), ranked.end(), larger);
  for (size_t i = 0; i < shown; ++i) {
    const std::string& id = days.client(ranked[i]);
    auto label = labels.find(id);
    if (label == labels.end()) {
      ASSIGN_OR_RETURN(std::optional<store::v1::ClientLabel> row,
                       LoadRow<store::v1::ClientLabel>(store, kClientLabelsFamily, id));
      label = labels.emplace(id, row ? row->label() : id).first;
    }
    auto* c = out.add_largest();
    c->set_client_id(id);
    c->set_label(label->second);
    *c->mutable_revenue() = ToMoney(sums.revenue[ranked[i]], settings.currency);
    c->set_share(Ratio(sums.revenue[ranked[i]], sums.total));
  }
  ListUnconverted(sums.unconverted, out.mutable_unconverted());
  return out;
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
  std::vector<Period> trailing;
  for (const Period& w : windows) trailing.push_back(TrailingYear(PrecedingPeriod(w).last));
  ASSIGN_OR_RETURN(Rates rates, Rates::Load(*store_, scope.as_of));
  ASSIGN_OR_RETURN(CellSums cells,
                   SumCells(*store_,
                            CellQuery{.kind = Fact::KIND_SALE,
                                      .period = Period{"", Earliest(trailing), scope.period.last},
                                      .by = events::v1::PLAN_DIMENSION_CLIENT,
                                      .filters = r.filters(),
                                      .as_of = scope.as_of,
                                      .client_labels = false},
                            settings_.time_zone));
  const ClientDays days(cells, rates, settings_.currency);
  std::map<std::string, std::string> labels;
  std::map<absl::CivilDay, ConcentrationIndex> indexes;
  api::v1::ConcentrationResponse out;
  out.set_reporting_currency(settings_.currency);
  *out.mutable_as_of() = events::ToProto(scope.as_of);
  out.set_threshold(static_cast<double>(settings_.sales.concentration_threshold));
  for (size_t i = 0; i < windows.size(); ++i) {
    ASSIGN_OR_RETURN(*(i == 0 ? out.mutable_total() : out.add_buckets()),
                     ConcentrationOf(windows[i], days, *store_, settings_, labels, indexes));
  }
  return out;
}

}  // namespace sales::reporting
