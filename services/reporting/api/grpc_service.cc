#include "services/reporting/api/grpc_service.h"

#include "common/grpc/call.h"
#include "services/reporting/api/export.h"
#include "services/reporting/api/report_tables.h"

namespace sales::reporting {

constexpr const char* kService = api::v1::Reporting::service_full_name();

::grpc::Status ReportingService::PlanCommand(::grpc::ServerContext* c, const char* method, Command command,
                                             api::v1::PlanCommandResponse* out) {
  return grpc_util::ObserveCall(c, kService, method, metrics_, [&](const Caller& caller) -> Status {
    ASSIGN_OR_RETURN(CommandResult result, commands_->Execute(std::move(command), caller));
    out->set_aggregate_id(result.aggregate_id);
    out->set_version(result.version);
    out->set_replayed(result.replayed);
    return absl::OkStatus();
  });
}

template <typename Request, typename Response, typename Query>
::grpc::Status ReportingService::Read(::grpc::ServerContext* c, const char* method, const Request& r, Response* out,
                                      Query query) {
  return Read(c, method, queries_, r, out, query);
}

template <typename Reports, typename Request, typename Response, typename Query>
::grpc::Status ReportingService::Read(::grpc::ServerContext* c, const char* method, const Reports* reports,
                                      const Request& r, Response* out, Query query) {
  return grpc_util::ObserveCall(c, kService, method, metrics_, [&](const Caller&) -> Status {
    ASSIGN_OR_RETURN(*out, (reports->*query)(r));
    return absl::OkStatus();
  });
}

::grpc::Status ReportingService::SetTarget(::grpc::ServerContext* c, const api::v1::SetTargetRequest* r,
                                           api::v1::PlanCommandResponse* out) {
  return PlanCommand(c, "SetTarget", *r, out);
}
::grpc::Status ReportingService::SetExchangeRate(::grpc::ServerContext* c, const api::v1::SetExchangeRateRequest* r,
                                                 api::v1::PlanCommandResponse* out) {
  return PlanCommand(c, "SetExchangeRate", *r, out);
}
::grpc::Status ReportingService::ListTargets(::grpc::ServerContext* c, const api::v1::ListTargetsRequest* r,
                                             api::v1::ListTargetsResponse* out) {
  return Read(c, "ListTargets", *r, out, &ReportQueries::ListTargets);
}
::grpc::Status ReportingService::ListExchangeRates(::grpc::ServerContext* c,
                                                   const api::v1::ListExchangeRatesRequest* r,
                                                   api::v1::ListExchangeRatesResponse* out) {
  return Read(c, "ListExchangeRates", *r, out, &ReportQueries::ListExchangeRates);
}
::grpc::Status ReportingService::GetPlanVsActual(::grpc::ServerContext* c, const api::v1::PlanVsActualRequest* r,
                                                 api::v1::PlanVsActualResponse* out) {
  return Read(c, "GetPlanVsActual", *r, out, &ReportQueries::GetPlanVsActual);
}
::grpc::Status ReportingService::GetProductReport(::grpc::ServerContext* c, const api::v1::ProductReportRequest* r,
                                                  api::v1::ProductReportResponse* out) {
  return Read(c, "GetProductReport", *r, out, &ReportQueries::GetProductReport);
}
::grpc::Status ReportingService::GetClientRevenue(::grpc::ServerContext* c, const api::v1::ClientRevenueRequest* r,
                                                  api::v1::ClientRevenueResponse* out) {
  return Read(c, "GetClientRevenue", *r, out, &ReportQueries::GetClientRevenue);
}
::grpc::Status ReportingService::GetConcentration(::grpc::ServerContext* c, const api::v1::ConcentrationRequest* r,
                                                  api::v1::ConcentrationResponse* out) {
  return Read(c, "GetConcentration", *r, out, &ReportQueries::GetConcentration);
}
::grpc::Status ReportingService::GetInboundCalls(::grpc::ServerContext* c, const api::v1::InboundCallsRequest* r,
                                                 api::v1::InboundCallsResponse* out) {
  return Read(c, "GetInboundCalls", *r, out, &ReportQueries::GetInboundCalls);
}
::grpc::Status ReportingService::GetPipeline(::grpc::ServerContext* c, const api::v1::PipelineRequest* r,
                                             api::v1::PipelineResponse* out) {
  return Read(c, "GetPipeline", *r, out, &ReportQueries::GetPipeline);
}
::grpc::Status ReportingService::GetReportTable(::grpc::ServerContext* c, const api::v1::ReportRequest* r,
                                                api::v1::ReportTable* out) {
  return grpc_util::ObserveCall(c, kService, "GetReportTable", metrics_, [&](const Caller&) -> Status {
    ASSIGN_OR_RETURN(*out, BuildTable(Reports{queries_, funnel_, scorecards_}, *r));
    return absl::OkStatus();
  });
}
::grpc::Status ReportingService::ExportReport(::grpc::ServerContext* c, const api::v1::ExportReportRequest* r,
                                              api::v1::ExportReportResponse* out) {
  return grpc_util::ObserveCall(c, kService, "ExportReport", metrics_, [&](const Caller&) -> Status {
    // The format first: a bad one is refused before any report is computed.
    if (r->format() != api::v1::EXPORT_FORMAT_CSV && r->format() != api::v1::EXPORT_FORMAT_XLSX) {
      return InvalidField("format", "EXPORT_FORMAT_CSV or EXPORT_FORMAT_XLSX");
    }
    StatusOr<api::v1::ReportTable> table = BuildTable(Reports{queries_, funnel_, scorecards_}, r->report());
    if (!table.ok()) return PrefixFields(table.status(), "report");
    ASSIGN_OR_RETURN(*out, Export(*table, r->format(), CsvOptions{.byte_order_mark = r->byte_order_mark()}));
    return absl::OkStatus();
  });
}
::grpc::Status ReportingService::GetFunnel(::grpc::ServerContext* c, const api::v1::FunnelRequest* r,
                                           api::v1::FunnelResponse* out) {
  return Read(c, "GetFunnel", funnel_, *r, out, &FunnelReports::GetFunnel);
}
::grpc::Status ReportingService::GetCycleTimes(::grpc::ServerContext* c, const api::v1::CycleTimesRequest* r,
                                               api::v1::CycleTimesResponse* out) {
  return Read(c, "GetCycleTimes", funnel_, *r, out, &FunnelReports::GetCycleTimes);
}
::grpc::Status ReportingService::GetLostReasons(::grpc::ServerContext* c, const api::v1::LostReasonsRequest* r,
                                                api::v1::LostReasonsResponse* out) {
  return Read(c, "GetLostReasons", funnel_, *r, out, &FunnelReports::GetLostReasons);
}
::grpc::Status ReportingService::GetScorecards(::grpc::ServerContext* c, const api::v1::ScorecardsRequest* r,
                                               api::v1::ScorecardsResponse* out) {
  return Read(c, "GetScorecards", scorecards_, *r, out, &Scorecards::GetScorecards);
}

}  // namespace sales::reporting
