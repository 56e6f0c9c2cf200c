// Rebuilding a service's store without downtime (Admin.StartRebuild and friends; the design is in
// docs/DESIGN.md, "Rebuild without downtime"):
//
//   Start    a new store in <data-dir>.gen-<n> (a REBUILDING file marks it unfinished), with its
//            own applier and projection runner from the beginning of the topics, while the
//            serving store goes on answering queries and commands.
//   Status   records read into it against the end of the log, the rate measured since this
//            process (re)started it, the ETA.
//   Switch   once it has caught up: the serving runner stops; under the projection's applier lock
//            (commands wait, queries go on) the new runner applies up to the end of the log as of
//            now, the consumers' offsets that are not the projection's (intakes, feeds) are copied
//            over, the serving Store swaps its database for the new one (every reference the
//            service holds stays valid), <data-dir>.current names it (the switch is durable in
//            one rename); the serving runner starts again on the new store's offsets.
//   The old store is kept (<data-dir>.previous names it) until DiscardPrevious; Abort deletes an
//   unfinished rebuild. A restart finds a REBUILDING folder and resumes it at its stored offsets.
//
// Thread-safety: every method may be called from any thread; they are serialised.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "absl/time/time.h"
#include "common/grpc/admin_service.h"
#include "common/kafka/admin.h"
#include "common/kafka/publisher.h"
#include "common/observability/metrics.h"
#include "common/projection/projection.h"
#include "common/projection/runner.h"
#include "common/store/store.h"

namespace sales::service {

// The folder of the store a service with this --data-dir serves: <data-dir> itself, or the
// rebuilt generation <data-dir>.current names.
std::string ServingStorePath(const std::string& data_dir);

// --data-dir without trailing slashes: the stem of the folders beside it (<base>.gen-<n>,
// <base>.asof-<name>, <base>.current).
std::string StoreBase(const std::string& data_dir);

// Adds one PartitionStatus per partition of a runner's progress and sums the offsets read (`done`)
// and the ends of the log (`total`, at least `done`) into the counters.
void DescribeProgress(const std::vector<projection::PartitionProgress>& progress,
                      google::protobuf::RepeatedPtrField<api::v1::PartitionStatus>* out, int64_t* done,
                      int64_t* total);

struct RebuildOptions {
  std::string data_dir;                  // --data-dir as configured
  projection::RunnerOptions runner;      // the serving runner's options
  kafka::EventPublisher* dead_letters = nullptr;
  kafka::Admin* admin = nullptr;
  absl::Duration kafka_timeout = absl::Seconds(10);
};

class Rebuilder final : public grpc_util::RebuildControl {
 public:
  // Pointers must outlive the Rebuilder; `serving_runner` is stopped and started again by Switch.
  Rebuilder(RebuildOptions options, Store* serving, projection::Applier* serving_applier,
            projection::ProjectionRunner* serving_runner, projection::Projection* projection);
  ~Rebuilder() override;  // stops a running rebuild (it resumes on the next start)

  // Resumes the rebuild a previous process left unfinished, if there is one.
  [[nodiscard]] sales::Status ResumeIfAny();

  StatusOr<api::v1::RebuildStatus> Start() override;
  StatusOr<api::v1::RebuildStatus> GetStatus() override;
  StatusOr<api::v1::RebuildStatus> Switch(absl::Duration timeout) override;
  StatusOr<api::v1::RebuildStatus> Abort() override;
  StatusOr<api::v1::RebuildStatus> DiscardPrevious() override;

 private:
  sales::Status OpenAndStart(const std::string& path, int64_t generation, absl::Time started);
  api::v1::RebuildStatus Describe(const std::string& message);  // under mu_
  void Close();                                                  // under mu_

  RebuildOptions options_;
  Store* serving_;
  projection::Applier* serving_applier_;
  projection::ProjectionRunner* serving_runner_;
  projection::Projection* projection_;

  std::mutex mu_;
  MetricsRegistry metrics_;  // the rebuild runner's own (not exported: it would double the serving one's)
  std::unique_ptr<Store> store_;
  std::unique_ptr<projection::Applier> applier_;
  std::unique_ptr<projection::ProjectionRunner> runner_;
  std::string path_;
  int64_t generation_ = 0;
  absl::Time started_;
  absl::Time resumed_at_;
  int64_t resumed_done_ = -1;
  std::string previous_path_;
};

}  // namespace sales::service
