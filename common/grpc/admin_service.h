// The operations API every service serves beside its own (proto/sales/api/v1/admin.proto).
#pragma once

#include <vector>

#include "common/projection/runner.h"
#include "sales/api/v1/admin.grpc.pb.h"

namespace sales::grpc_util {

class AdminService final : public api::v1::Admin::Service {
 public:
  struct Entry {
    projection::ProjectionRunner* runner;
    Store* store;
  };
  explicit AdminService(std::vector<Entry> projections) : projections_(std::move(projections)) {}

  ::grpc::Status GetProjectionStatus(::grpc::ServerContext* context, const api::v1::GetProjectionStatusRequest* request,
                                     api::v1::GetProjectionStatusResponse* response) override;

 private:
  std::vector<Entry> projections_;
};

}  // namespace sales::grpc_util
