#include "common/grpc/admin_service.h"

#include "common/grpc/status.h"

namespace sales::grpc_util {

::grpc::Status AdminService::GetProjectionStatus(::grpc::ServerContext*, const api::v1::GetProjectionStatusRequest*,
                                                 api::v1::GetProjectionStatusResponse* response) {
  for (const auto& [runner, store] : projections_) {
    auto* p = response->add_projections();
    p->set_name(runner->name());
    for (const auto& progress : runner->Progress()) {
      auto* part = p->add_partitions();
      part->set_topic(progress.topic);
      part->set_partition(progress.partition);
      part->set_next_offset(progress.next_offset);
      part->set_end_offset(progress.end_offset);
      part->set_lag(progress.end_offset < 0 ? -1 : std::max<int64_t>(0, progress.end_offset - progress.next_offset));
    }
    auto applied = store->GetCounter(projection::AppliedCounter(runner->name()));
    auto duplicates = store->GetCounter(projection::DuplicateCounter(runner->name()));
    auto dead = store->GetCounter(projection::DeadLetterCounter(runner->name()));
    auto skipped = store->GetCounter(projection::SkippedCounter(runner->name()));
    for (const auto* s : {&applied, &duplicates, &dead, &skipped}) {
      if (!s->ok()) return ToGrpcStatus(s->status());
    }
    p->set_events_applied(*applied);
    p->set_duplicates_skipped(*duplicates);
    p->set_dead_lettered(*dead);
    p->set_caught_up(runner->caught_up());
    p->set_not_used(*skipped);
    if (Status health = runner->Health(); !health.ok()) p->set_health(std::string(health.message()));
  }
  return ::grpc::Status::OK;
}

}  // namespace sales::grpc_util
