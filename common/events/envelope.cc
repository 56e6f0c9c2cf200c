#include "common/events/envelope.h"

#include "common/base/strings.h"
#include "common/base/ids.h"

namespace sales::events {

EventEnvelope NewEnvelope(std::string_view aggregate_type, std::string_view aggregate_id, int64_t version,
                          std::string_view event_type, uint32_t schema_version, const EventContext& context,
                          const Clock& clock) {
  EventEnvelope e;
  e.set_event_id(NewUuid());
  e.set_aggregate_type(std::string(aggregate_type));
  e.set_aggregate_id(std::string(aggregate_id));
  e.set_aggregate_version(version);
  e.set_event_type(std::string(event_type));
  e.set_schema_version(schema_version);
  const absl::Time now = clock.Now();
  *e.mutable_occurred_at() = ToProto(now);
  *e.mutable_recorded_at() = ToProto(now);
  e.set_correlation_id(context.correlation_id);
  e.set_causation_id(context.causation_id);
  e.set_actor(context.actor);
  e.set_idempotency_key(context.idempotency_key);
  e.set_producer(context.producer);
  return e;
}

std::string Encode(const EventEnvelope& envelope) {
  std::string out;
  envelope.SerializeToString(&out);
  return out;
}

namespace {

Status ValidateHeader(const EventEnvelope& e) {
  if (!IsUuid(e.event_id())) return InvalidField("event_id", StrCat("not a UUID: \"", e.event_id(), "\""));
  if (e.aggregate_type().empty()) return InvalidField("aggregate_type", "missing");
  if (e.aggregate_id().empty()) return InvalidField("aggregate_id", "missing");
  if (e.aggregate_version() < 1) {
    return InvalidField("aggregate_version", StrCat("must be >= 1, got ", e.aggregate_version()));
  }
  if (e.event_type().empty()) return InvalidField("event_type", "missing");
  return absl::OkStatus();
}

StatusOr<EventEnvelope> Parse(std::string_view bytes) {
  EventEnvelope e;
  if (bytes.empty()) return InvalidField("envelope", "empty message");
  if (!e.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return InvalidField("envelope", "not a valid sales.events.v1.EventEnvelope protobuf");
  }
  RETURN_IF_ERROR(ValidateHeader(e));
  return e;
}

}  // namespace

Status Validate(const EventEnvelope& e) {
  RETURN_IF_ERROR(ValidateHeader(e));
  if (e.payload_case() == EventEnvelope::PAYLOAD_NOT_SET) {
    return InvalidField("payload", "missing or of a type this service does not know (newer schema?)");
  }
  return absl::OkStatus();
}

StatusOr<EventEnvelope> Decode(std::string_view bytes) {
  ASSIGN_OR_RETURN(EventEnvelope e, Parse(bytes));
  RETURN_IF_ERROR(Validate(e));
  return e;
}

StatusOr<EventEnvelope> DecodeAnyPayload(std::string_view bytes) { return Parse(bytes); }

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t nanos = absl::ToUnixNanos(t);
  ts.set_seconds(nanos / 1000000000);
  ts.set_nanos(static_cast<int32_t>(nanos % 1000000000));
  if (ts.nanos() < 0) {
    ts.set_seconds(ts.seconds() - 1);
    ts.set_nanos(ts.nanos() + 1000000000);
  }
  return ts;
}

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

}  // namespace sales::events
