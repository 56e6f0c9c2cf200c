#include "services/lead_acquisition/lead_commands.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "common/base/strings.h"
#include "common/base/hash.h"
#include "common/base/ids.h"
#include "common/base/log.h"
#include "services/lead_acquisition/lead_projection.h"

namespace sales::lead_acquisition {

std::string CommandHash(const google::protobuf::Message& request) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    request.SerializeToCodedStream(&coded);
  }
  return Sha256Hex(bytes);
}

LeadCommands::LeadCommands(CommandOptions options, kafka::EventPublisher* publisher, projection::Applier* applier,
                           const Clock* clock)
    : options_(std::move(options)), publisher_(publisher), applier_(applier), clock_(clock) {}

std::mutex& LeadCommands::LockFor(const std::string& aggregate_id) {
  return stripes_[std::hash<std::string>()(aggregate_id) % stripes_.size()];
}

StatusOr<api::v1::CaptureLeadResponse> LeadCommands::CaptureLead(const api::v1::CaptureLeadRequest& request,
                                                                  const Caller& caller) {
  RETURN_IF_ERROR(ValidateCapture(request));
  api::v1::CaptureLeadRequest without_key = request;
  without_key.clear_idempotency_key();
  const std::string hash = CommandHash(without_key);
  const std::string lead_id = LeadIdFor(request.idempotency_key());

  std::lock_guard lock(LockFor(lead_id));
  const Store& store = *applier_->store();
  ASSIGN_OR_RETURN(auto earlier, LoadIdempotency(store, request.idempotency_key()));
  if (earlier) {
    if (earlier->command_hash != hash) {
      return InvalidField("idempotency_key", "already used for a different request; use a new key per command");
    }
    api::v1::CaptureLeadResponse response;
    response.set_lead_id(earlier->aggregate_id);
    response.set_version(earlier->version);
    response.set_replayed(true);
    return response;
  }
  ASSIGN_OR_RETURN(std::optional<Lead> state, LoadLead(store, lead_id));
  ASSIGN_OR_RETURN(LeadEvent payload, DecideCapture(state, request));

  events::EventContext context{caller.correlation_id, "", caller.actor, request.idempotency_key(), options_.producer};
  EventEnvelope event = events::NewEnvelope(kAggregateType, lead_id, (state ? state->version() : 0) + 1,
                                            kLeadCaptured, kSchemaVersion, context, *clock_);
  event.set_causation_id(StrCat("CaptureLead:", request.idempotency_key()));
  event.set_command_hash(hash);
  *event.mutable_lead() = std::move(payload);
  ASSIGN_OR_RETURN(int64_t version, AppendAndApply({std::move(event)}));

  api::v1::CaptureLeadResponse response;
  response.set_lead_id(lead_id);
  response.set_version(version);
  return response;
}

StatusOr<int64_t> LeadCommands::AppendAndApply(std::vector<EventEnvelope> events) {
  std::vector<kafka::OutgoingMessage> messages;
  for (const auto& e : events) {
    messages.push_back({options_.topic, e.aggregate_id(), events::Encode(e),
                        {{"event_type", e.event_type()}, {"content-type", "application/x-protobuf"}}});
  }
  std::vector<projection::Record> records;
  for (auto& m : messages) records.push_back({m.topic, -1, -1, m.key, m.value, m.headers});
  ASSIGN_OR_RETURN(std::vector<kafka::Position> positions,
                   kafka::AllDelivered(publisher_->Publish(std::move(messages), options_.publish_timeout)));
  for (size_t i = 0; i < records.size(); ++i) {
    records[i].partition = positions[i].partition;
    records[i].offset = positions[i].offset;
  }
  // The events are durable in Kafka now. If applying them here fails, the projection runner
  // applies them from the log shortly; the answer is still right.
  if (auto applied = applier_->ApplyAppended(records); !applied.ok()) {
    log::Error("applying appended events failed; the projection runner will apply them",
               {{"error", applied.status().ToString()}});
  }
  return events.back().aggregate_version();
}

StatusOr<Lead> LeadCommands::GetLead(const api::v1::GetLeadRequest& request) const {
  if (!IsUuid(request.lead_id())) return InvalidField("lead_id", "must be a lead id (UUID)");
  ASSIGN_OR_RETURN(std::optional<Lead> lead, LoadLead(*applier_->store(), request.lead_id()));
  if (!lead) return absl::NotFoundError(StrCat("no lead with id ", request.lead_id()));
  return *lead;
}

}  // namespace sales::lead_acquisition
