// The one mapping from our Status to grpc::Status. The code carries the meaning; field violations
// travel as google.rpc.BadRequest in the standard `grpc-status-details-bin` trailer, so grpcurl
// and any client with googleapis can show which field was wrong and why.
#pragma once

#include <grpcpp/support/status.h>

#include "common/base/status.h"

namespace sales::grpc_util {

::grpc::Status ToGrpcStatus(const Status& status);

}  // namespace sales::grpc_util
