#include "services/reporting/domain/plan.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "common/base/ids.h"
#include "common/base/strings.h"
#include "common/command/request_checks.h"
#include "common/events/envelope.h"

namespace sales::reporting {
namespace {

using command::Violations;

constexpr int kMinYear = 2000;
constexpr int kMaxYear = 2100;
constexpr size_t kMaxKey = 128;
constexpr size_t kMaxNote = 1000;

bool Digits(std::string_view s, size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The Monday of ISO week 1 of `year`: the week with the year's first Thursday (so with 4 January).
absl::CivilDay IsoWeekOneMonday(int64_t year) {
  const absl::CivilDay jan4(year, 1, 4);
  const int from_monday = (static_cast<int>(absl::GetWeekday(jan4)) - static_cast<int>(absl::Weekday::monday) + 7) % 7;
  return jan4 - from_monday;
}

// The ISO week-year and week of a day.
std::pair<int64_t, int> IsoWeek(absl::CivilDay d) {
  const int from_monday = (static_cast<int>(absl::GetWeekday(d)) - static_cast<int>(absl::Weekday::monday) + 7) % 7;
  const absl::CivilDay thursday = d - from_monday + 3;
  const int64_t year = thursday.year();
  return {year, static_cast<int>((thursday - IsoWeekOneMonday(year) - 3) / 7 + 1)};
}

// Rounds numerator / denominator (denominator > 0) half away from zero.
__int128 DivideRounded(__int128 numerator, __int128 denominator) {
  const __int128 q = numerator / denominator, r = numerator % denominator;
  if (2 * (r < 0 ? -r : r) >= denominator) return numerator < 0 ? q - 1 : q + 1;
  return q;
}

__int128 Pow10(int n) {
  __int128 p = 1;
  while (n-- > 0) p *= 10;
  return p;
}

}  // namespace

std::optional<absl::CivilDay> ParseDay(const std::string& text) {
  absl::CivilDay d;
  if (text.size() != 10 || !absl::ParseCivilTime(text, &d) || DayString(d) != text) return std::nullopt;
  if (d.year() < kMinYear || d.year() > kMaxYear) return std::nullopt;
  return d;
}

std::string DayString(absl::CivilDay d) { return absl::FormatCivilTime(d); }

StatusOr<Period> ParsePeriod(const std::string& text, const std::string& field) {
  const auto bad = [&](std::string_view why) {
    return InvalidField(field, StrCat("\"", text, "\": ", why,
                                      " (a day 2026-11-26, week 2026-W48, month 2026-11, quarter 2026-Q4, year 2026 "
                                      "or days 2026-10-01..2026-12-31)"));
  };
  if (const size_t dots = text.find(".."); dots != std::string::npos) {
    const auto first = ParseDay(text.substr(0, dots)), last = ParseDay(text.substr(dots + 2));
    if (!first || !last) return bad("not two days");
    if (*last < *first) return bad("the last day is before the first");
    return Period{text, *first, *last};
  }
  if (text.size() < 4 || !Digits(std::string_view(text).substr(0, 4), 4)) return bad("not a period");
  const int64_t year = std::stoi(text.substr(0, 4));
  if (year < kMinYear || year > kMaxYear) return bad(StrCat("years ", kMinYear, " to ", kMaxYear));
  const std::string_view rest = std::string_view(text).substr(4);
  if (rest.empty()) return Period{text, absl::CivilDay(year, 1, 1), absl::CivilDay(year, 12, 31)};
  if (rest.size() == 3 && rest[0] == '-' && rest[1] == 'Q' && rest[2] >= '1' && rest[2] <= '4') {
    const int q = rest[2] - '0';
    const absl::CivilMonth start(year, 3 * q - 2);
    return Period{text, absl::CivilDay(start), absl::CivilDay(start + 3) - 1};
  }
  if (rest.size() == 4 && rest[0] == '-' && rest[1] == 'W' && Digits(rest.substr(2), 2)) {
    const int week = (rest[2] - '0') * 10 + (rest[3] - '0');
    const absl::CivilDay monday = IsoWeekOneMonday(year) + 7 * (week - 1);
    if (week < 1 || IsoWeek(monday) != std::make_pair(year, week)) return bad(StrCat(year, " has no ISO week ", week));
    return Period{text, monday, monday + 6};
  }
  if (rest.size() == 3 && rest[0] == '-' && Digits(rest.substr(1), 2)) {
    const int month = (rest[1] - '0') * 10 + (rest[2] - '0');
    if (month < 1 || month > 12) return bad("months 01 to 12");
    const absl::CivilMonth m(year, month);
    return Period{text, absl::CivilDay(m), absl::CivilDay(m + 1) - 1};
  }
  if (const auto day = ParseDay(text)) return Period{text, *day, *day};
  return bad("not a period");
}

events::v1::PlanPeriod ToProto(const Period& p) {
  events::v1::PlanPeriod out;
  out.set_label(p.label);
  out.set_first_day(DayString(p.first));
  out.set_last_day(DayString(p.last));
  return out;
}

StatusOr<Period> FromProto(const events::v1::PlanPeriod& p) {
  const auto first = ParseDay(p.first_day()), last = ParseDay(p.last_day());
  if (!first || !last || *last < *first) {
    return InvalidField("period", StrCat("days \"", p.first_day(), "\"..\"", p.last_day(), "\" are not a period"));
  }
  return Period{p.label(), *first, *last};
}

int64_t OverlapDays(const Period& a, const Period& b) {
  const absl::CivilDay first = std::max(a.first, b.first), last = std::min(a.last, b.last);
  return last < first ? 0 : last - first + 1;
}

std::vector<Period> Buckets(const Period& p, api::v1::Bucket bucket) {
  std::vector<Period> out;
  for (absl::CivilDay start = p.first; start <= p.last;) {
    absl::CivilDay natural_start = start, natural_end = start;
    std::string label;
    switch (bucket) {
      case api::v1::BUCKET_DAY:
        label = DayString(start);
        break;
      case api::v1::BUCKET_WEEK: {
        natural_start = start - (static_cast<int>(absl::GetWeekday(start)) - static_cast<int>(absl::Weekday::monday) + 7) % 7;
        natural_end = natural_start + 6;
        const auto [year, week] = IsoWeek(start);
        label = absl::StrFormat("%04d-W%02d", year, week);
        break;
      }
      case api::v1::BUCKET_MONTH:
        natural_start = absl::CivilDay(absl::CivilMonth(start));
        natural_end = absl::CivilDay(absl::CivilMonth(start) + 1) - 1;
        label = absl::FormatCivilTime(absl::CivilMonth(start));
        break;
      default:
        natural_start = p.first;
        natural_end = p.last;
        label = p.label;
        break;
    }
    const absl::CivilDay end = std::min(natural_end, p.last);
    // A bucket cut at the period's ends is named by its days.
    if (natural_start != start || natural_end != end) label = StrCat(DayString(start), "..", DayString(end));
    out.push_back(Period{std::move(label), start, end});
    start = end + 1;
  }
  return out;
}

bool IsMoneyMetric(PlanMetric m) {
  return m == events::v1::PLAN_METRIC_REVENUE || m == events::v1::PLAN_METRIC_MARGIN;
}

Fact::Kind FactKindOf(PlanMetric m) {
  switch (m) {
    case events::v1::PLAN_METRIC_REVENUE:
    case events::v1::PLAN_METRIC_MARGIN: return Fact::KIND_SALE;
    case events::v1::PLAN_METRIC_NEW_CLIENTS: return Fact::KIND_NEW_CLIENT;
    case events::v1::PLAN_METRIC_OFFERS_SENT: return Fact::KIND_OFFER_SENT;
    case events::v1::PLAN_METRIC_CALLS: return Fact::KIND_CALL;
    case events::v1::PLAN_METRIC_MEETINGS: return Fact::KIND_MEETING;
    default: return Fact::KIND_UNSPECIFIED;
  }
}

std::optional<int64_t> ParseRate(const std::string& text) {
  const size_t dot = text.find('.');
  const std::string whole = text.substr(0, dot);
  const std::string fraction = dot == std::string::npos ? "" : text.substr(dot + 1);
  if (whole.empty() || whole.size() > 9 || !Digits(whole, whole.size())) return std::nullopt;
  if (dot != std::string::npos && (fraction.empty() || fraction.size() > 6 || !Digits(fraction, fraction.size()))) {
    return std::nullopt;
  }
  int64_t w = 0, f = 0;
  if (!absl::SimpleAtoi(whole, &w) || (!fraction.empty() && !absl::SimpleAtoi(fraction, &f))) return std::nullopt;
  for (size_t i = fraction.size(); i < 6; ++i) f *= 10;
  const int64_t micros = w * 1000000 + f;
  if (micros <= 0) return std::nullopt;
  return micros;
}

std::string RateString(int64_t micros) {
  std::string s = absl::StrFormat("%d.%06d", micros / 1000000, micros % 1000000);
  while (s.back() == '0' && s[s.size() - 2] != '.') s.pop_back();
  return s;
}

StatusOr<Money> Convert(const Money& amount, int64_t rate_micros, std::string_view reporting_currency) {
  const std::optional<int> to_exponent = CurrencyExponent(reporting_currency);
  if (!to_exponent) return InvalidField("reporting_currency", StrCat("\"", reporting_currency, "\" is not ISO 4217"));
  const __int128 units = DivideRounded(static_cast<__int128>(amount.units()) * rate_micros * Pow10(*to_exponent),
                                       Pow10(6) * Pow10(amount.exponent()));
  if (units > INT64_MAX || units < INT64_MIN) return InvalidField("amount", "amount out of range");
  return Money::Of(static_cast<int64_t>(units), reporting_currency);
}

std::string TargetIdFor(const Period& p, PlanMetric metric, PlanDimension dimension, const std::string& key) {
  return NameUuid("sales.reporting.target",
                  StrCat(DayString(p.first), "..", DayString(p.last), "|", events::v1::PlanMetric_Name(metric), "|",
                         events::v1::PlanDimension_Name(dimension), "|", key));
}

std::string RateIdFor(const std::string& currency, const std::string& day) { return StrCat(currency, "/", day); }

Status ValidateSetTarget(const api::v1::SetTargetRequest& r, std::string_view reporting_currency) {
  Violations v;
  command::CheckIdempotencyKey(r.idempotency_key(), v);
  if (auto p = ParsePeriod(r.period()); !p.ok()) {
    for (auto& f : FieldViolations(p.status())) v.push_back(std::move(f));
  }
  const PlanMetric metric = r.metric();
  if (metric == events::v1::PLAN_METRIC_UNSPECIFIED || !events::v1::PlanMetric_IsValid(metric)) {
    v.push_back({"metric", "one of REVENUE, MARGIN, NEW_CLIENTS, OFFERS_SENT, CALLS, MEETINGS"});
  }
  switch (r.dimension()) {
    case events::v1::PLAN_DIMENSION_COMPANY:
      if (!r.key().empty()) v.push_back({"key", "must be empty for the COMPANY dimension"});
      break;
    case events::v1::PLAN_DIMENSION_MANAGER:
    case events::v1::PLAN_DIMENSION_REGION:
    case events::v1::PLAN_DIMENSION_PRODUCT:
    case events::v1::PLAN_DIMENSION_CLIENT:
      if (r.key().empty()) v.push_back({"key", "the manager id, region, product code or client id the target is for"});
      else if (r.key().size() > kMaxKey || r.key().find_first_of(" \t\r\n") != std::string::npos) {
        v.push_back({"key", StrCat("at most ", kMaxKey, " characters without spaces")});
      }
      break;
    default:
      v.push_back({"dimension", "one of COMPANY, MANAGER, REGION, PRODUCT, CLIENT"});
  }
  if (IsMoneyMetric(metric)) {
    if (!r.has_amount()) {
      v.push_back({"amount", StrCat("required for a money metric, in ", reporting_currency)});
    } else if (r.amount().currency() != reporting_currency) {
      v.push_back({"amount.currency", StrCat("targets are in the reporting currency, ", reporting_currency)});
    } else if (r.amount().units() < 0) {
      v.push_back({"amount.units", "must not be negative"});
    }
    if (r.count() != 0) v.push_back({"count", "only for count metrics (NEW_CLIENTS, OFFERS_SENT, CALLS, MEETINGS)"});
  } else if (metric != events::v1::PLAN_METRIC_UNSPECIFIED) {
    if (r.has_amount()) v.push_back({"amount", "only for money metrics (REVENUE, MARGIN); set count"});
    if (r.count() < 0) v.push_back({"count", "must not be negative"});
  }
  command::CheckText("note", r.note(), kMaxNote, false, true, v);
  command::CheckExpectedVersion(r.expected_version(), v);
  return command::Result(std::move(v));
}

Status ValidateSetExchangeRate(const api::v1::SetExchangeRateRequest& r, std::string_view reporting_currency) {
  Violations v;
  command::CheckIdempotencyKey(r.idempotency_key(), v);
  if (!IsCurrency(r.currency())) v.push_back({"currency", "an ISO 4217 code such as USD"});
  else if (r.currency() == reporting_currency) {
    v.push_back({"currency", StrCat(reporting_currency, " is the reporting currency (its rate is 1)")});
  }
  if (!ParseDay(r.day())) v.push_back({"day", "a day YYYY-MM-DD"});
  if (!ParseRate(r.rate())) v.push_back({"rate", "a positive decimal with at most 6 decimals, e.g. \"1.0843\""});
  command::CheckText("note", r.note(), kMaxNote, false, true, v);
  return command::Result(std::move(v));
}

StatusOr<PlanEvent> DecideSetTarget(const std::optional<PlanState>& state, const api::v1::SetTargetRequest& r) {
  const int64_t version = state ? state->version() : 0;
  if (r.expected_version() != 0 && r.expected_version() != version) {
    return absl::AbortedError(StrCat("the target is at version ", version, ", not ", r.expected_version()));
  }
  ASSIGN_OR_RETURN(Period period, ParsePeriod(r.period()));
  PlanEvent event;
  auto* t = event.mutable_target_set();
  *t->mutable_period() = ToProto(period);
  t->set_metric(r.metric());
  t->set_dimension(r.dimension());
  t->set_key(r.key());
  if (r.has_amount()) *t->mutable_amount() = r.amount();
  t->set_count(r.count());
  t->set_note(std::string(absl::StripAsciiWhitespace(r.note())));
  return event;
}

PlanEvent DecideSetExchangeRate(const api::v1::SetExchangeRateRequest& r, std::string_view reporting_currency) {
  PlanEvent event;
  auto* s = event.mutable_rate_set();
  s->set_currency(r.currency());
  s->set_day(r.day());
  s->set_rate_micros(ParseRate(r.rate()).value_or(0));
  s->set_reporting_currency(std::string(reporting_currency));
  s->set_note(std::string(absl::StripAsciiWhitespace(r.note())));
  return event;
}

Status EvolvePlan(std::optional<PlanState>& state, const EventEnvelope& e) {
  if (e.payload_case() != EventEnvelope::kPlan ||
      (e.aggregate_type() != kTargetAggregate && e.aggregate_type() != kRateAggregate)) {
    return InvalidField("payload", StrCat("not a plan event (aggregate_type \"", e.aggregate_type(), "\")"));
  }
  const PlanEvent& event = e.plan();
  store::v1::PlanRevision revision;
  revision.set_version(e.aggregate_version());
  *revision.mutable_recorded_at() = e.recorded_at();
  revision.set_actor(e.actor());
  switch (event.event_case()) {
    case PlanEvent::kTargetSet: {
      const auto& t = event.target_set();
      if (!state) {
        state.emplace();
        state->set_id(e.aggregate_id());
        *state->mutable_period() = t.period();
        state->set_metric(t.metric());
        state->set_dimension(t.dimension());
        state->set_key(t.key());
      } else if (state->metric() != t.metric() || state->dimension() != t.dimension() || state->key() != t.key()) {
        return absl::FailedPreconditionError(StrCat("target ", e.aggregate_id(), " changed what it is a target for"));
      }
      if (t.has_amount()) *revision.mutable_amount() = t.amount();
      revision.set_count(t.count());
      revision.set_note(t.note());
      break;
    }
    case PlanEvent::kRateSet: {
      const auto& s = event.rate_set();
      if (!state) {
        state.emplace();
        state->set_id(e.aggregate_id());
        state->set_currency(s.currency());
        state->set_day(s.day());
      } else if (state->currency() != s.currency() || state->day() != s.day()) {
        return absl::FailedPreconditionError(StrCat("exchange rate ", e.aggregate_id(), " changed currency or day"));
      }
      revision.set_rate_micros(s.rate_micros());
      revision.set_note(s.note());
      break;
    }
    case PlanEvent::EVENT_NOT_SET:
      return InvalidField("payload.plan", "no event set (a plan event type this version does not know?)");
  }
  state->set_version(e.aggregate_version());
  *state->add_revisions() = std::move(revision);
  return absl::OkStatus();
}

const store::v1::PlanRevision* RevisionAsOf(const PlanState& state, absl::Time as_of) {
  const store::v1::PlanRevision* found = nullptr;
  for (const auto& r : state.revisions()) {
    if (events::FromProto(r.recorded_at()) <= as_of) found = &r;
  }
  return found;
}

StatusOr<Money> ProrateAmount(const Money& value, const Period& target, const Period& report) {
  const __int128 units = DivideRounded(static_cast<__int128>(value.units()) * OverlapDays(target, report), target.days());
  return Money::Of(static_cast<int64_t>(units), value.currency());
}

double ProrateCount(int64_t value, const Period& target, const Period& report) {
  return static_cast<double>(value) * static_cast<double>(OverlapDays(target, report)) /
         static_cast<double>(target.days());
}

double StraightLineFactor(const Period& p, absl::Time now, absl::TimeZone tz) {
  const absl::Time start = absl::FromCivil(p.first, tz), end = absl::FromCivil(p.last + 1, tz);
  if (now >= end) return 1.0;
  const double elapsed_days = std::max(1.0, std::ceil(absl::ToDoubleHours(now - start) / 24.0));
  return static_cast<double>(p.days()) / elapsed_days;
}

}  // namespace sales::reporting
