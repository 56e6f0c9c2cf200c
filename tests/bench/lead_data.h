// Lead traffic for the benchmark, built with the lead acquisition service's own code so that every
// request, event and row has the size and shape of the real thing: CaptureLead requests, the
// LeadCaptured envelope the command path appends for such a request (same fields, same headers),
// and the projection row (a serialized sales.api.v1.Lead) the projection stores for it.
#pragma once

#include <cstdint>
#include <string>

#include <vector>

#include "common/base/clock.h"
#include "common/kafka/publisher.h"
#include "sales/api/v1/lead_acquisition.pb.h"
#include "sales/store/v1/lead_acquisition.pb.h"

namespace sales::bench {

// The i-th CaptureLead request of a run; `run` makes idempotency keys unique across runs, and
// every request this process builds has an e-mail and a phone of its own (the service would link
// a repeated one to the earlier lead).
api::v1::CaptureLeadRequest CaptureRequest(const std::string& run, int64_t i);

// The message lead acquisition appends for `request` (key = lead id, value = the encoded
// LeadCaptured envelope, the same headers), on `topic`: captured at `clock`'s time and assigned as
// the service would with `managers` registered (none: unassigned).
kafka::OutgoingMessage CapturedMessage(const std::string& topic, const api::v1::CaptureLeadRequest& request,
                                       const Clock& clock = SystemClock(),
                                       const std::vector<store::v1::ManagerState>& managers = {});

// The projection row the lead projection writes for that event (serialized sales.api.v1.Lead).
std::string LeadRow(const kafka::OutgoingMessage& captured);

}  // namespace sales::bench
