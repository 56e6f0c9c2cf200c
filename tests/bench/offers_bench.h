// The first offers figures driven over gRPC: the real first-offers executable (started by
// service_bench.h on a topic prefix of its own and a fresh store), fed qualified leads straight
// through `sales.leads`, as a manager's tool calls it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/time/time.h"
#include "common/base/status.h"
#include "tests/bench/service_bench.h"

namespace sales::bench {

// Upserts the benchmark's product (ProductRequest(run)).
Status UpsertBenchProduct(const std::shared_ptr<::grpc::Channel>& channel, const std::string& run);

// Polls GetOpportunity(lead_id) every 20 ms until first offers knows the lead as an open
// opportunity (it has applied its LeadQualified); DEADLINE_EXCEEDED after `timeout`.
Status WaitForOpportunity(const std::shared_ptr<::grpc::Channel>& channel, const std::string& lead_id,
                          absl::Duration timeout);

// DraftOffer + SendOffer pairs at a fixed `rate_per_s` for `duration`, open loop: pair i's
// DraftOffer (for lead_ids[i], each lead used once) is issued at start + i/rate whatever happened
// before, its SendOffer as soon as the draft is answered; the pair's latency runs from the
// scheduled time to SendOffer's answer. A pair counts as failed when either call failed.
// `lead_ids` must hold at least duration x rate leads.
StatusOr<LatencySummary> DraftSendOpenLoop(const std::shared_ptr<::grpc::Channel>& channel, const std::string& run,
                                           const std::vector<std::string>& lead_ids, int rate_per_s,
                                           absl::Duration duration);

}  // namespace sales::bench
