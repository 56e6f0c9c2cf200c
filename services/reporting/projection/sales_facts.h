// Facts of the clients and inbound calls reports (docs/REPORTS.md), written beside the sale and
// call facts of ReportingProjection from the same event, so they inherit its guarantees: derived
// from one aggregate's event, keyed by the event, the same rows on a re-delivery or a rebuild.
//
//   facts         KIND_FIRST_DEAL: a copy of each sale line of a converting acceptance (new-client
//                 revenue; regular-client revenue = the sales minus these)
//                 KIND_INBOUND_ANSWERED, KIND_INBOUND_MISSED: an inbound PBX call (missed ones with
//                 the caller's phone key)
//   call_numbers  <phone key>/<started-at nanos, 8 bytes big-endian><call id> -> store.v1.CallContact:
//                 every PBX call under the other party's number, so that a missed call's return
//                 is found by a scan of one number's next hours, whichever aggregate recorded it
#pragma once

#include <string>

#include "absl/functional/function_ref.h"
#include "common/store/store.h"
#include "services/reporting/domain/plan.h"

namespace sales::reporting {

inline constexpr char kCallNumbersFamily[] = "call_numbers";

// Records a fact (line `line` of its event) with everything the projection keeps of it: its row,
// its cells (ReportingProjection::PutFact).
using PutLineFactFn = absl::FunctionRef<Status(const Fact& fact, int line)>;

// Copies, of kind KIND_FIRST_DEAL, of the sale lines `event` (a converting offer.accepted) has put
// into `batch` already.
Status PutFirstDealFacts(const EventEnvelope& event, const Batch& batch, PutLineFactFn put);

// The fact and the row of a PBX call, once per call; `call_fact` is its KIND_CALL fact, attributed.
Status PutPbxCall(Batch& batch, const Fact& call_fact, const events::v1::PbxCall& call, PutLineFactFn put);

// The first call_numbers key of `phone_key` at or after `at`.
std::string CallNumberKey(const std::string& phone_key, absl::Time at);

}  // namespace sales::reporting
