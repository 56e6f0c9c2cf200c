// The operations API every service serves beside its own (proto/sales/api/v1/admin.proto): every
// consumer of the service - its projections and its intakes - with its position, lag and dead
// letters. Given a metrics registry, it also exports each consumer's persisted dead-letter count
// as `sales_dlq_records{consumer=...,kind=...}`, so `curl .../metrics | grep -i dlq` finds them.
#pragma once

#include <vector>

#include "common/base/status.h"
#include "common/observability/metrics.h"
#include "common/projection/runner.h"
#include "sales/api/v1/admin.grpc.pb.h"

namespace sales::grpc_util {

// A consumer that is not a projection runner (e.g. an intake that turns inbound records into
// commands), reported beside the projections. Thread-safe.
class ConsumerStatusSource {
 public:
  virtual ~ConsumerStatusSource() = default;
  virtual StatusOr<api::v1::ProjectionStatus> ConsumerStatus() const = 0;
};

class AdminService final : public api::v1::Admin::Service {
 public:
  struct Entry {
    projection::ProjectionRunner* runner;
    Store* store;
  };
  // Pointers must outlive the service. `metrics` may be null.
  explicit AdminService(std::vector<Entry> projections, std::vector<const ConsumerStatusSource*> others = {},
                        MetricsRegistry* metrics = nullptr);
  ~AdminService() override;

  ::grpc::Status GetProjectionStatus(::grpc::ServerContext* context, const api::v1::GetProjectionStatusRequest* request,
                                     api::v1::GetProjectionStatusResponse* response) override;

  // Every consumer, projections first.
  StatusOr<api::v1::GetProjectionStatusResponse> Consumers() const;

 private:
  std::vector<Entry> projections_;
  std::vector<const ConsumerStatusSource*> others_;
  MetricsRegistry* metrics_;
  int collector_ = -1;
};

}  // namespace sales::grpc_util
