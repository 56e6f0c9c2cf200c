#include "services/lead_acquisition/lead_projection.h"

#include "absl/strings/numbers.h"
#include "common/base/strings.h"
#include "absl/strings/str_split.h"

namespace sales::lead_acquisition {
namespace {

StatusOr<std::optional<Lead>> ParseLead(const std::optional<std::string>& bytes, const std::string& id) {
  if (!bytes) return std::optional<Lead>();
  Lead lead;
  if (!lead.ParseFromString(*bytes)) return absl::DataLossError(StrCat("stored lead ", id, " is corrupt"));
  return std::optional<Lead>(std::move(lead));
}

}  // namespace

std::string IdempotencyRecord::Encode() const { return StrCat(aggregate_id, "\n", version, "\n", command_hash); }

std::optional<IdempotencyRecord> IdempotencyRecord::Decode(std::string_view bytes) {
  std::vector<std::string> parts = absl::StrSplit(absl::string_view(bytes.data(), bytes.size()), '\n');
  IdempotencyRecord r;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[1], &r.version)) return std::nullopt;
  r.aggregate_id = parts[0];
  r.command_hash = parts[2];
  return r;
}

StatusOr<projection::Outcome> LeadProjection::ApplyEvent(const EventEnvelope& event, Batch& batch) {
  const std::string& id = event.aggregate_id();
  ASSIGN_OR_RETURN(auto bytes, batch.Get(kLeadsFamily, id));
  ASSIGN_OR_RETURN(std::optional<Lead> state, ParseLead(bytes, id));
  const int64_t current = state ? state->version() : 0;
  if (event.aggregate_version() <= current) return projection::Outcome::kDuplicate;
  if (event.aggregate_version() != current + 1) {
    return absl::FailedPreconditionError(StrCat("version gap for lead ", id, ": stored version ", current,
                                                      ", event version ", event.aggregate_version()));
  }
  RETURN_IF_ERROR(Evolve(state, event));
  batch.Put(kLeadsFamily, id, state->SerializeAsString());
  if (!event.idempotency_key().empty()) {
    batch.Put(kIdempotencyFamily, event.idempotency_key(),
              IdempotencyRecord{id, event.aggregate_version(), event.command_hash()}.Encode());
  }
  return projection::Outcome::kApplied;
}

StatusOr<std::optional<Lead>> LoadLead(const Store& store, const std::string& lead_id) {
  ASSIGN_OR_RETURN(auto bytes, store.Get(kLeadsFamily, lead_id));
  return ParseLead(bytes, lead_id);
}

StatusOr<std::optional<IdempotencyRecord>> LoadIdempotency(const Store& store, const std::string& key) {
  ASSIGN_OR_RETURN(auto bytes, store.Get(kIdempotencyFamily, key));
  if (!bytes) return std::optional<IdempotencyRecord>();
  auto r = IdempotencyRecord::Decode(*bytes);
  if (!r) return absl::DataLossError(StrCat("stored idempotency record for ", key, " is corrupt"));
  return r;
}

}  // namespace sales::lead_acquisition
