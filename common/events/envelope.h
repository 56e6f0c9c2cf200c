// Building, encoding and decoding the event envelope (proto/sales/events/v1/envelope.proto).
// Every event on every topic goes through Encode(); every consumer goes through Decode(), which
// refuses anything that is not a well-formed envelope with a reason fit for a dead-letter header.
#pragma once

#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/base/status.h"
#include "google/protobuf/timestamp.pb.h"
#include "sales/events/v1/envelope.pb.h"

namespace sales::events {

using v1::EventEnvelope;

// Who and what caused an event; copied onto every envelope a command produces.
struct EventContext {
  std::string correlation_id;
  std::string causation_id;
  std::string actor;
  std::string idempotency_key;
  std::string producer;  // service name
};

// A new envelope with a fresh event id, occurred_at = recorded_at = clock.Now(). The caller sets
// the payload.
EventEnvelope NewEnvelope(std::string_view aggregate_type, std::string_view aggregate_id, int64_t version,
                          std::string_view event_type, uint32_t schema_version, const EventContext& context,
                          const Clock& clock);

std::string Encode(const EventEnvelope& envelope);

// INVALID_ARGUMENT with the reason when `bytes` is not a valid envelope: not protobuf, or a
// required field (event id, aggregate id and version, event type, payload) missing or malformed.
StatusOr<EventEnvelope> Decode(std::string_view bytes);

// As Decode(), but an envelope without a payload this build knows is accepted (payload_case()
// PAYLOAD_NOT_SET): a consumer of another service's topic decides whether it needs that event
// (projection::EventProjection skips or dead-letters it).
StatusOr<EventEnvelope> DecodeAnyPayload(std::string_view bytes);

// The structural checks Decode() makes, for envelopes built in memory.
Status Validate(const EventEnvelope& envelope);

google::protobuf::Timestamp ToProto(absl::Time t);
absl::Time FromProto(const google::protobuf::Timestamp& t);

}  // namespace sales::events
