// The funnel, cycle times and lost reasons (docs/REPORTS.md): computed from the lead journeys and
// the offers' rejection facts, as of a time, per period and dynamics bucket. Stateless apart from
// its settings; thread-safe.
#pragma once

#include "common/base/clock.h"
#include "common/store/store.h"
#include "services/reporting/api/report_queries.h"

namespace sales::reporting {

class FunnelReports {
 public:
  // Pointers must outlive the object.
  FunnelReports(const Store* store, const Clock* clock, ReportSettings settings)
      : store_(store), clock_(clock), settings_(std::move(settings)) {}

  [[nodiscard]] StatusOr<api::v1::FunnelResponse> GetFunnel(const api::v1::FunnelRequest& r) const;
  [[nodiscard]] StatusOr<api::v1::CycleTimesResponse> GetCycleTimes(const api::v1::CycleTimesRequest& r) const;
  [[nodiscard]] StatusOr<api::v1::LostReasonsResponse> GetLostReasons(const api::v1::LostReasonsRequest& r) const;

  // Read every journey instead of the funnel, lost and cycle cells (tests compare the two).
  void set_scan_journeys(bool scan) { scan_journeys_ = scan; }

 private:
  const Store* store_;
  const Clock* clock_;
  const ReportSettings settings_;
  bool scan_journeys_ = false;
};

}  // namespace sales::reporting
