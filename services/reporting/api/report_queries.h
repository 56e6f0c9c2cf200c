// The read side of reporting: plans and reports over the projection's store, computed as
// docs/REPORTS.md defines them. Stateless apart from its settings; thread-safe.
#pragma once

#include <string>

#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/store/store.h"
#include "services/reporting/domain/plan.h"
#include "services/reporting/domain/sales_rules.h"

namespace sales::reporting {

struct ReportSettings {
  std::string currency = "EUR";       // the reporting currency
  absl::TimeZone time_zone = absl::UTCTimeZone();
  SalesReportRules sales;             // products, clients, inbound calls, pipeline
};

class ReportQueries {
 public:
  ReportQueries(const Store* store, const Clock* clock, ReportSettings settings)
      : store_(store), clock_(clock), settings_(std::move(settings)) {}

  StatusOr<api::v1::ListTargetsResponse> ListTargets(const api::v1::ListTargetsRequest& r) const;
  StatusOr<api::v1::ListExchangeRatesResponse> ListExchangeRates(const api::v1::ListExchangeRatesRequest& r) const;
  StatusOr<api::v1::PlanVsActualResponse> GetPlanVsActual(const api::v1::PlanVsActualRequest& r) const;
  // Products, clients and concentration (api/sales_reports.cc), inbound calls
  // (api/inbound_calls.cc), the pipeline (api/pipeline.cc).
  StatusOr<api::v1::ProductReportResponse> GetProductReport(const api::v1::ProductReportRequest& r) const;
  StatusOr<api::v1::ClientRevenueResponse> GetClientRevenue(const api::v1::ClientRevenueRequest& r) const;
  StatusOr<api::v1::ConcentrationResponse> GetConcentration(const api::v1::ConcentrationRequest& r) const;
  StatusOr<api::v1::InboundCallsResponse> GetInboundCalls(const api::v1::InboundCallsRequest& r) const;
  StatusOr<api::v1::PipelineResponse> GetPipeline(const api::v1::PipelineRequest& r) const;
  // The pipeline from every offer's row instead of the cells (tests compare the two).
  void set_scan_offers(bool scan) { scan_offers_ = scan; }
  // The concentration from every sale fact instead of the client sales rows (tests compare them).
  void set_scan_facts(bool scan) { scan_facts_ = scan; }

 private:
  const Store* store_;
  const Clock* clock_;
  const ReportSettings settings_;
  bool scan_offers_ = false;
  bool scan_facts_ = false;
};

}  // namespace sales::reporting
