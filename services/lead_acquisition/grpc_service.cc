#include "services/lead_acquisition/grpc_service.h"

#include "absl/time/clock.h"
#include "common/base/log.h"
#include "common/grpc/request_context.h"
#include "common/grpc/status.h"

namespace sales::lead_acquisition {

LeadAcquisitionService::LeadAcquisitionService(LeadCommands* commands, MetricsRegistry* metrics)
    : commands_(commands), metrics_(metrics) {}

template <typename Fn>
::grpc::Status LeadAcquisitionService::Observe(const char* method, Fn&& call) {
  const absl::Time start = absl::Now();
  Status status = call();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const std::string code = absl::StatusCodeToString(status.code());
  metrics_->GetCounter("sales_grpc_requests_total", "gRPC calls by method and status code.",
                       {{"method", method}, {"code", code}})
      .Inc();
  metrics_->GetHistogram("sales_grpc_request_seconds", "gRPC call latency by method.", {{"method", method}})
      .Observe(seconds);
  if (!status.ok()) {
    const bool server_side = status.code() == absl::StatusCode::kUnavailable ||
                             status.code() == absl::StatusCode::kInternal ||
                             status.code() == absl::StatusCode::kDataLoss;
    log::Write(server_side ? log::Level::kWarn : log::Level::kDebug, "call failed",
               {{"method", method}, {"code", code}, {"error", std::string(status.message())}});
  }
  return grpc_util::ToGrpcStatus(status);
}

::grpc::Status LeadAcquisitionService::CaptureLead(::grpc::ServerContext* context,
                                                   const api::v1::CaptureLeadRequest* request,
                                                   api::v1::CaptureLeadResponse* response) {
  auto rc = grpc_util::FromServerContext(context);
  log::ScopedCorrelation correlation(rc.correlation_id);
  return Observe("CaptureLead", [&]() -> Status {
    ASSIGN_OR_RETURN(*response, commands_->CaptureLead(*request, {rc.correlation_id, rc.actor}));
    if (!response->replayed()) log::Info("lead captured", {{"lead_id", response->lead_id()}, {"actor", rc.actor}});
    return absl::OkStatus();
  });
}

::grpc::Status LeadAcquisitionService::GetLead(::grpc::ServerContext* context, const api::v1::GetLeadRequest* request,
                                               api::v1::Lead* response) {
  auto rc = grpc_util::FromServerContext(context);
  log::ScopedCorrelation correlation(rc.correlation_id);
  return Observe("GetLead", [&]() -> Status {
    ASSIGN_OR_RETURN(*response, commands_->GetLead(*request));
    return absl::OkStatus();
  });
}

}  // namespace sales::lead_acquisition
