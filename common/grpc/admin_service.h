// The operations API every service serves beside its own (proto/sales/api/v1/admin.proto):
//   status         every consumer of the service - projections, intakes, feeds - with its
//                  position, lag as a count and as a time, counts, dead letters; the store's size
//   dead letters   list, show, re-drive (exactly once into the projection that refused them),
//                  discard with a reason
//   history        one aggregate's events in order, read from Kafka at the offsets the runner
//                  indexed (Store::kEventIndexFamily)
//   export         a topic's events as JSON lines, filtered
//   snapshots      a RocksDB checkpoint of the store with its offsets (service --restore-from)
// Given a metrics registry, it also exports each consumer's persisted dead-letter count as
// `sales_dlq_records{consumer=...,kind=...}` and each projection's lag in seconds.
//
// Dead-letter decisions (re-driven, discarded) are recorded in the dead-letter topic itself, as
// records with a `dlq.decision` header naming the dead letter they decide: the topic stays the
// whole story, and survives a rebuild of the store. A re-drive is exactly once because the store
// keeps a marker per re-driven dead letter, committed in the batch that applies it.
//
// Thread-safety: every method may be called from any thread (gRPC's pool).
#pragma once

#include <string>
#include <vector>

#include "common/base/status.h"
#include "common/grpc/request_context.h"
#include "common/kafka/admin.h"
#include "common/kafka/client_config.h"
#include "common/kafka/log_reader.h"
#include "common/kafka/publisher.h"
#include "common/observability/metrics.h"
#include "common/projection/runner.h"
#include "sales/api/v1/admin.grpc.pb.h"

namespace sales::grpc_util {

// A consumer that is not a projection runner (e.g. an intake that turns inbound records into
// commands), reported beside the projections. Thread-safe.
class ConsumerStatusSource {
 public:
  virtual ~ConsumerStatusSource() = default;
  virtual StatusOr<api::v1::ProjectionStatus> ConsumerStatus() const = 0;
};

// The rebuild of the service's store without downtime (common/service/rebuild.h implements it).
// Thread-safe.
class RebuildControl {
 public:
  virtual ~RebuildControl() = default;
  virtual StatusOr<api::v1::RebuildStatus> Start() = 0;
  virtual StatusOr<api::v1::RebuildStatus> GetStatus() = 0;
  virtual StatusOr<api::v1::RebuildStatus> Switch(absl::Duration timeout) = 0;
  virtual StatusOr<api::v1::RebuildStatus> Abort() = 0;
  virtual StatusOr<api::v1::RebuildStatus> DiscardPrevious() = 0;
};

class AsOfControl {
 public:
  virtual ~AsOfControl() = default;
  virtual StatusOr<api::v1::AsOfStore> Start(const std::string& name, absl::Time as_of) = 0;
  virtual StatusOr<api::v1::ListAsOfStoresResponse> List() = 0;
  virtual StatusOr<api::v1::AsOfStore> Discard(const std::string& name) = 0;
};

struct AdminOptions {
  std::string service;                       // e.g. "lead-acquisition"
  std::string topic_prefix;                  // --topic-prefix: requests may name topics without it
  kafka::ClientSettings client;              // for reading topics (history, export, dead letters)
  kafka::Admin* admin = nullptr;             // partition counts and watermarks
  kafka::EventPublisher* publisher = nullptr;  // dead-letter decisions (the service's own .dlq topics)
  Store* store = nullptr;                    // the service's store (size, snapshots)
  std::string snapshot_dir;                  // where CreateSnapshot makes its folders
  MetricsRegistry* metrics = nullptr;
  RebuildControl* rebuild = nullptr;         // null: the rebuild methods answer UNIMPLEMENTED
  AsOfControl* as_of = nullptr;              // null: the as-of methods answer UNIMPLEMENTED
  absl::Duration kafka_timeout = absl::Seconds(10);
};

class AdminService final : public api::v1::Admin::Service {
 public:
  struct Entry {
    projection::ProjectionRunner* runner;
    projection::Applier* applier;  // its store is the runner's
  };
  // Pointers must outlive the service. Without a store, client or admin (unit tests), the methods
  // that need them answer FAILED_PRECONDITION.
  explicit AdminService(AdminOptions options, std::vector<Entry> projections = {},
                        std::vector<const ConsumerStatusSource*> others = {});
  ~AdminService() override;

  ::grpc::Status GetProjectionStatus(::grpc::ServerContext* context, const api::v1::GetProjectionStatusRequest* request,
                                     api::v1::GetProjectionStatusResponse* response) override;
  ::grpc::Status ListDeadLetters(::grpc::ServerContext* context, const api::v1::ListDeadLettersRequest* request,
                                 api::v1::ListDeadLettersResponse* response) override;
  ::grpc::Status GetDeadLetter(::grpc::ServerContext* context, const api::v1::GetDeadLetterRequest* request,
                               api::v1::DeadLetter* response) override;
  ::grpc::Status RedriveDeadLetters(::grpc::ServerContext* context, const api::v1::RedriveDeadLettersRequest* request,
                                    api::v1::RedriveDeadLettersResponse* response) override;
  ::grpc::Status DiscardDeadLetter(::grpc::ServerContext* context, const api::v1::DiscardDeadLetterRequest* request,
                                   api::v1::DeadLetter* response) override;
  ::grpc::Status GetHistory(::grpc::ServerContext* context, const api::v1::GetHistoryRequest* request,
                            api::v1::GetHistoryResponse* response) override;
  ::grpc::Status ExportEvents(::grpc::ServerContext* context, const api::v1::ExportEventsRequest* request,
                              ::grpc::ServerWriter<api::v1::ExportEventsResponse>* writer) override;
  ::grpc::Status CreateSnapshot(::grpc::ServerContext* context, const api::v1::CreateSnapshotRequest* request,
                                api::v1::Snapshot* response) override;

  ::grpc::Status StartRebuild(::grpc::ServerContext* context, const api::v1::StartRebuildRequest* request,
                              api::v1::RebuildStatus* response) override;
  ::grpc::Status GetRebuildStatus(::grpc::ServerContext* context, const api::v1::GetRebuildStatusRequest* request,
                                  api::v1::RebuildStatus* response) override;
  ::grpc::Status SwitchRebuild(::grpc::ServerContext* context, const api::v1::SwitchRebuildRequest* request,
                               api::v1::RebuildStatus* response) override;
  ::grpc::Status AbortRebuild(::grpc::ServerContext* context, const api::v1::AbortRebuildRequest* request,
                              api::v1::RebuildStatus* response) override;
  ::grpc::Status DiscardPreviousStore(::grpc::ServerContext* context,
                                      const api::v1::DiscardPreviousStoreRequest* request,
                                      api::v1::RebuildStatus* response) override;

  ::grpc::Status StartAsOfStore(::grpc::ServerContext* context, const api::v1::StartAsOfStoreRequest* request,
                                api::v1::AsOfStore* response) override;
  ::grpc::Status ListAsOfStores(::grpc::ServerContext* context, const api::v1::ListAsOfStoresRequest* request,
                                api::v1::ListAsOfStoresResponse* response) override;
  ::grpc::Status DiscardAsOfStore(::grpc::ServerContext* context, const api::v1::DiscardAsOfStoreRequest* request,
                                  api::v1::AsOfStore* response) override;

  // Every consumer, projections first. With `lag_times`, the age of each lagging partition's
  // oldest unapplied event is read from Kafka (one read per lagging partition).
  StatusOr<api::v1::GetProjectionStatusResponse> Consumers(bool lag_times = false) const;

 private:
  // The caller's context once it may call `method` (request_context.h, Authorize): ops only.
  StatusOr<RequestContext> Admit(::grpc::ServerContext* context, const char* method) const;
  struct Listing;
  Status Ready(bool needs_publisher = false) const;
  std::vector<std::string> DeadLetterTopics() const;
  std::vector<std::string> ProjectedTopics() const;
  StatusOr<Listing> ReadDeadLetters(const std::vector<std::string>& topics, bool keep_payloads) const;
  StatusOr<api::v1::DeadLetter> FindDeadLetter(const api::v1::DeadLetterRef& ref, const std::string& field,
                                               Listing* listing, std::string* value) const;
  Status RecordDecision(const api::v1::DeadLetterRef& ref, const std::string& decision, const std::string& reason,
                        const std::string& actor) const;
  StatusOr<api::v1::RedriveResult> RedriveOne(const api::v1::DeadLetter& letter, const std::string& value,
                                              const std::vector<std::pair<std::string, std::string>>& headers,
                                              const std::string& note, const std::string& actor) const;
  StatusOr<std::vector<api::v1::AggregateEvent>> History(const std::string& aggregate_id, const std::string& topic,
                                                        int limit, bool* truncated) const;
  const Entry* EntryNamed(const std::string& name) const;
  // `topic` as named (if one of `known`), or with the service's topic prefix (if that is).
  std::string Resolve(const std::string& topic, const std::vector<std::string>& known) const;
  api::v1::DeadLetterRef Resolve(const api::v1::DeadLetterRef& ref) const;

  AdminOptions options_;
  std::vector<Entry> projections_;
  std::vector<const ConsumerStatusSource*> others_;
  kafka::LogReader reader_;
  int collector_ = -1;
};

}  // namespace sales::grpc_util
