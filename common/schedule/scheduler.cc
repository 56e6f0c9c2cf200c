#include "common/schedule/scheduler.h"

#include "common/base/log.h"
#include "common/base/strings.h"

namespace sales::schedule {

std::string DueKey(absl::Time due, std::string_view id) {
  return StrCat(EncodeInt64(absl::ToUnixNanos(due)), id);
}

Scheduler::Scheduler(SchedulerOptions options, const Store* store, const Clock* clock, MetricsRegistry* metrics,
                     Fire fire)
    : options_(std::move(options)), store_(store), clock_(clock), metrics_(metrics), fire_(std::move(fire)) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() {
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void Scheduler::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

StatusOr<std::vector<DueItem>> Scheduler::Due(const Store& store, std::string_view family, absl::Time now,
                                              size_t limit) {
  std::vector<DueItem> due;
  const int64_t until = absl::ToUnixNanos(now);
  Status bad = absl::OkStatus();
  RETURN_IF_ERROR(store.Scan(family, "", "", [&](std::string_view key, std::string_view value) {
    std::optional<int64_t> at = key.size() >= 8 ? DecodeInt64(key.substr(0, 8)) : std::nullopt;
    if (!at) {
      bad = absl::DataLossError(StrCat("malformed due row in ", family));
      return false;
    }
    if (*at > until || due.size() >= limit) return false;
    due.push_back({absl::FromUnixNanos(*at), std::string(key.substr(8)), std::string(value)});
    return true;
  }));
  RETURN_IF_ERROR(bad);
  return due;
}

void Scheduler::Run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    StatusOr<std::vector<DueItem>> due = Due(*store_, options_.family, clock_->Now(), options_.max_per_tick);
    if (!due.ok()) {
      log::Error("scheduler cannot read its due rows", {{"scheduler", options_.name}, {"error", due.status().ToString()}});
    } else if (!due->empty()) {
      if (metrics_) {
        metrics_->GetCounter("sales_scheduler_fired_total", "Due facts handed to the service, by scheduler.",
                             {{"scheduler", options_.name}})
            .Inc(static_cast<int64_t>(due->size()));
      }
      fire_(*due);
    }
    lock.lock();
    cv_.wait_for(lock, absl::ToChronoNanoseconds(options_.tick), [this] { return stopping_; });
  }
}

}  // namespace sales::schedule
