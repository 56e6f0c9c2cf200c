// Marketing intake: reads JSON lead records from `marketing.leads.inbound` (schema:
// proto/sales/intake/v1/inbound_lead.proto, docs/INTAKE.md) and captures each as a lead through the
// same command path as CaptureLead.
//
// Exactly once: each record's command carries the idempotency key
// "intake:<topic fingerprint>:<partition>:<offset>",
// and the consumer's offsets are stored in the service's RocksDB only after the commands were
// acknowledged; a crash or a replay of the intake topic re-runs commands that answer as retries.
// The same lead sent twice (same source and external id) is recognised as a duplicate.
// An invalid record (not JSON, wrong types, missing fields, oversized, unknown schema version, a
// value the command refuses) goes to `<topic>.dlq` with the reason in headers, counted in metrics.
// If Kafka is unavailable the batch is retried from the stored offsets: nothing is skipped.
// Its position, counts and dead letters are reported by the Admin API (ConsumerStatus, kind
// "intake") beside the projections.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "common/grpc/admin_service.h"
#include "common/kafka/admin.h"
#include "common/kafka/publisher.h"
#include "common/observability/metrics.h"
#include "common/projection/stored_offset_consumer.h"
#include "common/store/store.h"
#include "services/lead_acquisition/commands/lead_commands.h"

namespace sales::lead_acquisition {

inline constexpr size_t kMaxInboundRecordBytes = 64 * 1024;

// One inbound record -> a CaptureLead command (without idempotency key). INVALID_ARGUMENT with the
// reason otherwise. Pure.
StatusOr<api::v1::CaptureLeadRequest> ParseInboundLead(std::string_view json);

struct IntakeOptions {
  kafka::ClientSettings client;
  std::string topic;  // with prefix
  absl::Duration kafka_timeout = absl::Seconds(10);
};

class IntakeConsumer final : public grpc_util::ConsumerStatusSource {
 public:
  // Pointers must outlive this object.
  IntakeConsumer(IntakeOptions options, LeadCommands* commands, Store* store, kafka::EventPublisher* dead_letters,
                 kafka::Admin* admin, MetricsRegistry* metrics);
  ~IntakeConsumer() override;

  Status Start();
  void Stop() { consumer_.Stop(); }

  // Name "lead-acquisition/intake" (as in its dead letters' dlq.consumer header): per partition
  // the stored position and the end of the log; events_applied = records created or linked,
  // duplicates_skipped = records already known, dead_lettered = records refused (all persisted).
  StatusOr<api::v1::ProjectionStatus> ConsumerStatus() const override;

 private:
  Status ProcessBatch(std::vector<projection::Record>& records);

  IntakeOptions options_;
  LeadCommands* commands_;
  Store* store_;
  kafka::EventPublisher* dead_letters_;
  MetricsRegistry* metrics_;
  std::string topic_tag_;  // short fingerprint of the topic name, part of each record's key
  projection::StoredOffsetConsumer consumer_;
  mutable std::mutex mu_;
  std::vector<int32_t> partitions_;  // guarded by mu_: assigned at start
};

}  // namespace sales::lead_acquisition
