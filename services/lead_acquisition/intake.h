// Marketing intake: reads JSON lead records from `marketing.leads.inbound` (schema:
// proto/sales/intake/v1/inbound_lead.proto, docs/INTAKE.md) and captures each as a lead through the
// same command path as CaptureLead.
//
// Exactly once: each record's command carries the idempotency key "intake:<partition>:<offset>",
// and the consumer's offsets are stored in the service's RocksDB only after the commands were
// acknowledged; a crash or a replay of the intake topic re-runs commands that answer as retries.
// The same lead sent twice (same source and external id) is recognised as a duplicate.
// An invalid record (not JSON, wrong types, missing fields, oversized, unknown schema version, a
// value the command refuses) goes to `<topic>.dlq` with the reason in headers, counted in metrics.
// If Kafka is unavailable the batch is retried from the stored offsets: nothing is skipped.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "common/kafka/admin.h"
#include "common/kafka/publisher.h"
#include "common/observability/metrics.h"
#include "common/store/store.h"
#include "services/lead_acquisition/lead_commands.h"

namespace RdKafka {
class KafkaConsumer;
class Message;
}

namespace sales::lead_acquisition {

inline constexpr size_t kMaxInboundRecordBytes = 64 * 1024;

// One inbound record -> a CaptureLead command (without idempotency key). INVALID_ARGUMENT with the
// reason otherwise. Pure.
StatusOr<api::v1::CaptureLeadRequest> ParseInboundLead(std::string_view json);

struct IntakeOptions {
  kafka::ClientSettings client;
  std::string topic;  // with prefix
  int max_batch = 1000;
  absl::Duration poll_timeout = absl::Milliseconds(50);
  absl::Duration retry_backoff = absl::Seconds(1);
  absl::Duration kafka_timeout = absl::Seconds(10);
};

class IntakeConsumer {
 public:
  // Pointers must outlive this object.
  IntakeConsumer(IntakeOptions options, LeadCommands* commands, Store* store, kafka::EventPublisher* dead_letters,
                 kafka::Admin* admin, MetricsRegistry* metrics);
  ~IntakeConsumer();

  Status Start();
  void Stop();

 private:
  void Run();
  Status Assign();
  Status ProcessBatch(std::vector<std::unique_ptr<RdKafka::Message>>& messages);

  IntakeOptions options_;
  LeadCommands* commands_;
  Store* store_;
  kafka::EventPublisher* dead_letters_;
  kafka::Admin* admin_;
  MetricsRegistry* metrics_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;
  int partitions_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace sales::lead_acquisition
