#include "common/projection/runner.h"

#include "common/base/strings.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "common/base/log.h"
#include "common/kafka/dead_letter.h"

namespace sales::projection {
namespace {

// Meta key of a projection's LastAppliedAt (ms since the epoch, decimal).
std::string LastAppliedKey(const std::string& projection) { return StrCat("last-applied-at/", projection); }

bool IsBadRecord(const Status& s) {
  return s.code() == absl::StatusCode::kInvalidArgument || s.code() == absl::StatusCode::kFailedPrecondition;
}

}  // namespace

struct ProjectionRunner::Counters {
  Counter* applied;
  Counter* duplicates;
  Counter* skipped;
  Counter* confirmed;
  Counter* dead_lettered;
  Counter* batch_failures;
  Histogram* batch_seconds;
};

ProjectionRunner::ProjectionRunner(RunnerOptions options, Applier* applier, kafka::EventPublisher* dead_letters,
                                   kafka::Admin* admin, MetricsRegistry* metrics)
    : options_(std::move(options)),
      applier_(applier),
      dead_letters_(dead_letters),
      admin_(admin),
      metrics_(metrics),
      name_(applier->projection()->name()),
      consumer_({.client = options_.client,
                 .name = name_,
                 .topics = options_.topics,
                 .properties = {{"group.id", StrCat("sales-projection-", name_)},
                                {"queued.max.messages.kbytes", StrCat(options_.prefetch_kbytes)}},
                 .max_batch = options_.max_batch,
                 .poll_timeout = options_.poll_timeout,
                 .retry_backoff = options_.retry_backoff,
                 .kafka_timeout = options_.kafka_timeout},
                applier->store(), admin),
      pipeline_(applier->store()) {
  const Labels labels = {{"projection", name_}};
  auto events = [&](const char* outcome) {
    Labels l = labels;
    l["outcome"] = outcome;
    return &metrics->GetCounter("sales_projection_events_total", "Records handled by a projection runner.", l);
  };
  counters_.reset(new Counters{
      events("applied"), events("duplicate"), events("skipped"), events("applied_by_command"), events("dead_letter"),
      &metrics->GetCounter("sales_projection_batch_failures_total",
                           "Batches abandoned and retried (store or dead-letter trouble).", labels),
      &metrics->GetHistogram("sales_projection_batch_seconds", "Time to apply and commit one batch.", labels)});
  collector_ = metrics->AddCollector([this, metrics] {
    for (const auto& p : Progress()) {
      Labels l = {{"projection", name_}, {"topic", p.topic}, {"partition", StrCat(p.partition)}};
      metrics->GetGauge("sales_projection_next_offset", "Next offset a projection will apply.", l)
          .Set(static_cast<double>(p.next_offset));
      metrics->GetGauge("sales_projection_lag_events", "Events in the log not yet applied by a projection.", l)
          .Set(p.end_offset < 0 ? -1 : static_cast<double>(std::max<int64_t>(0, p.end_offset - p.next_offset)));
    }
    if (const int64_t ms = last_applied_ms_; ms >= 0) {
      metrics->GetGauge("sales_projection_last_applied_timestamp_seconds",
                        "Append time of the latest event a projection has handled (its data is as of then).",
                        {{"projection", name_}})
          .Set(static_cast<double>(ms) / 1000);
    }
  });
}

ProjectionRunner::~ProjectionRunner() {
  metrics_->RemoveCollector(collector_);
  Stop();
}

Status ProjectionRunner::Start() {
  ASSIGN_OR_RETURN(std::optional<std::string> last, applier_->store()->Get(Store::kMetaFamily, LastAppliedKey(name_)));
  if (int64_t ms; last && absl::SimpleAtoi(*last, &ms)) last_applied_ms_ = ms;
  for (const auto& topic : options_.topics) {
    ASSIGN_OR_RETURN(int partitions, admin_->PartitionCount(topic, options_.kafka_timeout));
    for (int32_t p = 0; p < partitions; ++p) {
      ASSIGN_OR_RETURN(kafka::Watermarks w, admin_->QueryWatermarks(topic, p, options_.kafka_timeout));
      catch_up_target_[{topic, p}] = w.high;
    }
  }
  return consumer_.Start(
      {.process = [this](std::vector<Record>& batch) {
         const absl::Time started = absl::Now();
         Status s = ProcessBatch(batch);
         if (s.ok()) {
           counters_->batch_seconds->Observe(absl::ToDoubleSeconds(absl::Now() - started));
         } else {
           counters_->batch_failures->Inc();
         }
         RecordOutcome(s);
         return s;
       },
       .on_assign =
           [this](const std::map<TopicPartition, int64_t>& positions) {
             std::lock_guard lock(mu_);
             progress_.clear();
             for (const auto& [tp, next] : positions) {
               progress_[tp] = {tp.first, tp.second, next, catch_up_target_.count(tp) ? catch_up_target_[tp] : -1};
             }
           },
       .on_end = [this](const TopicPartition& tp, int64_t next) { Advance(tp.first, tp.second, next); }});
}

void ProjectionRunner::Stop() { consumer_.Stop(); }

void ProjectionRunner::RecordOutcome(const Status& s) {
  std::lock_guard lock(mu_);
  if (s.ok()) {
    failing_since_.reset();
    last_failure_ = absl::OkStatus();
  } else {
    if (!failing_since_) failing_since_ = std::chrono::steady_clock::now();
    last_failure_ = s;
  }
}

Status ProjectionRunner::Health() const {
  std::lock_guard lock(mu_);
  if (!failing_since_) return absl::OkStatus();
  const absl::Duration stalled = absl::FromChrono(std::chrono::steady_clock::now() - *failing_since_);
  if (stalled < options_.stall_after) return absl::OkStatus();
  return absl::UnavailableError(StrCat("projection ", name_, " stalled for ",
                                       absl::FormatDuration(absl::Trunc(stalled, absl::Seconds(1))), ": ",
                                       last_failure_.message()));
}

void ProjectionRunner::Tally::Add(const Tally& later) {
  applied += later.applied;
  duplicates += later.duplicates;
  skipped += later.skipped;
  confirmed += later.confirmed;
  dead_lettered += later.dead_lettered;
  last_timestamp_ms = std::max(last_timestamp_ms, later.last_timestamp_ms);
  for (const auto& [tp, offset] : later.next) next[tp] = offset;
}

// Applies records[from...] under the applier's lock, in parts of RunnerOptions::write_every records,
// each committed with its offsets while the next is applied (CommitPipeline). A part with a record
// the projection refuses, which `parked` does not list as dead-lettered already, is not committed:
// its refused records are listed in `refused` and the parts before it are committed; the caller
// parks them without holding the lock and comes back. `tally` counts the committed parts, which
// are the first `*committed` records, also when an error is returned.
Status ProjectionRunner::ApplyBatch(std::vector<Record>& records, size_t from,
                                    const std::set<TopicPartitionOffset>& parked,
                                    std::vector<std::pair<Record, Status>>* refused, size_t* committed,
                                    Tally* tally) {
  Projection* projection = applier_->projection();
  std::lock_guard lock(applier_->mutex());
  const bool markers = applier_->MayHaveAppliedAhead();
  std::vector<std::pair<size_t, Tally>> parts;  // handed over: end of the part, its tally
  int64_t last_ms = last_applied_ms_;           // as written by the parts before
  Status failure = absl::OkStatus();
  // After a failed batch, its retry writes in one part, as a store recovering from a fatal write
  // error can only reopen its database once no batch holds it (Store::Commit): the next part,
  // built while the failed one was written, would hold it every time.
  const size_t every = retrying_ ? records.size() : static_cast<size_t>(std::max(1, options_.write_every));
  for (size_t begin = from; begin < records.size() && failure.ok() && refused->empty(); begin += every) {
    const size_t end = std::min(records.size(), begin + every);
    Tally part;
    Batch batch = pipeline_.NewBatch();
    for (size_t i = begin; i < end && failure.ok(); ++i) {
      Record& record = records[i];
      // Applied ahead by the command path (the common case for a service's own topic): confirm it
      // without decoding or applying it again.
      std::optional<std::string> marker;
      std::string ahead;
      if (markers) {
        ahead = AppliedAheadKey(name_, record.topic, record.partition, record.offset);
        StatusOr<std::optional<std::string>> found = batch.Get(Store::kMetaFamily, ahead);
        if (!found.ok()) {
          failure = found.status();
          break;
        }
        marker = std::move(*found);
      }
      if (marker) {
        batch.Delete(Store::kMetaFamily, ahead);
        ++part.confirmed;
      } else {
        batch.SetSavePoint();
        StatusOr<Outcome> outcome = projection->Apply(record, batch);
        if (outcome.ok()) {
          failure = batch.PopSavePoint();
          switch (*outcome) {
            case Outcome::kApplied: ++part.applied; break;
            case Outcome::kDuplicate: ++part.duplicates; break;
            case Outcome::kSkipped: ++part.skipped; break;
          }
        } else if (IsBadRecord(outcome.status())) {
          failure = batch.RollbackToSavePoint();
          if (!parked.count({record.topic, record.partition, record.offset})) {
            refused->emplace_back(record, outcome.status());
          } else {
            ++part.dead_lettered;
          }
        } else {
          failure = outcome.status();
        }
      }
      // The history index: one small row per record, in the batch that moves its offset (a few
      // dozen bytes into the write batch; no read).
      if (!record.key.empty()) {
        batch.Put(Store::kEventIndexFamily, HistoryIndexKey(record.key, record.topic, record.partition, record.offset),
                  "");
      }
      part.next[{record.topic, record.partition}] = record.offset + 1;
      part.last_timestamp_ms = std::max(part.last_timestamp_ms, record.timestamp_ms);
    }
    if (!failure.ok() || !refused->empty()) break;  // this part is dropped
    // The part commits atomically: each partition's last offset is the only one that counts.
    for (const auto& [tp, offset] : part.next) batch.SetOffset(name_, tp.first, tp.second, offset);
    if (part.last_timestamp_ms > last_ms) {
      last_ms = part.last_timestamp_ms;
      batch.Put(Store::kMetaFamily, LastAppliedKey(name_), StrCat(last_ms));
    }
    for (const auto& [counter, n] : {std::pair{AppliedCounter(name_), part.applied},
                                     {DuplicateCounter(name_), part.duplicates},
                                     {SkippedCounter(name_), part.skipped},
                                     {DeadLetterCounter(name_), part.dead_lettered}}) {
      if (n && failure.ok()) failure = batch.AddToCounter(counter, n);
    }
    if (!failure.ok()) break;
    // The command path's pending batch rests on rows only: a commit of confirmations, duplicates,
    // skips and dead letters alone (offsets, counters, markers) leaves it valid.
    // (Committed on the pipeline's thread while this one holds the lock for it, until Finish.)
    const bool changes_rows = part.applied > 0;
    pipeline_.Commit(std::move(batch), [this, changes_rows](Batch& b) { return applier_->Commit(b, changes_rows); });
    parts.emplace_back(end, std::move(part));
  }
  const CommitPipeline::Outcome written = pipeline_.Finish();
  *committed = from;
  for (size_t k = 0; k < written.committed; ++k) {
    *committed = parts[k].first;
    tally->Add(parts[k].second);
  }
  if (!written.status.ok()) return written.status;
  return failure;
}

Status ProjectionRunner::ProcessBatch(std::vector<Record>& records) {
  // Events the command path is still committing (appended, acknowledged, not yet in the store):
  // let it commit them with their markers first (Applier::AwaitAppends).
  applier_->AwaitAppends(absl::Seconds(5));
  Tally tally;
  std::set<TopicPartitionOffset> parked;
  Status s = absl::OkStatus();
  for (size_t done = 0; s.ok() && done < records.size();) {
    std::vector<std::pair<Record, Status>> refused;
    s = ApplyBatch(records, done, parked, &refused, &done, &tally);
    // Dead letters are acknowledged before the offsets move past them (nothing is dropped), and
    // published without holding the applier's lock (the command path goes on meanwhile); then
    // the rest is applied again onto the store as it is now.
    for (size_t k = 0; s.ok() && k < refused.size(); ++k) {
      s = DeadLetter(refused[k].first, refused[k].second);
      parked.insert({refused[k].first.topic, refused[k].first.partition, refused[k].first.offset});
    }
  }
  retrying_ = !s.ok();
  counters_->applied->Inc(tally.applied);
  counters_->duplicates->Inc(tally.duplicates);
  counters_->skipped->Inc(tally.skipped);
  counters_->confirmed->Inc(tally.confirmed);
  counters_->dead_lettered->Inc(tally.dead_lettered);
  for (const auto& [tp, offset] : tally.next) Advance(tp.first, tp.second, offset);
  if (tally.last_timestamp_ms > last_applied_ms_) last_applied_ms_ = tally.last_timestamp_ms;
  return s;
}

std::optional<absl::Time> ProjectionRunner::LastAppliedAt() const {
  const int64_t ms = last_applied_ms_;
  if (ms < 0) return std::nullopt;
  return absl::FromUnixMillis(ms);
}

Status ProjectionRunner::DeadLetter(const Record& record, const Status& reason) {
  kafka::OutgoingMessage m = kafka::MakeDeadLetter(record.key, record.value, record.headers, reason,
                                                   {name_, record.topic, record.partition, record.offset}, absl::Now());
  m.topic = DeadLetterTopicFor(record.topic);
  std::vector<kafka::OutgoingMessage> one;
  one.push_back(std::move(m));
  auto results = dead_letters_->Publish(std::move(one), options_.kafka_timeout);
  RETURN_IF_ERROR(results.front().status());
  log::Warn("record dead-lettered", {{"projection", name_},
                                      {"topic", record.topic},
                                      {"partition", record.partition},
                                      {"offset", record.offset},
                                      {"reason", std::string(reason.message())}});
  return absl::OkStatus();
}

std::string ProjectionRunner::DeadLetterTopicFor(const std::string& topic) const {
  // A service never writes another service's topics, its dead-letter topic included: records of
  // a topic it only reads are parked in its own (the origin headers say where they came from).
  if (!options_.own_dead_letter_topic.empty() && !options_.topics.empty() && topic != options_.topics.front()) {
    return options_.own_dead_letter_topic;
  }
  return kafka::DeadLetterTopic(topic);
}

void ProjectionRunner::Advance(const std::string& topic, int32_t partition, int64_t next_offset) {
  std::lock_guard lock(mu_);
  auto it = progress_.find({topic, partition});
  if (it == progress_.end() || next_offset <= it->second.next_offset) return;
  it->second.next_offset = next_offset;
  if (!caught_up_) {
    bool all = true;
    for (const auto& [tp, target] : catch_up_target_) {
      auto p = progress_.find(tp);
      all = all && p != progress_.end() && p->second.next_offset >= target;
    }
    if (all) {
      caught_up_ = true;
      log::Info("projection caught up", {{"projection", name_}});
    }
  }
  progress_cv_.notify_all();
}

Status ProjectionRunner::WaitCaughtUp(absl::Duration timeout) {
  std::unique_lock lock(mu_);
  bool all = true;
  for (const auto& [tp, target] : catch_up_target_) {
    auto p = progress_.find(tp);
    all = all && p != progress_.end() && p->second.next_offset >= target;
  }
  if (all) caught_up_ = true;
  if (progress_cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [this] { return caught_up_.load(); })) {
    return absl::OkStatus();
  }
  return absl::DeadlineExceededError(StrCat("projection ", name_, " did not catch up within ",
                                                  absl::FormatDuration(timeout)));
}

Status ProjectionRunner::WaitApplied(const std::string& topic, int32_t partition, int64_t offset,
                                     absl::Duration timeout) {
  std::unique_lock lock(mu_);
  auto reached = [&] {
    auto it = progress_.find({topic, partition});
    return it != progress_.end() && it->second.next_offset > offset;
  };
  if (progress_cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), reached)) return absl::OkStatus();
  return absl::DeadlineExceededError(StrCat(topic, "/", partition, "@", offset, " not applied in time"));
}

std::vector<PartitionProgress> ProjectionRunner::Progress() const {
  std::vector<PartitionProgress> out;
  {
    std::lock_guard lock(mu_);
    for (const auto& [tp, p] : progress_) out.push_back(p);
  }
  for (auto& p : out) p.end_offset = std::max(p.end_offset, consumer_.HighWatermark({p.topic, p.partition}));
  return out;
}

}  // namespace sales::projection
