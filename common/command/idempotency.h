// Idempotency records: what the command with a given key produced, so that its retries get the
// first answer and append nothing. A projection records one when it applies an event that carries
// an idempotency key (RecordIdempotency), so a rebuild restores them with the rest of the state;
// the decider looks them up before deciding (CheckRetry).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/base/status.h"
#include "common/events/envelope.h"
#include "common/store/store.h"

namespace sales::command {

struct IdempotencyRecord {
  std::string aggregate_id;
  int64_t version = 0;
  std::string command_hash;
  std::string event_type;

  std::string Encode() const;
  // `default_event_type` stands in for records written before the event type was kept.
  static std::optional<IdempotencyRecord> Decode(std::string_view bytes, std::string_view default_event_type = "");
};

// Writes the record of `event` into `family` (nothing when the event carries no key).
void RecordIdempotency(Batch& batch, std::string_view family, const events::EventEnvelope& event);

// The record of `key`, if any. DATA_LOSS when the stored record is corrupt.
StatusOr<std::optional<IdempotencyRecord>> LoadIdempotency(const Batch& batch, std::string_view family,
                                                           const std::string& key,
                                                           std::string_view default_event_type = "");

// The earlier record of a retry (same key, same request), nullopt for a new key, INVALID_ARGUMENT
// naming `idempotency_key` when the key was used for a different request.
StatusOr<std::optional<IdempotencyRecord>> CheckRetry(const Batch& batch, std::string_view family,
                                                      const std::string& key, const std::string& hash,
                                                      std::string_view default_event_type = "");

}  // namespace sales::command
