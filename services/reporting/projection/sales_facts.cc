#include "services/reporting/projection/sales_facts.h"

#include "common/events/envelope.h"
#include "services/client_support/domain/client.h"
#include "services/reporting/projection/reporting_projection.h"

namespace sales::reporting {

Status PutFirstDealFacts(const EventEnvelope& event, const Batch& batch, PutLineFactFn put) {
  Fact sale;
  sale.set_kind(Fact::KIND_SALE);
  *sale.mutable_occurred_at() = event.occurred_at();
  sale.set_event_id(event.event_id());
  // The sale lines of this event are lines 0..n-1 (an acceptance without terms wrote line 0).
  for (int line = 0;; ++line) {
    ASSIGN_OR_RETURN(std::optional<Fact> f, LoadRow<Fact>(batch, kFactsFamily, FactKey(sale, line)));
    if (!f) return absl::OkStatus();
    f->set_kind(Fact::KIND_FIRST_DEAL);
    RETURN_IF_ERROR(put(*f, line));
  }
}

std::string CallNumberKey(const std::string& phone_key, absl::Time at) {
  return StrCat(phone_key, "/", EncodeInt64(absl::ToUnixNanos(at)));
}

Status PutPbxCall(Batch& batch, const Fact& call_fact, const events::v1::PbxCall& call, PutLineFactFn put) {
  const bool inbound = call.direction() == events::v1::CALL_DIRECTION_INBOUND;
  // The other party: who called us, or whom we called (client support's match key).
  const std::string phone_key = client_support::PhoneMatchKey(inbound ? call.from() : call.to());
  if (inbound) {
    Fact f = call_fact;
    f.set_kind(call.answered() ? Fact::KIND_INBOUND_ANSWERED : Fact::KIND_INBOUND_MISSED);
    if (!call.answered()) f.set_phone_key(phone_key);
    RETURN_IF_ERROR(put(f, 0));
  }
  if (phone_key.empty()) return absl::OkStatus();
  store::v1::CallContact contact;
  contact.set_call_id(call.call_id());
  contact.set_direction(call.direction());
  contact.set_answered(call.answered());
  *contact.mutable_started_at() = call.started_at();
  *contact.mutable_recorded_at() = call_fact.recorded_at();
  contact.set_manager_id(call_fact.manager_id());
  batch.Put(kCallNumbersFamily, CallNumberKey(phone_key, events::FromProto(call.started_at())) + call.call_id(),
            contact.SerializeAsString());
  return absl::OkStatus();
}

}  // namespace sales::reporting
