// gRPC handlers of the reporting API: they only translate protos and statuses; decisions live in
// PlanCommands and domain/plan, reads in ReportQueries.
#pragma once

#include "common/observability/metrics.h"
#include "sales/api/v1/reporting.grpc.pb.h"
#include "services/reporting/api/funnel_reports.h"
#include "services/reporting/api/report_queries.h"
#include "services/reporting/api/scorecards.h"
#include "services/reporting/commands/plan_commands.h"

namespace sales::reporting {

class ReportingService final : public api::v1::Reporting::Service {
 public:
  // Pointers must outlive the service.
  ReportingService(PlanCommands* commands, const ReportQueries* queries, const FunnelReports* funnel,
                   const Scorecards* scorecards, MetricsRegistry* metrics)
      : commands_(commands), queries_(queries), funnel_(funnel), scorecards_(scorecards), metrics_(metrics) {}

  ::grpc::Status SetTarget(::grpc::ServerContext* c, const api::v1::SetTargetRequest* r,
                           api::v1::PlanCommandResponse* out) override;
  ::grpc::Status SetExchangeRate(::grpc::ServerContext* c, const api::v1::SetExchangeRateRequest* r,
                                 api::v1::PlanCommandResponse* out) override;
  ::grpc::Status ListTargets(::grpc::ServerContext* c, const api::v1::ListTargetsRequest* r,
                             api::v1::ListTargetsResponse* out) override;
  ::grpc::Status ListExchangeRates(::grpc::ServerContext* c, const api::v1::ListExchangeRatesRequest* r,
                                   api::v1::ListExchangeRatesResponse* out) override;
  ::grpc::Status GetPlanVsActual(::grpc::ServerContext* c, const api::v1::PlanVsActualRequest* r,
                                 api::v1::PlanVsActualResponse* out) override;
  ::grpc::Status GetProductReport(::grpc::ServerContext* c, const api::v1::ProductReportRequest* r,
                                  api::v1::ProductReportResponse* out) override;
  ::grpc::Status GetClientRevenue(::grpc::ServerContext* c, const api::v1::ClientRevenueRequest* r,
                                  api::v1::ClientRevenueResponse* out) override;
  ::grpc::Status GetConcentration(::grpc::ServerContext* c, const api::v1::ConcentrationRequest* r,
                                  api::v1::ConcentrationResponse* out) override;
  ::grpc::Status GetInboundCalls(::grpc::ServerContext* c, const api::v1::InboundCallsRequest* r,
                                 api::v1::InboundCallsResponse* out) override;
  ::grpc::Status GetPipeline(::grpc::ServerContext* c, const api::v1::PipelineRequest* r,
                             api::v1::PipelineResponse* out) override;
  ::grpc::Status GetReportTable(::grpc::ServerContext* c, const api::v1::ReportRequest* r,
                                api::v1::ReportTable* out) override;
  ::grpc::Status ExportReport(::grpc::ServerContext* c, const api::v1::ExportReportRequest* r,
                              api::v1::ExportReportResponse* out) override;
  ::grpc::Status GetFunnel(::grpc::ServerContext* c, const api::v1::FunnelRequest* r,
                           api::v1::FunnelResponse* out) override;
  ::grpc::Status GetCycleTimes(::grpc::ServerContext* c, const api::v1::CycleTimesRequest* r,
                               api::v1::CycleTimesResponse* out) override;
  ::grpc::Status GetLostReasons(::grpc::ServerContext* c, const api::v1::LostReasonsRequest* r,
                                api::v1::LostReasonsResponse* out) override;
  ::grpc::Status GetScorecards(::grpc::ServerContext* c, const api::v1::ScorecardsRequest* r,
                               api::v1::ScorecardsResponse* out) override;

 private:
  ::grpc::Status PlanCommand(::grpc::ServerContext* c, const char* method, Command command,
                             api::v1::PlanCommandResponse* out);
  template <typename Request, typename Response, typename Query>
  ::grpc::Status Read(::grpc::ServerContext* c, const char* method, const Request& r, Response* out, Query query);
  template <typename Reports, typename Request, typename Response, typename Query>
  ::grpc::Status Read(::grpc::ServerContext* c, const char* method, const Reports* reports, const Request& r,
                      Response* out, Query query);

  PlanCommands* commands_;
  const ReportQueries* queries_;
  const FunnelReports* funnel_;
  const Scorecards* scorecards_;
  MetricsRegistry* metrics_;
};

}  // namespace sales::reporting
