#include "common/projection/stored_offset_consumer.h"

#include <librdkafka/rdkafkacpp.h>

#include "absl/cleanup/cleanup.h"
#include "absl/time/clock.h"
#include "common/base/log.h"
#include "common/base/strings.h"

namespace sales::projection {
namespace {

Record ToRecord(RdKafka::Message& m) {
  Record r;
  r.topic = m.topic_name();
  r.partition = m.partition();
  r.offset = m.offset();
  if (const RdKafka::MessageTimestamp ts = m.timestamp(); ts.type != RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE) {
    r.timestamp_ms = ts.timestamp;
  }
  if (m.key()) r.key = *m.key();
  r.value.assign(static_cast<const char*>(m.payload()), m.len());
  if (const RdKafka::Headers* h = m.headers()) {
    for (const auto& header : h->get_all()) {
      r.headers.emplace_back(header.key(),
                             std::string(static_cast<const char*>(header.value()), header.value_size()));
    }
  }
  return r;
}

}  // namespace

StoredOffsetConsumer::StoredOffsetConsumer(Options options, const Store* store, kafka::Admin* admin)
    : options_(std::move(options)), store_(store), admin_(admin) {}

StoredOffsetConsumer::~StoredOffsetConsumer() { Stop(); }

std::map<std::string, std::string> StoredOffsetConsumer::DefaultProperties(const std::string& name) {
  return {{"group.id", StrCat("sales-", name)},
          {"enable.auto.commit", "false"},  // offsets live in the store
          {"enable.auto.offset.store", "false"},
          {"enable.partition.eof", "true"},  // catch-up detection
          {"auto.offset.reset", "earliest"},
          // The broker answers a fetch as soon as a record arrives (fetch.min.bytes is 1): this is
          // only how long a fetch of an idle partition waits, so an idle consumer sends 10 empty
          // fetches a second (at 10 ms it sent 100, and an idle service kept the broker busy), and
          // how soon the end of the partitions (catch-up) is seen.
          {"fetch.wait.max.ms", "100"},
          {"fetch.error.backoff.ms", "100"},
          // What librdkafka fetches ahead of the projection. In a catch-up the projection is the
          // slower side, so the queue stays full: at 32 MiB the lead rebuild's peak RSS was 337 MiB,
          // at 8 MiB 292 MiB, at the same 19,000 events/s. A full queue is fetched again only
          // after a second (librdkafka 2.0), so this bounds a catch-up to 8 MiB of events a
          // second; projections set their own (RunnerOptions::prefetch_kbytes).
          {"queued.max.messages.kbytes", "8192"},
          {"reconnect.backoff.max.ms", "1000"}};
}

Status StoredOffsetConsumer::Start(Callbacks callbacks) {
  stopping_ = false;  // may start again after Stop() (a rebuild's switch-over restarts the runner)
  callbacks_ = std::move(callbacks);
  std::map<std::string, std::string> properties = DefaultProperties(options_.name);
  for (const auto& [k, v] : options_.properties) properties[k] = v;
  ASSIGN_OR_RETURN(auto conf, kafka::MakeConf(options_.client, properties));
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!consumer) return absl::InvalidArgumentError(StrCat("kafka consumer: ", err));
  {
    std::lock_guard lock(mu_);
    consumer_ = std::move(consumer);
  }
  partitions_.clear();
  for (const auto& topic : options_.topics) {
    ASSIGN_OR_RETURN(int count, admin_->PartitionCount(topic, options_.kafka_timeout));
    for (int32_t p = 0; p < count; ++p) partitions_.emplace_back(topic, p);
  }
  RETURN_IF_ERROR(Assign(Placement::kAssign));
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

Status StoredOffsetConsumer::Assign(Placement placement) {
  std::vector<RdKafka::TopicPartition*> assignment;
  std::map<TopicPartition, int64_t> positions;
  absl::Cleanup destroy = [&assignment] { RdKafka::TopicPartition::destroy(assignment); };
  for (const auto& tp : partitions_) {
    ASSIGN_OR_RETURN(std::optional<int64_t> stored, store_->GetOffset(options_.name, tp.first, tp.second));
    assignment.push_back(RdKafka::TopicPartition::create(tp.first, tp.second,
                                                         stored.value_or(RdKafka::Topic::OFFSET_BEGINNING)));
    positions[tp] = stored.value_or(0);
  }
  if (placement == Placement::kAssign) {
    RdKafka::ErrorCode code = consumer_->assign(assignment);
    if (code != RdKafka::ERR_NO_ERROR) return absl::UnavailableError(StrCat("kafka assign: ", RdKafka::err2str(code)));
  } else {
    // A rewind seeks the partitions already fetching instead of assigning them again: librdkafka
    // 2.0 sends a second fetch stop for a partition whose first stop is still pending when the
    // assignment changes again (a retry, or close() just after one), and aborts on its reply
    // (rdkafka_assignment.c, `rktp->rktp_started`; librdkafka issue 5573). A seek bumps the
    // partition's version, so messages already fetched past the stored offset are dropped.
    const int timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(options_.kafka_timeout));
    for (RdKafka::TopicPartition* tp : assignment) {
      RdKafka::ErrorCode code = consumer_->seek(*tp, timeout_ms);
      if (code != RdKafka::ERR_NO_ERROR) {
        return absl::UnavailableError(
            StrCat("kafka seek ", tp->topic(), "/", tp->partition(), ": ", RdKafka::err2str(code)));
      }
    }
  }
  if (callbacks_.on_assign) callbacks_.on_assign(positions);
  return absl::OkStatus();
}

void StoredOffsetConsumer::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  if (consumer_) {
    consumer_->close();
    consumer_.reset();
  }
}

int64_t StoredOffsetConsumer::HighWatermark(const TopicPartition& tp) const {
  std::lock_guard lock(mu_);
  int64_t low = 0, high = -1;
  // Cached from the consumer's fetches: no network round trip.
  if (!consumer_ || consumer_->get_watermark_offsets(tp.first, tp.second, &low, &high) != RdKafka::ERR_NO_ERROR) {
    return -1;
  }
  return high;
}

void StoredOffsetConsumer::Run() {
  log::Info("consumer started", {{"consumer", options_.name}});
  const int poll_ms = static_cast<int>(absl::ToInt64Milliseconds(options_.poll_timeout));
  while (!stopping_) {
    std::vector<Record> batch;
    std::vector<std::pair<TopicPartition, int64_t>> ends;
    for (int timeout = poll_ms; static_cast<int>(batch.size()) < options_.max_batch; timeout = 0) {
      std::unique_ptr<RdKafka::Message> m(consumer_->consume(timeout));  // only the first is waited for
      if (m->err() == RdKafka::ERR_NO_ERROR) {
        batch.push_back(ToRecord(*m));
      } else if (m->err() == RdKafka::ERR__PARTITION_EOF) {
        ends.push_back({{m->topic_name(), m->partition()}, m->offset()});
      } else {
        if (m->err() != RdKafka::ERR__TIMED_OUT) {
          log::Warn("kafka consume error", {{"consumer", options_.name}, {"error", m->errstr()}});
        }
        break;
      }
    }
    if (!batch.empty()) {
      if (Status s = callbacks_.process(batch); !s.ok()) {
        log::Error("batch failed; retrying from the stored offsets", {{"consumer", options_.name}, {"error", s.ToString()}});
        // The consumer's position is past the failed batch: nothing may be consumed until it is
        // rewound to the stored offsets.
        while (!stopping_) {
          for (absl::Time until = absl::Now() + options_.retry_backoff; !stopping_ && absl::Now() < until;) {
            absl::SleepFor(absl::Milliseconds(20));
          }
          Status a = Assign(Placement::kSeek);
          if (a.ok()) break;
          log::Error("rewind failed; trying again", {{"consumer", options_.name}, {"error", a.ToString()}});
        }
        continue;
      }
    }
    if (callbacks_.on_end) {
      for (const auto& [tp, offset] : ends) callbacks_.on_end(tp, offset);
    }
  }
  log::Info("consumer stopped", {{"consumer", options_.name}});
}

}  // namespace sales::projection
