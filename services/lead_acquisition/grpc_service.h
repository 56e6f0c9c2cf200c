// gRPC handlers of the lead acquisition API: they only translate protos and statuses; the
// decisions live in LeadCommands and the aggregate.
#pragma once

#include "common/observability/metrics.h"
#include "sales/api/v1/lead_acquisition.grpc.pb.h"
#include "services/lead_acquisition/lead_commands.h"

namespace sales::lead_acquisition {

class LeadAcquisitionService final : public api::v1::LeadAcquisition::Service {
 public:
  LeadAcquisitionService(LeadCommands* commands, MetricsRegistry* metrics);

  ::grpc::Status CaptureLead(::grpc::ServerContext* context, const api::v1::CaptureLeadRequest* request,
                             api::v1::CaptureLeadResponse* response) override;
  ::grpc::Status GetLead(::grpc::ServerContext* context, const api::v1::GetLeadRequest* request,
                         api::v1::Lead* response) override;

 private:
  // Runs `call`, maps its status, logs failures and records metrics under `method`.
  template <typename Fn>
  ::grpc::Status Observe(const char* method, Fn&& call);

  LeadCommands* commands_;
  MetricsRegistry* metrics_;
};

}  // namespace sales::lead_acquisition
