// The funnel, cycle times, lost reasons and managers' scorecards as tables (api::v1::ReportTable:
// typed columns, so a spreadsheet gets numbers): what GetReportTable, ExportReport and `salesctl
// report` give once the tables slice dispatches these reports. Without dynamics, the rows of the
// whole period; with dynamics, a leading Period column and the rows of each bucket in order.
// Pure functions of their arguments.
#pragma once

#include "sales/api/v1/reporting.pb.h"

namespace sales::reporting {

// A row per key: the cohort's stages and conversions, then what happened in the period.
api::v1::ReportTable ToTable(const api::v1::FunnelResponse& response, const api::v1::FunnelRequest& request);
// A row per key: count, median and p90 (SECONDS) of each cycle.
api::v1::ReportTable ToTable(const api::v1::CycleTimesResponse& response, const api::v1::CycleTimesRequest& request);
// A row per reason: the list (disqualified lead, rejected offer), the reason, its count and share.
api::v1::ReportTable ToTable(const api::v1::LostReasonsResponse& response, const api::v1::LostReasonsRequest& request);
// A row per manager; the time share against the 80 % line. Notes: revenue not converted.
api::v1::ReportTable ToTable(const api::v1::ScorecardsResponse& response, const api::v1::ScorecardsRequest& request);

}  // namespace sales::reporting
