// The frame of every gRPC handler: the caller's context (correlation id and actor from metadata,
// the correlation id on every log line of the call), metrics by method and status code, failures
// logged (server-side ones as warnings, the caller's mistakes at debug), and the one mapping of
// our Status to grpc::Status. A handler only translates protos and calls domain code inside it.
#pragma once

#include <grpcpp/server_context.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/time/clock.h"
#include "common/base/log.h"
#include "common/command/decider.h"
#include "common/grpc/request_context.h"
#include "common/grpc/status.h"
#include "common/observability/metrics.h"
#include "common/store/store.h"

namespace sales::grpc_util {

// The as-of stores of this process (set once by the kit before serving): the read redirect for
// the one a call names, NOT_FOUND for an unknown name, FAILED_PRECONDITION for one still building.
using AsOfRedirector = std::function<StatusOr<std::unique_ptr<ScopedReadRedirect>>(const std::string& name)>;
void SetAsOfRedirector(AsOfRedirector redirector);
// The redirect for `name` (UNIMPLEMENTED when no redirector is set).
StatusOr<std::unique_ptr<ScopedReadRedirect>> RedirectToAsOf(const std::string& name);

// Records the outcome of one call (metrics and log); used by ObserveCall.
void RecordCall(MetricsRegistry* metrics, const char* method, const RequestContext& rc, const Status& status,
                absl::Duration elapsed);

// Runs `body(const command::Caller&) -> Status` as the call `method` of `service` (its full name)
// once the caller is authorized for it (request_context.h, Authorize); when the call names an
// as-of store, its reads of the store go there (and its writes are refused) for the length of the body.
template <typename Fn>
::grpc::Status ObserveCall(::grpc::ServerContext* context, std::string_view service, const char* method,
                           MetricsRegistry* metrics, Fn&& body) {
  const RequestContext rc = FromServerContext(context);
  log::ScopedCorrelation correlation(rc.correlation_id);
  const absl::Time start = absl::Now();
  Status status = Authorize(rc, service, method);
  StatusOr<std::unique_ptr<ScopedReadRedirect>> as_of = std::unique_ptr<ScopedReadRedirect>();
  if (status.ok() && !rc.as_of_store.empty()) as_of = RedirectToAsOf(rc.as_of_store);
  if (status.ok()) status = as_of.status();
  if (status.ok()) status = std::forward<Fn>(body)(command::Caller{rc.correlation_id, rc.actor});
  as_of = std::unique_ptr<ScopedReadRedirect>();
  RecordCall(metrics, method, rc, status, absl::Now() - start);
  return ToGrpcStatus(status);
}

}  // namespace sales::grpc_util
