// The managers' scorecards (docs/REPORTS.md, "Managers' scorecards"): per manager, leads assigned
// and first-response time (from the assignment cells, or the lead journeys), calls, meetings and logged time (work facts),
// offers, wins and revenue (cells, via SumCells), against the 80 % line of time with prospects and
// clients. Stateless apart from its settings; thread-safe.
#pragma once

#include "common/base/clock.h"
#include "common/store/store.h"
#include "services/reporting/api/report_queries.h"

namespace sales::reporting {

// The seed's rule of thumb: at least this share of a manager's logged time on calls and meetings.
inline constexpr double kTimeWithProspectsTarget = 0.80;

class Scorecards {
 public:
  // Pointers must outlive the object.
  Scorecards(const Store* store, const Clock* clock, ReportSettings settings)
      : store_(store), clock_(clock), settings_(std::move(settings)) {}

  [[nodiscard]] StatusOr<api::v1::ScorecardsResponse> GetScorecards(const api::v1::ScorecardsRequest& r) const;

  // Read every journey instead of the assignment cells (tests compare the two).
  void set_scan_journeys(bool scan) { scan_journeys_ = scan; }

 private:
  const Store* store_;
  const Clock* clock_;
  const ReportSettings settings_;
  bool scan_journeys_ = false;
};

}  // namespace sales::reporting
