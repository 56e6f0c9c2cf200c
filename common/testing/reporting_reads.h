// Reads of the reporting service that tests compare against what they did.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <memory>

#include "common/base/status.h"

namespace sales::testing {

// The company's revenue (in cents) reporting counts from yesterday to tomorrow (UTC): the accepted
// offers of a test that just ran. UNAVAILABLE and the like when the call fails.
StatusOr<int64_t> RecentRevenueCents(const std::shared_ptr<::grpc::Channel>& reporting);

}  // namespace sales::testing
