#include "common/grpc/call.h"

#include <mutex>

namespace sales::grpc_util {
namespace {

std::mutex redirector_mu;
AsOfRedirector& Redirector() {
  static auto* r = new AsOfRedirector();
  return *r;
}

}  // namespace

void SetAsOfRedirector(AsOfRedirector redirector) {
  std::lock_guard lock(redirector_mu);
  Redirector() = std::move(redirector);
}

StatusOr<std::unique_ptr<ScopedReadRedirect>> RedirectToAsOf(const std::string& name) {
  AsOfRedirector redirector;
  {
    std::lock_guard lock(redirector_mu);
    redirector = Redirector();
  }
  if (!redirector) return absl::UnimplementedError("this server keeps no as-of stores (x-as-of-store)");
  return redirector(name);
}

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
