#include "tests/bench/lead_data.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "common/base/clock.h"
#include "common/base/ids.h"
#include "common/base/strings.h"
#include "common/events/envelope.h"
#include "services/lead_acquisition/domain/lead.h"
#include "services/lead_acquisition/commands/lead_commands.h"

namespace sales::bench {

using lead_acquisition::EventEnvelope;

api::v1::CaptureLeadRequest CaptureRequest(const std::string& run, int64_t i) {
  // The service links a lead whose e-mail or phone it has seen before to the earlier lead
  // (de-duplication): every request of the process gets an e-mail and a phone of its own.
  static std::atomic<int64_t> serial{0};
  const int64_t n = serial++;
  char phone[32];
  std::snprintf(phone, sizeof phone, "+1 %010lld", static_cast<long long>(n));
  api::v1::CaptureLeadRequest r;
  r.set_idempotency_key(StrCat("bench-", run, "-", i));
  // Mixed scripts and lengths, like the README's example lead.
  r.set_name(StrCat("Ελένη Παππά ", i));
  r.set_company("Παππάς & Υιοί Α.Ε.");
  r.set_email(StrCat("eleni.", n, "@example.gr"));
  r.set_phone(phone);
  r.set_source(events::v1::LEAD_SOURCE_WEB_FORM);
  r.set_external_id(StrCat("form-", run, "-", i));
  r.set_region("GR-ATT");
  r.add_product_interest("crm-pro");
  r.add_product_interest("crm-basic");
  return r;
}

kafka::OutgoingMessage CapturedMessage(const std::string& topic, const api::v1::CaptureLeadRequest& request,
                                       const Clock& clock, const std::vector<store::v1::ManagerState>& managers) {
  // What LeadCommands::CaptureLead does for a new lead, minus the store and the publisher.
  api::v1::CaptureLeadRequest without_key = request;
  without_key.clear_idempotency_key();
  const std::string lead_id = lead_acquisition::LeadIdFor(request.idempotency_key());
  lead_acquisition::LeadEvent payload = lead_acquisition::DecideCapture(
      request, lead_acquisition::ChooseManager(
                   request.region(), {request.product_interest().begin(), request.product_interest().end()}, managers));
  events::EventContext context{NewUuid(), StrCat("CaptureLead:", request.idempotency_key()), "sales-bench",
                               request.idempotency_key(), "lead-acquisition"};
  EventEnvelope e = events::NewEnvelope(lead_acquisition::kLeadAggregate, lead_id, 1,
                                        lead_acquisition::EventTypeOf(payload), lead_acquisition::kSchemaVersion,
                                        context, clock);
  e.set_command_hash(lead_acquisition::CommandHash(without_key));
  *e.mutable_lead() = std::move(payload);
  return {topic, lead_id, events::Encode(e),
          {{"event_type", e.event_type()}, {"content-type", "application/x-protobuf"}}};
}

std::string LeadRow(const kafka::OutgoingMessage& captured) {
  auto event = events::Decode(captured.value);
  std::optional<lead_acquisition::Lead> state;
  if (!event.ok() || !lead_acquisition::EvolveLead(state, *event).ok()) std::abort();
  return state->SerializeAsString();
}

}  // namespace sales::bench
