#include "common/projection/projection.h"

#include "common/base/strings.h"

namespace sales::projection {

StatusOr<Outcome> EventProjection::Apply(const Record& record, Batch& batch) {
  ASSIGN_OR_RETURN(events::EventEnvelope event, events::DecodeAnyPayload(record.value));
  if (!Uses(event)) return Outcome::kSkipped;  // not ours to judge, whatever its key
  if (event.aggregate_id() != record.key) {
    return InvalidField("key", StrCat("message key \"", record.key, "\" is not the aggregate id \"",
                                            event.aggregate_id(), "\""));
  }
  return ApplyDecoded(event, batch);
}

StatusOr<Outcome> EventProjection::ApplyDecoded(const events::EventEnvelope& event, Batch& batch) {
  if (!Uses(event)) return Outcome::kSkipped;
  if (event.payload_case() == events::EventEnvelope::PAYLOAD_NOT_SET) {
    return InvalidField("payload", StrCat("event type \"", event.event_type(),
                                          "\" has no payload this service knows (written by a newer version?)"));
  }
  return ApplyEvent(event, batch);
}

std::string AppliedCounter(const std::string& p) { return StrCat(p, "/applied"); }
std::string DuplicateCounter(const std::string& p) { return StrCat(p, "/duplicates"); }
std::string DeadLetterCounter(const std::string& p) { return StrCat(p, "/dead_lettered"); }
std::string SkippedCounter(const std::string& p) { return StrCat(p, "/skipped"); }
std::string RedrivenCounter(const std::string& p) { return StrCat(p, "/redriven"); }

std::string RedrivenKey(std::string_view dead_letter_topic, int32_t partition, int64_t offset) {
  return StrCat("redriven/", dead_letter_topic, "/", partition, "/", offset);
}

// <aggregate id> 0x00 <topic> 0x00 <partition: 4 bytes big-endian> <offset: EncodeInt64>. Aggregate
// ids and topic names hold no NUL, so an aggregate's rows share the prefix and no other's does.
std::string HistoryIndexPrefix(std::string_view aggregate_id, std::string_view topic) {
  std::string key = StrCat(aggregate_id, std::string_view("\0", 1));
  if (!topic.empty()) StrAppend(&key, topic, std::string_view("\0", 1));
  return key;
}

std::string HistoryIndexKey(std::string_view aggregate_id, std::string_view topic, int32_t partition, int64_t offset) {
  std::string key = HistoryIndexPrefix(aggregate_id, topic);
  const auto p = static_cast<uint32_t>(partition);
  for (int shift = 24; shift >= 0; shift -= 8) key.push_back(static_cast<char>((p >> shift) & 0xff));
  key += EncodeInt64(offset);
  return key;
}

std::optional<IndexedPosition> ParseHistoryIndexKey(std::string_view key) {
  const size_t first = key.find('\0');
  if (first == std::string_view::npos) return std::nullopt;
  const size_t second = key.find('\0', first + 1);
  if (second == std::string_view::npos || key.size() != second + 1 + 4 + 8) return std::nullopt;
  IndexedPosition out;
  out.topic = std::string(key.substr(first + 1, second - first - 1));
  uint32_t p = 0;
  for (size_t i = second + 1; i < second + 5; ++i) p = (p << 8) | static_cast<unsigned char>(key[i]);
  out.partition = static_cast<int32_t>(p);
  out.offset = *DecodeInt64(key.substr(second + 5));
  return out;
}

std::string AppliedAheadKey(const std::string& p, const std::string& topic, int32_t partition, int64_t offset) {
  return StrCat("ahead/", p, "/", topic, "/", partition, "/", offset);
}

StatusOr<std::vector<Outcome>> Applier::ApplyAppended(const std::vector<Record>& records) {
  std::lock_guard lock(mu_);
  Batch batch = store_->NewBatch();
  std::vector<Outcome> outcomes;
  std::vector<Record> applied;
  for (const Record& r : records) {
    ASSIGN_OR_RETURN(Outcome o, projection_->Apply(r, batch));
    // kDuplicate here means the runner got there first: not a redelivery, so not counted.
    if (o == Outcome::kApplied) applied.push_back(r);
    outcomes.push_back(o);
  }
  RETURN_IF_ERROR(CommitAppended(batch, applied));
  return outcomes;
}

Status Applier::Commit(Batch& batch, bool changes_rows) {
  RETURN_IF_ERROR(store_->Commit(batch));
  if (changes_rows) ++commits_;
  return absl::OkStatus();
}

void Applier::BeginAppend() {
  std::lock_guard lock(appends_mu_);
  ++appends_begun_;
}

void Applier::EndAppend() {
  {
    std::lock_guard lock(appends_mu_);
    ++appends_ended_;
  }
  appends_cv_.notify_all();
}

void Applier::AwaitAppends(absl::Duration limit) {
  std::unique_lock lock(appends_mu_);
  const uint64_t target = appends_begun_;
  appends_cv_.wait_for(lock, absl::ToChronoMilliseconds(limit), [&] { return appends_ended_ >= target; });
}

bool Applier::MayHaveAppliedAhead() {
  int state = ahead_state_.load();
  if (state < 0) {
    bool found = false;
    const std::string prefix = StrCat("ahead/", projection_->name(), "/");
    Status s = store_->Scan(Store::kMetaFamily, prefix, "", [&](std::string_view, std::string_view) {
      found = true;
      return false;
    });
    state = !s.ok() || found ? 1 : 0;
    int expected = -1;
    if (!ahead_state_.compare_exchange_strong(expected, state)) state = expected;
  }
  return state != 0;
}

Status Applier::CommitAppended(Batch& batch, const std::vector<Record>& applied) {
  const std::string name = projection_->name();
  if (!applied.empty()) ahead_state_ = 1;
  for (const Record& r : applied) {
    batch.Put(Store::kMetaFamily, AppliedAheadKey(name, r.topic, r.partition, r.offset), "");
  }
  if (!applied.empty()) {
    RETURN_IF_ERROR(batch.AddToCounter(AppliedCounter(name), static_cast<int64_t>(applied.size())));
  }
  return Commit(batch);
}

}  // namespace sales::projection

namespace sales::projection {

void Applier::StoreReplaced() {
  ++commits_;
  ahead_state_ = -1;
}

}  // namespace sales::projection
