#include "common/grpc/call.h"

namespace sales::grpc_util {

void RecordCall(MetricsRegistry* metrics, const char* method, const RequestContext& rc, const Status& status,
                absl::Duration elapsed) {
  const std::string code = absl::StatusCodeToString(status.code());
  metrics->GetCounter("sales_grpc_requests_total", "gRPC calls by method and status code.",
                      {{"method", method}, {"code", code}})
      .Inc();
  metrics->GetHistogram("sales_grpc_request_seconds", "gRPC call latency by method.", {{"method", method}})
      .Observe(absl::ToDoubleSeconds(elapsed));
  if (!status.ok()) {
    const bool server_side = status.code() == absl::StatusCode::kUnavailable ||
                             status.code() == absl::StatusCode::kInternal ||
                             status.code() == absl::StatusCode::kDataLoss ||
                             status.code() == absl::StatusCode::kResourceExhausted;
    log::Write(server_side ? log::Level::kWarn : log::Level::kDebug, "call failed",
               {{"method", method}, {"code", code}, {"error", std::string(status.message())}, {"actor", rc.actor}});
  }
}

}  // namespace sales::grpc_util
