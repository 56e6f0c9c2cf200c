// The frame of every gRPC handler: the caller's context (correlation id and actor from metadata,
// the correlation id on every log line of the call), metrics by method and status code, failures
// logged (server-side ones as warnings, the caller's mistakes at debug), and the one mapping of
// our Status to grpc::Status. A handler only translates protos and calls domain code inside it.
#pragma once

#include <grpcpp/server_context.h>

#include <utility>

#include "absl/time/clock.h"
#include "common/base/log.h"
#include "common/command/decider.h"
#include "common/grpc/request_context.h"
#include "common/grpc/status.h"
#include "common/observability/metrics.h"

namespace sales::grpc_util {

// Records the outcome of one call (metrics and log); used by ObserveCall.
void RecordCall(MetricsRegistry* metrics, const char* method, const RequestContext& rc, const Status& status,
                absl::Duration elapsed);

// Runs `body(const command::Caller&) -> Status` as the call `method`.
template <typename Fn>
::grpc::Status ObserveCall(::grpc::ServerContext* context, const char* method, MetricsRegistry* metrics, Fn&& body) {
  const RequestContext rc = FromServerContext(context);
  log::ScopedCorrelation correlation(rc.correlation_id);
  const absl::Time start = absl::Now();
  Status status = std::forward<Fn>(body)(command::Caller{rc.correlation_id, rc.actor});
  RecordCall(metrics, method, rc, status, absl::Now() - start);
  return ToGrpcStatus(status);
}

}  // namespace sales::grpc_util
