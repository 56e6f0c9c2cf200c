#include "services/lead_acquisition/projection/lead_projection.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/base/strings.h"
#include "common/events/envelope.h"
#include "common/store/store.h"

namespace sales::lead_acquisition {
namespace {

// Adjusts a manager's lead counts, whether or not the manager's registration was applied yet.
Status CountForManager(Batch& batch, const std::string& manager_id, int open_delta, int assigned_delta) {
  if (manager_id.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::optional<std::string> load, batch.Get(kManagerLoadFamily, manager_id));
  const auto [open, assigned] = DecodeLoad(load);
  batch.Put(kManagerLoadFamily, manager_id, EncodeLoad(std::max(0, open + open_delta), assigned + assigned_delta));
  return absl::OkStatus();
}

Status ClaimIfFree(Batch& batch, const std::string& key, const std::string& lead_id) {
  ASSIGN_OR_RETURN(auto existing, LookupIndex(batch, key));
  if (!existing) batch.Put(kIndexFamily, key, lead_id);
  return absl::OkStatus();
}

// Manager `id` holds `extension` from `at`, unless a later claim was applied already.
Status ClaimExtension(Batch& batch, const std::string& extension, absl::Time at, const std::string& id) {
  if (extension.empty()) return absl::OkStatus();
  const std::string claim = EncodeInt64(absl::ToUnixNanos(at)) + id;
  ASSIGN_OR_RETURN(std::optional<std::string> held, batch.Get(kExtensionFamily, extension));
  if (!held || *held < claim) batch.Put(kExtensionFamily, extension, claim);
  return absl::OkStatus();
}

// Manager `id` gave `extension` up at `at`: its own claim from before then goes.
Status ReleaseExtension(Batch& batch, const std::string& extension, absl::Time at, const std::string& id) {
  if (extension.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::optional<std::string> held, batch.Get(kExtensionFamily, extension));
  if (held && held->size() > 8 && held->substr(8) == id && held->substr(0, 8) <= EncodeInt64(absl::ToUnixNanos(at))) {
    batch.Delete(kExtensionFamily, extension);
  }
  return absl::OkStatus();
}

}  // namespace

std::pair<int32_t, int32_t> DecodeLoad(const std::optional<std::string>& bytes) {
  int32_t open = 0, assigned = 0;
  if (bytes) {
    std::pair<std::string, std::string> parts = absl::StrSplit(*bytes, absl::MaxSplits(' ', 1));
    if (!absl::SimpleAtoi(parts.first, &open) || !absl::SimpleAtoi(parts.second, &assigned)) open = assigned = 0;
  }
  return {open, assigned};
}

std::string EncodeLoad(int32_t open, int32_t assigned) { return StrCat(open, " ", assigned); }

std::string SourceKey(events::v1::LeadSource source, const std::string& external_id) {
  return StrCat("src/", static_cast<int>(source), "/", external_id);
}
std::string EmailKey(const std::string& email) { return StrCat("email/", email); }
std::string PhoneKey(const std::string& phone) { return StrCat("phone/", phone); }
std::string OrderKey(absl::Time captured_at, const std::string& lead_id) {
  return EncodeInt64(absl::ToUnixNanos(captured_at)) + lead_id;
}
std::string EventKey(const std::string& lead_id, int64_t version) { return lead_id + "/" + EncodeInt64(version); }

StatusOr<projection::Outcome> LeadProjection::ApplyEvent(const EventEnvelope& event, Batch& batch) {
  if (event.aggregate_type() == kLeadAggregate) return ApplyLead(event, batch);
  if (event.aggregate_type() == kManagerAggregate) return ApplyManager(event, batch);
  return InvalidField("aggregate_type", StrCat("\"", event.aggregate_type(), "\" is not lead or manager"));
}

StatusOr<projection::Outcome> LeadProjection::ApplyLead(const EventEnvelope& event, Batch& batch) {
  const std::string& id = event.aggregate_id();
  ASSIGN_OR_RETURN(std::optional<Lead> state, LoadLead(batch, id));
  const int64_t current = state ? state->version() : 0;
  if (event.aggregate_version() <= current) {
    // Seen before - unless another event already holds this version: two decisions made on the
    // same state, of which only one can stand. Refused loudly rather than dropped as a duplicate.
    ASSIGN_OR_RETURN(std::optional<std::string> stored, batch.Get(kEventsFamily, EventKey(id, event.aggregate_version())));
    EventEnvelope earlier;
    if (stored && earlier.ParseFromString(*stored) && earlier.event_id() != event.event_id()) {
      return absl::FailedPreconditionError(StrCat("conflicting event for lead ", id, " version ",
                                                  event.aggregate_version(), ": already holds event ",
                                                  earlier.event_id()));
    }
    return projection::Outcome::kDuplicate;
  }
  if (event.aggregate_version() != current + 1) {
    return absl::FailedPreconditionError(StrCat("version gap for lead ", id, ": stored version ", current,
                                                ", event version ", event.aggregate_version()));
  }
  const std::optional<Lead> before = state;
  RETURN_IF_ERROR(EvolveLead(state, event));
  const Lead& after = *state;

  // Manager workload follows ownership of open leads.
  const std::string old_owner = before ? before->owner_manager_id() : "";
  const bool was_open = before && IsOpen(*before);
  if (old_owner != after.owner_manager_id()) {
    if (was_open) RETURN_IF_ERROR(CountForManager(batch, old_owner, -1, 0));
    RETURN_IF_ERROR(CountForManager(batch, after.owner_manager_id(), IsOpen(after) ? 1 : 0, 1));
  } else if (was_open && !IsOpen(after)) {
    RETURN_IF_ERROR(CountForManager(batch, old_owner, -1, 0));
  }

  // De-duplication index and list order.
  const LeadEvent& payload = event.lead();
  if (payload.has_captured()) {
    const auto& c = payload.captured();
    if (!c.external_id().empty()) RETURN_IF_ERROR(ClaimIfFree(batch, SourceKey(c.source(), c.external_id()), id));
    if (!c.contact().email().empty()) RETURN_IF_ERROR(ClaimIfFree(batch, EmailKey(c.contact().email()), id));
    if (const std::string phone = NormalizePhone(c.contact().phone()); !phone.empty()) {
      RETURN_IF_ERROR(ClaimIfFree(batch, PhoneKey(phone), id));
    }
    batch.Put(kOrderFamily, OrderKey(events::FromProto(event.occurred_at()), id), "");
  } else if (payload.has_source_linked()) {
    const auto& l = payload.source_linked();
    if (!l.external_id().empty()) RETURN_IF_ERROR(ClaimIfFree(batch, SourceKey(l.source(), l.external_id()), id));
    if (!l.contact().email().empty()) RETURN_IF_ERROR(ClaimIfFree(batch, EmailKey(l.contact().email()), id));
    if (const std::string phone = NormalizePhone(l.contact().phone()); !phone.empty()) {
      RETURN_IF_ERROR(ClaimIfFree(batch, PhoneKey(phone), id));
    }
  }

  batch.Put(kLeadsFamily, id, after.SerializeAsString());
  batch.Put(kEventsFamily, EventKey(id, event.aggregate_version()), event.SerializeAsString());
  command::RecordIdempotency(batch, kIdempotencyFamily, event);
  return projection::Outcome::kApplied;
}

StatusOr<projection::Outcome> LeadProjection::ApplyManager(const EventEnvelope& event, Batch& batch) {
  const std::string& id = event.aggregate_id();
  ASSIGN_OR_RETURN(std::optional<Manager> state, LoadManager(batch, id));
  const int64_t current = state ? state->version() : 0;
  if (event.aggregate_version() <= current) return projection::Outcome::kDuplicate;
  if (event.aggregate_version() != current + 1) {
    return absl::FailedPreconditionError(StrCat("version gap for manager ", id, ": stored version ", current,
                                                ", event version ", event.aggregate_version()));
  }
  const std::string old_extension = state && state->active() ? state->extension() : "";
  RETURN_IF_ERROR(EvolveManager(state, event));
  const std::string new_extension = state->active() ? state->extension() : "";
  if (old_extension != new_extension) {
    const absl::Time at = events::FromProto(event.occurred_at());
    RETURN_IF_ERROR(ReleaseExtension(batch, old_extension, at, id));
    RETURN_IF_ERROR(ClaimExtension(batch, new_extension, at, id));
  }
  state->clear_open_leads();  // kept in manager_load
  state->clear_assigned_total();
  batch.Put(kManagersFamily, id, state->SerializeAsString());
  command::RecordIdempotency(batch, kIdempotencyFamily, event);
  return projection::Outcome::kApplied;
}

}  // namespace sales::lead_acquisition
