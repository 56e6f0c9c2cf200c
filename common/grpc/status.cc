#include "common/grpc/status.h"

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace sales::grpc_util {

::grpc::Status ToGrpcStatus(const Status& status) {
  if (status.ok()) return ::grpc::Status::OK;
  // absl and gRPC share the canonical code numbering.
  const auto code = static_cast<::grpc::StatusCode>(static_cast<int>(status.code()));
  const std::string message(status.message());
  auto violations = FieldViolations(status);
  if (violations.empty()) return ::grpc::Status(code, message);
  google::rpc::BadRequest bad_request;
  for (const auto& v : violations) {
    auto* fv = bad_request.add_field_violations();
    fv->set_field(v.field);
    fv->set_description(v.description);
  }
  google::rpc::Status details;
  details.set_code(static_cast<int>(code));
  details.set_message(message);
  details.add_details()->PackFrom(bad_request);
  return ::grpc::Status(code, message, details.SerializeAsString());
}

}  // namespace sales::grpc_util
