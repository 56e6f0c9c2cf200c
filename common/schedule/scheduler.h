// Time-driven facts (an offer expires, an SLA is breached): due times kept in a projection, and a
// scheduler that hands what has fallen due to the service, which appends the fact as an event.
//
// Contract:
//  - The projection owns the due rows: when it applies the event that makes a fact due (an offer
//    sent with a valid-until), it writes DueKey(due, id) -> value into its due family; when it
//    applies the event that settles it (the fact itself, or one that makes it moot), it deletes
//    the row. So the rows are part of the projection's state: a restart or a full replay restores
//    exactly the facts still pending, never one already appended.
//  - The scheduler reads the clock it is given (never the wall clock), scans the rows due at
//    Now() every tick, and calls `fire` with them, on its own thread. `fire` must append the fact
//    through the decider with a deterministic idempotency key, and the decision must re-check the
//    aggregate (still open? still due?): a row fired twice (a tick during the append) then yields
//    one event. A fact `fire` could not append (Kafka down) stays due and is fired again.
// Thread-safety: Start/Stop from one thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "common/base/clock.h"
#include "common/observability/metrics.h"
#include "common/store/store.h"

namespace sales::schedule {

// Row key of a due fact: the due time (nanoseconds since the epoch, 8 bytes big-endian, so rows
// sort by time) followed by the fact's id.
std::string DueKey(absl::Time due, std::string_view id);

struct DueItem {
  absl::Time due;
  std::string id;
  std::string value;
};

struct SchedulerOptions {
  std::string name;                             // for logs and metrics, e.g. "offer-expiry"
  std::string family;                           // the projection's column family of due rows
  absl::Duration tick = absl::Milliseconds(500);
  size_t max_per_tick = 1000;                   // the rest waits for the next tick
};

class Scheduler {
 public:
  using Fire = std::function<void(const std::vector<DueItem>& due)>;

  // Pointers must outlive the scheduler. `metrics` may be null.
  Scheduler(SchedulerOptions options, const Store* store, const Clock* clock, MetricsRegistry* metrics, Fire fire);
  ~Scheduler();  // Stop()s

  void Start();
  void Stop();

  // The rows due at `now`, oldest first, at most `limit` (also for tests and queries).
  static StatusOr<std::vector<DueItem>> Due(const Store& store, std::string_view family, absl::Time now, size_t limit);

 private:
  void Run();

  SchedulerOptions options_;
  const Store* store_;
  const Clock* clock_;
  MetricsRegistry* metrics_;
  Fire fire_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sales::schedule
