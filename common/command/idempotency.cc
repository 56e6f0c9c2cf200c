#include "common/command/idempotency.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace sales::command {

std::string IdempotencyRecord::Encode() const {
  return StrCat(aggregate_id, "\n", version, "\n", command_hash, "\n", event_type);
}

std::optional<IdempotencyRecord> IdempotencyRecord::Decode(std::string_view bytes,
                                                           std::string_view default_event_type) {
  std::vector<std::string> parts = absl::StrSplit(absl::string_view(bytes.data(), bytes.size()), '\n');
  IdempotencyRecord r;
  // Records of the first release had three fields (no event type).
  if ((parts.size() != 3 && parts.size() != 4) || !absl::SimpleAtoi(parts[1], &r.version)) return std::nullopt;
  r.aggregate_id = parts[0];
  r.command_hash = parts[2];
  r.event_type = parts.size() == 4 ? parts[3] : std::string(default_event_type);
  return r;
}

void RecordIdempotency(Batch& batch, std::string_view family, const events::EventEnvelope& event) {
  if (event.idempotency_key().empty()) return;
  batch.Put(family, event.idempotency_key(),
            IdempotencyRecord{event.aggregate_id(), event.aggregate_version(), event.command_hash(),
                              event.event_type()}
                .Encode());
}

StatusOr<std::optional<IdempotencyRecord>> LoadIdempotency(const Batch& batch, std::string_view family,
                                                           const std::string& key,
                                                           std::string_view default_event_type) {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, batch.Get(family, key));
  if (!bytes) return std::optional<IdempotencyRecord>();
  auto record = IdempotencyRecord::Decode(*bytes, default_event_type);
  if (!record) return absl::DataLossError(StrCat("stored idempotency record for ", key, " is corrupt"));
  return record;
}

StatusOr<std::optional<IdempotencyRecord>> CheckRetry(const Batch& batch, std::string_view family,
                                                      const std::string& key, const std::string& hash,
                                                      std::string_view default_event_type) {
  ASSIGN_OR_RETURN(std::optional<IdempotencyRecord> earlier, LoadIdempotency(batch, family, key, default_event_type));
  if (earlier && earlier->command_hash != hash) {
    return InvalidField("idempotency_key", "already used for a different request; use a new key per command");
  }
  return earlier;
}

}  // namespace sales::command
