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

template <typename Reader>
StatusOr<std::optional<RosterManager>> LoadRosterManager(const Reader& r, const std::string& id) {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, r.Get(kRosterFamily, RosterManagerKey(id)));
  if (!bytes) return std::optional<RosterManager>();
  RosterManager m;
  if (!m.ParseFromString(*bytes)) return absl::DataLossError(StrCat("stored roster manager ", id, " is corrupt"));
  return std::optional<RosterManager>(std::move(m));
}

// Ends the interval in which the manager holds its current extension, at `at`. Nothing when it
// holds none (no extension, or inactive).
Status Release(Batch& batch, const RosterManager& m, absl::Time at) {
  if (!m.active() || m.extension().empty()) return absl::OkStatus();
  const absl::Time from = events::FromProto(m.extension_since());
  const std::string key = ExtensionHoldingKey(m.extension(), from, m.manager_id());
  ExtensionHolding h;
  ASSIGN_OR_RETURN(std::optional<std::string> stored, batch.Get(kRosterFamily, key));
  if (stored && !h.ParseFromString(*stored)) return absl::DataLossError(StrCat("stored holding ", m.manager_id(), " is corrupt"));
  h.set_manager_id(m.manager_id());
  h.set_extension(m.extension());
  *h.mutable_from() = m.extension_since();
  *h.mutable_until() = events::ToProto(at);
  batch.Put(kRosterFamily, key, h.SerializeAsString());
  return absl::OkStatus();
}

// The manager takes `extension` (empty: none) from `at`; an interval opens if it is active.
void Hold(Batch& batch, RosterManager& m, const std::string& extension, absl::Time at) {
  m.set_extension(extension);
  m.clear_extension_since();
  if (extension.empty()) return;
  *m.mutable_extension_since() = events::ToProto(at);
  if (!m.active()) return;
  ExtensionHolding h;
  h.set_manager_id(m.manager_id());
  h.set_extension(extension);
  *h.mutable_from() = events::ToProto(at);
  batch.Put(kRosterFamily, ExtensionHoldingKey(extension, at, m.manager_id()), h.SerializeAsString());
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
std::string RosterManagerKey(const std::string& manager_id) { return "mgr/" + manager_id; }
std::string ExtensionHoldingKey(const std::string& extension, absl::Time from, const std::string& manager_id) {
  return StrCat("ext/", extension, "/", EncodeInt64(absl::ToUnixNanos(from)), "/", manager_id);
}

StatusOr<std::string> ExtensionHolderAt(const Store& store, const std::string& extension, absl::Time at) {
  std::string holder;
  if (extension.empty()) return holder;
  absl::Time best = absl::InfinitePast();
  Status corrupt = absl::OkStatus();
  // Every interval of the extension (a handful per year): the value is checked, not the key, since
  // an extension containing '/' could share the prefix ("20" and "20/1").
  RETURN_IF_ERROR(store.Scan(kRosterFamily, StrCat("ext/", extension, "/"), "",
                             [&](std::string_view key, std::string_view value) {
                               ExtensionHolding h;
                               if (!h.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
                                 corrupt = absl::DataLossError(StrCat("stored holding ", key, " is corrupt"));
                                 return false;
                               }
                               if (h.extension() != extension) return true;
                               const absl::Time from = events::FromProto(h.from());
                               if (from > at || (h.has_until() && events::FromProto(h.until()) <= at)) return true;
                               // Key order within one extension is (from, manager id): >= keeps the
                               // latest from, then the greatest manager id.
                               if (from >= best) {
                                 best = from;
                                 holder = h.manager_id();
                               }
                               return true;
                             }));
  RETURN_IF_ERROR(corrupt);
  return holder;
}

bool ClientsProjection::Uses(const EventEnvelope& event) const {
  const std::string& type = event.aggregate_type();
  // From sales.leads only the manager roster, from sales.offers only the catalogue: lead and offer
  // events, and payloads newer than this build, are stepped over (counted as not used), never
  // dead-lettered - they are the other service's business.
  if (type == kManagerAggregate) return event.payload_case() == EventEnvelope::kManager;
  if (type == kProductAggregate) return event.payload_case() == EventEnvelope::kProduct;
  return type == kClientAggregate || type == kCallAggregate;
}

StatusOr<projection::Outcome> ClientsProjection::ApplyEvent(const EventEnvelope& event, Batch& batch) {
  if (event.aggregate_type() == kClientAggregate) return ApplyClient(event, batch);
  if (event.aggregate_type() == kManagerAggregate) return ApplyManager(event, batch);
  if (event.aggregate_type() == kProductAggregate) return ApplyProduct(event, batch);
  return ApplyCall(event, batch);
}

// Lead acquisition's events: lenient as a reader of another service's topic (first offers' lead
// views are too). A version already applied is a duplicate; a gap (events this store never saw)
// is not refused: each event says what holds from its occurred_at on. The rows of a manager are
// written by its own events only, so they are the same whatever the partitions' interleaving.
// No idempotency record: the keys are lead acquisition's, not this service's.
StatusOr<projection::Outcome> ClientsProjection::ApplyManager(const EventEnvelope& event, Batch& batch) {
  const std::string& id = event.aggregate_id();
  ASSIGN_OR_RETURN(std::optional<RosterManager> state, LoadRosterManager(batch, id));
  if (state && event.aggregate_version() <= state->version()) return projection::Outcome::kDuplicate;
  if (!state) {
    state.emplace();
    state->set_manager_id(id);
  }
  RosterManager& m = *state;
  const absl::Time at = events::FromProto(event.occurred_at());
  const events::v1::ManagerEvent& e = event.manager();
  switch (e.event_case()) {
    case events::v1::ManagerEvent::kRegistered:
      RETURN_IF_ERROR(Release(batch, m, at));  // registered again (not expected): what it held ends here
      m.set_active(true);
      Hold(batch, m, e.registered().extension(), at);
      break;
    case events::v1::ManagerEvent::kExtensionChanged:
      if (e.extension_changed().extension() == m.extension()) break;
      RETURN_IF_ERROR(Release(batch, m, at));
      Hold(batch, m, e.extension_changed().extension(), at);
      break;
    case events::v1::ManagerEvent::kDeactivated:
      RETURN_IF_ERROR(Release(batch, m, at));
      m.set_active(false);
      break;
    default:  // manager event types newer than this build: only the version moves
      break;
  }
  m.set_version(event.aggregate_version());
  batch.Put(kRosterFamily, RosterManagerKey(id), m.SerializeAsString());
  return projection::Outcome::kApplied;
}

// First offers' catalogue: every upsert carries the whole product, so the last version wins and a
// gap loses nothing. No idempotency record (first offers' keys).
StatusOr<projection::Outcome> ClientsProjection::ApplyProduct(const EventEnvelope& event, Batch& batch) {
  const std::string& code = event.aggregate_id();
  ASSIGN_OR_RETURN(std::optional<CatalogueEntry> state, LoadCatalogueEntry(batch, code));
  if (state && event.aggregate_version() <= state->version()) return projection::Outcome::kDuplicate;
  if (!state) {
    state.emplace();
    state->set_product_code(code);
  }
  if (event.product().has_upserted()) *state->mutable_product() = event.product().upserted();
  state->set_version(event.aggregate_version());
  batch.Put(kCatalogueFamily, code, state->SerializeAsString());
  return projection::Outcome::kApplied;
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
