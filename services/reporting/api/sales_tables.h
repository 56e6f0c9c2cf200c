// The tables (api/report_tables.h) of the products, client revenue, concentration, inbound calls
// and pipeline reports: what GetReportTable answers, ExportReport writes and `salesctl report`
// prints. With dynamics, a leading Period column and each bucket's rows in order; money in the
// reporting currency, shares and probabilities as ratios; a figure that does not exist (growth
// from nothing) is an empty cell. Pure functions of their arguments.
#pragma once

#include "sales/api/v1/reporting.pb.h"

namespace sales::reporting {

// Columns: Product, Revenue, Units, Margin, Lines without cost, Share, Previous revenue, Growth.
[[nodiscard]] api::v1::ReportTable ToTable(const api::v1::ProductReportResponse& response,
                                           const api::v1::ProductReportRequest& request);
// Columns: the key (and Company by client), New clients, Regular clients, Total, Regular share.
[[nodiscard]] api::v1::ReportTable ToTable(const api::v1::ClientRevenueResponse& response,
                                           const api::v1::ClientRevenueRequest& request);
// Columns: Window, Revenue, Clients, Largest client, Top 5, HHI, Concentrated, HHI change; the
// largest clients in the notes.
[[nodiscard]] api::v1::ReportTable ToTable(const api::v1::ConcentrationResponse& response,
                                           const api::v1::ConcentrationRequest& request);
// A row per manager and one for all: Inbound, Answered, Answered share, Missed, Returned, Not
// returned, Pending, Without number.
[[nodiscard]] api::v1::ReportTable ToTable(const api::v1::InboundCallsResponse& response,
                                           const api::v1::InboundCallsRequest& request);
// A row per key and stage: Offers, Value, Probability, Weighted; each stage's probabilities in
// the notes.
[[nodiscard]] api::v1::ReportTable ToTable(const api::v1::PipelineResponse& response,
                                           const api::v1::PipelineRequest& request);

}  // namespace sales::reporting
