// A projection turns events into rows of a RocksDB store. It is plain code: given a record and a
// batch, it reads and writes rows through the batch and says what it did; it knows nothing of
// Kafka. The ProjectionRunner (runner.h) feeds it from Kafka; a service's command path feeds it the
// events it has just appended (Applier below), so a command's answer can be read at once.
//
// Exactly-once effect: the runner commits each batch of rows together with the offsets it came
// from. Events the command path applied early are seen again by the runner; a projection must
// recognise them (e.g. by aggregate version) and answer kDuplicate without writing.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string_view>
#include <string>
#include <utility>
#include <vector>

#include "common/base/status.h"
#include "common/events/envelope.h"
#include "common/store/store.h"

namespace sales::projection {

// One message as read from (or just appended to) a topic.
struct Record {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
  // The record's Kafka timestamp in ms since the epoch: the producer's create time, i.e. when the
  // event was appended (the topics keep the default CreateTime). -1 when unknown.
  int64_t timestamp_ms = -1;
};

enum class Outcome {
  kApplied,    // rows changed
  kDuplicate,  // already applied earlier; nothing written
  kSkipped,    // not of interest to this projection (e.g. another service's event type it does
               // not use, or one newer than this build knows); nothing written
};

class Projection {
 public:
  virtual ~Projection() = default;

  // Stable name: it keys the stored offsets and counters, so renaming it means a rebuild.
  virtual std::string name() const = 0;
  virtual std::vector<std::string> column_families() const = 0;
  // The families among those whose rows are Batch::AddSums sums that events also take from: there a
  // row of zeros means what no row means (which rows are left at zero depends on the order the
  // topics interleave in, so a rebuild compares them as absent).
  virtual std::vector<std::string> sums_families() const { return {}; }
  // Called once the store is open, before any record is applied: a projection whose rows depend on
  // its settings checks that the store was built with the same ones (FAILED_PRECONDITION saying
  // what to do when not), or records them in a new store.
  virtual Status Open(Store& /*store*/) { return absl::OkStatus(); }

  // Applies one record into `batch`.
  //   INVALID_ARGUMENT, FAILED_PRECONDITION: the record is bad for this projection (cannot be
  //     decoded, version gap, ...): it goes to the dead-letter topic with the message as reason.
  //   any other error: transient (store trouble); the whole batch is retried later.
  virtual StatusOr<Outcome> Apply(const Record& record, Batch& batch) = 0;
};

// Convenience base for projections of enveloped events: decodes and validates the envelope (a bad
// one is dead-lettered), skips the events it does not use (Uses), and hands the others on.
class EventProjection : public Projection {
 public:
  StatusOr<Outcome> Apply(const Record& record, Batch& batch) final;
  // For a command path that holds the envelope it just encoded: no need to decode it again.
  StatusOr<Outcome> ApplyDecoded(const events::EventEnvelope& event, Batch& batch);

 protected:
  // Whether this projection applies the event. A projection reading another service's topic
  // answers false for the aggregate and payload types it has no use for, so that they are skipped
  // (counted) rather than dead-lettered; new event types of that service then never stall it.
  // Events it uses must carry a payload this build knows, or they are dead-lettered.
  virtual bool Uses(const events::EventEnvelope& /*event*/) const { return true; }
  virtual StatusOr<Outcome> ApplyEvent(const events::EventEnvelope& event, Batch& batch) = 0;
};

// Names of the persistent counters every projection keeps (in the store's meta family).
std::string AppliedCounter(const std::string& projection);
std::string DuplicateCounter(const std::string& projection);
std::string DeadLetterCounter(const std::string& projection);
std::string SkippedCounter(const std::string& projection);

// Marks a record the command path applied ahead of the runner (meta family), so that the runner,
// meeting it again, counts it as confirmed rather than as a redelivered duplicate.
std::string AppliedAheadKey(const std::string& projection, const std::string& topic, int32_t partition,
                            int64_t offset);

// The history index (Store::kEventIndexFamily): one empty row per record a runner read, keyed by
// the record's key (the aggregate id), topic, partition and offset, so one aggregate's rows are
// contiguous and in log order. Written by the runner in the batch that commits the record's offset.
std::string HistoryIndexKey(std::string_view aggregate_id, std::string_view topic, int32_t partition, int64_t offset);
// The prefix of every index row of an aggregate (of one topic when `topic` is not empty).
std::string HistoryIndexPrefix(std::string_view aggregate_id, std::string_view topic = {});
struct IndexedPosition {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
};
std::optional<IndexedPosition> ParseHistoryIndexKey(std::string_view key);

// Dead letters applied again by an operator (Admin.RedriveDeadLetters): a marker per dead letter
// (meta family), written in the batch that applies it, so it is applied at most once; and its count.
std::string RedrivenKey(std::string_view dead_letter_topic, int32_t partition, int64_t offset);
std::string RedrivenCounter(const std::string& projection);

// Serialises every write into one projection's store: the runner and the command path both take
// its lock, so read-modify-write of rows never interleaves.
class Applier {
 public:
  Applier(Store* store, Projection* projection) : store_(store), projection_(projection) {}

  Store* store() const { return store_; }
  Projection* projection() const { return projection_; }
  std::mutex& mutex() { return mu_; }

  // Commits a batch built under mutex() (the runner's). `changes_rows`: false when it only moves
  // offsets, counters and applied-ahead markers (confirmations, duplicates, skips), which a
  // command path's pending batch does not depend on. Call under mutex().
  Status Commit(Batch& batch, bool changes_rows = true);
  // How many batches that changed rows were committed through this applier; under mutex(). A
  // command path that decided on the store, released the lock for I/O and took it again compares
  // this to know whether its batch still rests on the current rows.
  uint64_t commits() const { return commits_; }

  // Applies records that were just acknowledged by Kafka (command path). Offsets are not touched:
  // the runner reads these records again, finds them applied and the AppliedAheadKey marker, and
  // drops the marker. Any error is returned as is; no partial batch is committed.
  StatusOr<std::vector<Outcome>> ApplyAppended(const std::vector<Record>& records);

  // For a command path that builds its own batch under mutex() (applying each record with
  // projection()->Apply as it decides): commits it once Kafka acknowledged `applied`, the records
  // that batch applied, at their positions. Adds the applied-ahead markers and the counters.
  // Call under mutex().
  Status CommitAppended(Batch& batch, const std::vector<Record>& applied);

  // The hand-off between a command path's append and the runner. A command path that releases
  // mutex() while Kafka acknowledges its events calls BeginAppend() before releasing it and
  // EndAppend() once it committed them (or gave up). The runner calls AwaitAppends() before it
  // applies what it polled: records it polled can only be of appends begun by then, so waiting for
  // those (one acknowledgement at most, never for appends begun later) lets it find their
  // applied-ahead markers instead of applying the events itself - which would make the command
  // path apply them a second time (its batch no longer rests on the rows). Bounded by `limit`:
  // after that the runner applies them and the command path re-applies (correct, only slower).
  void BeginAppend();
  void EndAppend();
  void AwaitAppends(absl::Duration limit);

  // Whether applied-ahead markers may exist (some were written since this process started, or
  // some were in the store when it was first asked). A rebuild into a fresh store has none, and
  // its runner skips looking them up.
  bool MayHaveAppliedAhead();

  // The store's database was swapped (a rebuild's switch-over; Store::SwapDatabase): counts as a
  // commit that changed rows, so a command path's pending batch is applied again on the new rows,
  // and forgets what it knew of applied-ahead markers. Call under mutex().
  void StoreReplaced();

 private:
  Store* store_;
  Projection* projection_;
  std::mutex mu_;
  uint64_t commits_ = 0;              // guarded by mu_
  std::atomic<int> ahead_state_{-1};  // -1 unknown, 0 none, 1 maybe
  std::mutex appends_mu_;
  std::condition_variable appends_cv_;
  uint64_t appends_begun_ = 0;        // guarded by appends_mu_
  uint64_t appends_ended_ = 0;        // guarded by appends_mu_
};

}  // namespace sales::projection
