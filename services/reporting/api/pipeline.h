// The pipeline report (ReportQueries::GetPipeline, defined in pipeline.cc) and the weighted-pipeline
// forecast of plan against actual (docs/REPORTS.md, "Pipeline"): the open offers at a moment as
// known at the as-of time, from the rows of projection/pipeline.h.
#pragma once

#include "services/reporting/api/report_queries.h"

namespace sales::reporting {

// Sets `weighted_forecast_amount` on every row of a revenue report `out` (of request `r`, as of
// `as_of`): the actual, plus the weighted pipeline at `as_of` in the period or bucket that
// contains it; adds a row for a key that has open offers and no row yet. Other metrics: unchanged.
// The pipeline at `as_of` as known then, with no dynamics, with the measured win rates only when a
// stage's probability is not configured: from the cells when they can answer (SnapshotsFromCells
// in pipeline.cc) unless `from_offers`, else from the offers' rows. Both give the same (tests compare).
StatusOr<api::v1::PipelinePeriod> PipelineNow(const Store& store, const ReportSettings& settings, absl::Time as_of,
                                              PlanDimension by, const api::v1::ReportFilters& filters,
                                              bool from_offers = false);

[[nodiscard]] Status AddWeightedForecast(const Store& store, const ReportSettings& settings,
                                         const api::v1::PlanVsActualRequest& r, absl::Time as_of,
                                         api::v1::PlanVsActualResponse& out);

}  // namespace sales::reporting
