// The read side of reporting: plans and reports over the projection's store, computed as
// docs/REPORTS.md defines them. Stateless apart from its settings; thread-safe.
#pragma once

#include <string>

#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/store/store.h"
#include "services/reporting/domain/plan.h"

namespace sales::reporting {

struct ReportSettings {
  std::string currency = "EUR";       // the reporting currency
  absl::TimeZone time_zone = absl::UTCTimeZone();
};

class ReportQueries {
 public:
  ReportQueries(const Store* store, const Clock* clock, ReportSettings settings)
      : store_(store), clock_(clock), settings_(std::move(settings)) {}

  StatusOr<api::v1::ListTargetsResponse> ListTargets(const api::v1::ListTargetsRequest& r) const;
  StatusOr<api::v1::ListExchangeRatesResponse> ListExchangeRates(const api::v1::ListExchangeRatesRequest& r) const;
  StatusOr<api::v1::PlanVsActualResponse> GetPlanVsActual(const api::v1::PlanVsActualRequest& r) const;

 private:
  const Store* store_;
  const Clock* clock_;
  const ReportSettings settings_;
};

}  // namespace sales::reporting
