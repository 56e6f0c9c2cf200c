#include "common/grpc/admin_service.h"

#include <set>

#include "common/base/log.h"
#include "common/grpc/status.h"
#include "common/kafka/client_config.h"

namespace sales::grpc_util {

AdminService::AdminService(std::vector<Entry> projections, std::vector<const ConsumerStatusSource*> others,
                           MetricsRegistry* metrics)
    : projections_(std::move(projections)), others_(std::move(others)), metrics_(metrics) {
  if (!metrics_) return;
  collector_ = metrics_->AddCollector([this] {
    auto status = Consumers();
    if (!status.ok()) {
      log::Warn("consumer status unavailable for /metrics", {{"error", status.status().ToString()}});
      return;
    }
    for (const auto& c : status->projections()) {
      metrics_->GetGauge("sales_dlq_records",
                         "Records a consumer refused and parked in its dead-letter topic (<topic>.dlq); persisted, "
                         "so it survives restarts.",
                         {{"consumer", c.name()}, {"kind", c.kind()}})
          .Set(static_cast<double>(c.dead_lettered()));
    }
  });
}

AdminService::~AdminService() {
  if (metrics_) metrics_->RemoveCollector(collector_);
}

StatusOr<api::v1::GetProjectionStatusResponse> AdminService::Consumers() const {
  api::v1::GetProjectionStatusResponse response;
  for (const auto& [runner, store] : projections_) {
    auto* p = response.add_projections();
    p->set_name(runner->name());
    p->set_kind("projection");
    std::set<std::string> topics;
    for (const auto& progress : runner->Progress()) {
      auto* part = p->add_partitions();
      part->set_topic(progress.topic);
      part->set_partition(progress.partition);
      part->set_next_offset(progress.next_offset);
      part->set_end_offset(progress.end_offset);
      part->set_lag(progress.end_offset < 0 ? -1 : std::max<int64_t>(0, progress.end_offset - progress.next_offset));
      topics.insert(progress.topic);
    }
    std::set<std::string> dead_letter_topics;
    for (const auto& t : topics) dead_letter_topics.insert(runner->DeadLetterTopicFor(t));
    for (const auto& t : dead_letter_topics) p->add_dead_letter_topics(t);
    ASSIGN_OR_RETURN(int64_t applied, store->GetCounter(projection::AppliedCounter(runner->name())));
    ASSIGN_OR_RETURN(int64_t duplicates, store->GetCounter(projection::DuplicateCounter(runner->name())));
    ASSIGN_OR_RETURN(int64_t dead, store->GetCounter(projection::DeadLetterCounter(runner->name())));
    ASSIGN_OR_RETURN(int64_t skipped, store->GetCounter(projection::SkippedCounter(runner->name())));
    p->set_events_applied(applied);
    p->set_duplicates_skipped(duplicates);
    p->set_dead_lettered(dead);
    p->set_caught_up(runner->caught_up());
    p->set_not_used(skipped);
    if (Status health = runner->Health(); !health.ok()) p->set_health(std::string(health.message()));
  }
  for (const ConsumerStatusSource* other : others_) {
    ASSIGN_OR_RETURN(*response.add_projections(), other->ConsumerStatus());
  }
  return response;
}

::grpc::Status AdminService::GetProjectionStatus(::grpc::ServerContext*, const api::v1::GetProjectionStatusRequest*,
                                                 api::v1::GetProjectionStatusResponse* response) {
  auto status = Consumers();
  if (!status.ok()) return ToGrpcStatus(status.status());
  *response = std::move(*status);
  return ::grpc::Status::OK;
}

}  // namespace sales::grpc_util
