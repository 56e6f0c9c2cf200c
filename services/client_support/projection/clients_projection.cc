#include "services/client_support/projection/clients_projection.h"

#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/base/strings.h"
#include "common/command/idempotency.h"
#include "common/events/envelope.h"
#include "common/schedule/scheduler.h"
#include "common/store/store.h"

namespace sales::client_support {
namespace {

std::string Nanos(const google::protobuf::Timestamp& t) { return EncodeInt64(absl::ToUnixNanos(events::FromProto(t))); }

std::set<std::string> PhoneKeys(const std::optional<ClientState>& c) {
  std::set<std::string> keys;
  if (!c) return keys;
  if (std::string k = PhoneMatchKey(c->conversion().contact().phone()); !k.empty()) keys.insert(k + "/" + c->client_id());
  return keys;
}

std::set<std::string> TicketKeys(const std::optional<ClientState>& c) {
  std::set<std::string> keys;
  if (!c) return keys;
  for (const auto& t : c->tickets()) keys.insert(TicketOrderKey(c->client_id(), t));
  return keys;
}

std::set<std::string> DueKeys(const std::optional<ClientState>& c) {
  std::set<std::string> keys;
  if (!c) return keys;
  for (const OpenTarget& t : OpenSlaTargets(*c)) {
    keys.insert(schedule::DueKey(t.due, SlaDueId(c->client_id(), t.ticket_id, t.kind)));
  }
  return keys;
}

// Brings the rows of `family` from `before` to `after`.
void Sync(Batch& batch, const char* family, const std::set<std::string>& before, const std::set<std::string>& after) {
  for (const auto& k : before) {
    if (!after.count(k)) batch.Delete(family, k);
  }
  for (const auto& k : after) {
    if (!before.count(k)) batch.Put(family, k, "");
  }
}

}  // namespace

std::string ClientEventKey(const std::string& client_id, int64_t version) {
  return client_id + "/" + EncodeInt64(version);
}
std::string ClientOrderKey(const ClientState& c) { return Nanos(c.client_since()) + c.client_id(); }
std::string TicketOrderKey(const std::string& client_id, const TicketState& t) {
  return StrCat(Nanos(t.opened_at()), client_id, "/", t.ticket_id());
}
std::string SlaDueId(const std::string& client_id, const std::string& ticket_id, events::v1::SlaKind kind) {
  return StrCat(client_id, "|", ticket_id, "|", static_cast<int>(kind));
}
bool ParseSlaDueId(const std::string& id, std::string* client_id, std::string* ticket_id, events::v1::SlaKind* kind) {
  std::vector<std::string> parts = absl::StrSplit(id, '|');
  int k = 0;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[2], &k) || !events::v1::SlaKind_IsValid(k)) return false;
  *client_id = parts[0];
  *ticket_id = parts[1];
  *kind = static_cast<events::v1::SlaKind>(k);
  return true;
}
std::string UnmatchedCallKey(const PbxCall& call) { return Nanos(call.started_at()) + call.call_id(); }

bool ClientsProjection::Uses(const EventEnvelope& event) const {
  return event.aggregate_type() == kClientAggregate || event.aggregate_type() == kCallAggregate;
}

StatusOr<projection::Outcome> ClientsProjection::ApplyEvent(const EventEnvelope& event, Batch& batch) {
  if (event.aggregate_type() == kClientAggregate) return ApplyClient(event, batch);
  return ApplyCall(event, batch);
}

StatusOr<projection::Outcome> ClientsProjection::ApplyClient(const EventEnvelope& event, Batch& batch) {
  const std::string& id = event.aggregate_id();
  ASSIGN_OR_RETURN(std::optional<ClientState> state, LoadClient(batch, id));
  const int64_t current = state ? state->version() : 0;
  if (event.aggregate_version() <= current) {
    // Seen before - unless another event already holds this version (two decisions on the same
    // state): refused loudly rather than dropped as a duplicate.
    ASSIGN_OR_RETURN(std::optional<std::string> stored,
                     batch.Get(kClientEventsFamily, ClientEventKey(id, event.aggregate_version())));
    EventEnvelope earlier;
    if (stored && earlier.ParseFromString(*stored) && earlier.event_id() != event.event_id()) {
      return absl::FailedPreconditionError(StrCat("conflicting event for client ", id, " version ",
                                                  event.aggregate_version(), ": already holds event ",
                                                  earlier.event_id()));
    }
    return projection::Outcome::kDuplicate;
  }
  if (event.aggregate_version() != current + 1) {
    return absl::FailedPreconditionError(StrCat("version gap for client ", id, ": stored version ", current,
                                                ", event version ", event.aggregate_version()));
  }
  const std::optional<ClientState> before = state;
  RETURN_IF_ERROR(EvolveClient(state, event));
  const ClientState& after = *state;
  if (!before) {
    batch.Put(kClientOrderFamily, ClientOrderKey(after), "");
    batch.Put(kClientByLeadFamily, after.lead_id(), id);
  }
  Sync(batch, kClientPhonesFamily, PhoneKeys(before), PhoneKeys(state));
  Sync(batch, kTicketOrderFamily, TicketKeys(before), TicketKeys(state));
  Sync(batch, kSlaDueFamily, DueKeys(before), DueKeys(state));
  batch.Put(kClientsFamily, id, after.SerializeAsString());
  batch.Put(kClientEventsFamily, ClientEventKey(id, event.aggregate_version()), event.SerializeAsString());
  command::RecordIdempotency(batch, kIdempotencyFamily, event);
  return projection::Outcome::kApplied;
}

StatusOr<projection::Outcome> ClientsProjection::ApplyCall(const EventEnvelope& event, Batch& batch) {
  const std::string& id = event.aggregate_id();
  ASSIGN_OR_RETURN(std::optional<std::string> seen, batch.Get(kCallsFamily, id));
  if (seen) return projection::Outcome::kDuplicate;
  if (event.aggregate_version() != 1) {
    return absl::FailedPreconditionError(StrCat("call ", id, ": version ", event.aggregate_version(), " without 1"));
  }
  if (event.payload_case() != EventEnvelope::kCall || !event.call().has_unmatched()) {
    return InvalidField("payload", StrCat("call ", id, ": not an unmatched call"));
  }
  const PbxCall& call = event.call().unmatched().call();
  batch.Put(kCallsFamily, id, "1");
  batch.Put(kUnmatchedCallsFamily, UnmatchedCallKey(call), call.SerializeAsString());
  command::RecordIdempotency(batch, kIdempotencyFamily, event);
  return projection::Outcome::kApplied;
}

}  // namespace sales::client_support
