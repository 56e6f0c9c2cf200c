// The reporting service's pure rules (docs/REPORTS.md): calendar periods, targets and exchange
// rates (the plan aggregates: validation, decisions, evolution), currency conversion and the
// arithmetic of plan against actual. No I/O, no clock: times come in as arguments.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/base/status.h"
#include "common/money/money.h"
#include "sales/api/v1/reporting.pb.h"
#include "sales/events/v1/envelope.pb.h"
#include "sales/store/v1/reporting.pb.h"

namespace sales::reporting {

using events::v1::EventEnvelope;
using events::v1::PlanDimension;
using events::v1::PlanEvent;
using events::v1::PlanMetric;
using store::v1::Fact;
using store::v1::PlanState;

inline constexpr char kTargetAggregate[] = "target";
inline constexpr char kRateAggregate[] = "exchange_rate";
inline constexpr uint32_t kSchemaVersion = 1;

// ---- Periods ----
// A calendar period: its first and last day, both included.
struct Period {
  std::string label;
  absl::CivilDay first;
  absl::CivilDay last;

  int64_t days() const { return last - first + 1; }
  bool Contains(absl::CivilDay d) const { return d >= first && d <= last; }
};
// "2026-11-26", "2026-W48" (ISO week), "2026-11", "2026-Q4", "2026", "2026-10-01..2026-12-31".
// INVALID_ARGUMENT naming `field` otherwise.
StatusOr<Period> ParsePeriod(const std::string& text, const std::string& field = "period");
events::v1::PlanPeriod ToProto(const Period& p);
StatusOr<Period> FromProto(const events::v1::PlanPeriod& p);
// Days both periods share.
int64_t OverlapDays(const Period& a, const Period& b);
// The period cut into day, ISO week or month buckets (the first and last cut at its ends).
std::vector<Period> Buckets(const Period& p, api::v1::Bucket bucket);
// "YYYY-MM-DD" <-> CivilDay.
std::optional<absl::CivilDay> ParseDay(const std::string& text);
std::string DayString(absl::CivilDay d);

// ---- Metrics ----
bool IsMoneyMetric(PlanMetric m);
// Which facts a metric counts.
Fact::Kind FactKindOf(PlanMetric m);

// ---- Exchange rates ----
// "1.0843" -> 1084300 (reporting-currency units per unit, x 10^6); > 0, at most 6 decimals.
std::optional<int64_t> ParseRate(const std::string& text);
std::string RateString(int64_t micros);
// `amount` in the reporting currency at `rate_micros`, rounded half away from zero to the
// reporting currency's minor unit. INVALID_ARGUMENT when out of range.
StatusOr<Money> Convert(const Money& amount, int64_t rate_micros, std::string_view reporting_currency);

// ---- Plan aggregates ----
// The target id: one per period (by its days, whatever its label), metric, dimension and key.
std::string TargetIdFor(const Period& p, PlanMetric metric, PlanDimension dimension, const std::string& key);
std::string RateIdFor(const std::string& currency, const std::string& day);

Status ValidateSetTarget(const api::v1::SetTargetRequest& r, std::string_view reporting_currency);
Status ValidateSetExchangeRate(const api::v1::SetExchangeRateRequest& r, std::string_view reporting_currency);
// The event of a valid request (ABORTED when expected_version does not match `state`).
StatusOr<PlanEvent> DecideSetTarget(const std::optional<PlanState>& state, const api::v1::SetTargetRequest& r);
PlanEvent DecideSetExchangeRate(const api::v1::SetExchangeRateRequest& r, std::string_view reporting_currency);
// FAILED_PRECONDITION when the event cannot follow the state; INVALID_ARGUMENT when it is not a
// plan event.
Status EvolvePlan(std::optional<PlanState>& state, const EventEnvelope& event);
// The revision in force as of `as_of` (recorded at or before it), if any.
const store::v1::PlanRevision* RevisionAsOf(const PlanState& state, absl::Time as_of);

// ---- Plan against actual ----
// A target's share of a period: value x overlap days / target days (docs/REPORTS.md). Money:
// rounded half away from zero to the minor unit.
StatusOr<Money> ProrateAmount(const Money& value, const Period& target, const Period& report);
double ProrateCount(int64_t value, const Period& target, const Period& report);
// The straight-line forecast to the period's end: actual x days / days elapsed (elapsed from the
// period's start to `now`, at least 1 day); the actual itself for a period that has ended.
double StraightLineFactor(const Period& p, absl::Time now, absl::TimeZone tz);

}  // namespace sales::reporting
