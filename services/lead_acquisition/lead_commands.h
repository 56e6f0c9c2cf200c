// The write side of lead acquisition: validate -> serialise per aggregate -> load -> check the
// idempotency key -> decide (lead.h) -> append to Kafka and wait for the ack -> apply to the
// projection -> answer. Nothing is written to the store unless Kafka acknowledged the event, so a
// failed append leaves nothing half-done; the caller retries with the same idempotency key.
//
// Thread-safe: commands on different leads run in parallel; commands on one lead are serialised.
#pragma once

#include <array>
#include <mutex>
#include <string>

#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/events/envelope.h"
#include "common/kafka/publisher.h"
#include "common/projection/projection.h"
#include "services/lead_acquisition/lead.h"

namespace sales::lead_acquisition {

struct CommandOptions {
  std::string topic;                                  // the leads topic (with prefix)
  std::string producer = "lead-acquisition";          // recorded on every envelope
  absl::Duration publish_timeout = absl::Seconds(5);  // bound on waiting for Kafka's ack
};

// Who is calling: filled by the gRPC layer from the call's metadata.
struct Caller {
  std::string correlation_id;
  std::string actor;
};

class LeadCommands {
 public:
  // Pointers must outlive this object.
  LeadCommands(CommandOptions options, kafka::EventPublisher* publisher, projection::Applier* applier,
               const Clock* clock);

  StatusOr<api::v1::CaptureLeadResponse> CaptureLead(const api::v1::CaptureLeadRequest& request,
                                                     const Caller& caller);
  StatusOr<Lead> GetLead(const api::v1::GetLeadRequest& request) const;

 private:
  std::mutex& LockFor(const std::string& aggregate_id);
  // Appends the events and applies them; returns the version after the last one.
  StatusOr<int64_t> AppendAndApply(std::vector<EventEnvelope> events);

  CommandOptions options_;
  kafka::EventPublisher* publisher_;
  projection::Applier* applier_;
  const Clock* clock_;
  std::array<std::mutex, 64> stripes_;
};

// The fingerprint stored with an idempotency key: SHA-256 of the request without its key.
std::string CommandHash(const google::protobuf::Message& request_without_key);

}  // namespace sales::lead_acquisition
