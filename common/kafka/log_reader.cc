#include "common/kafka/log_reader.h"

#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include "common/base/strings.h"

namespace sales::kafka {
namespace {

LogMessage ToMessage(RdKafka::Message& m) {
  LogMessage out;
  out.topic = m.topic_name();
  out.partition = m.partition();
  out.offset = m.offset();
  if (m.key()) out.key = *m.key();
  out.value.assign(static_cast<const char*>(m.payload()), m.len());
  if (const RdKafka::Headers* h = m.headers()) {
    for (const auto& header : h->get_all()) {
      out.headers.emplace_back(header.key(), std::string(static_cast<const char*>(header.value()), header.value_size()));
    }
  }
  const RdKafka::MessageTimestamp ts = m.timestamp();
  if (ts.type != RdKafka::MessageTimestamp::MSG_TIMESTAMP_NOT_AVAILABLE) out.timestamp = absl::FromUnixMillis(ts.timestamp);
  return out;
}

StatusOr<std::unique_ptr<RdKafka::KafkaConsumer>> NewConsumer(const ClientSettings& client) {
  ASSIGN_OR_RETURN(auto conf, MakeConf(client, {{"group.id", StrCat(client.client_id, "-log-reader")},
                                                {"enable.auto.commit", "false"},
                                                {"enable.auto.offset.store", "false"},
                                                {"enable.partition.eof", "true"},
                                                {"auto.offset.reset", "error"},
                                                {"fetch.wait.max.ms", "10"}}));
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!consumer) return absl::InvalidArgumentError(StrCat("kafka consumer: ", err));
  return consumer;
}

Status AssignAt(RdKafka::KafkaConsumer& consumer, const std::string& topic, int32_t partition, int64_t offset) {
  std::vector<RdKafka::TopicPartition*> tp = {RdKafka::TopicPartition::create(topic, partition, offset)};
  RdKafka::ErrorCode code = consumer.assign(tp);
  RdKafka::TopicPartition::destroy(tp);
  if (code != RdKafka::ERR_NO_ERROR) return absl::UnavailableError(StrCat("kafka assign: ", RdKafka::err2str(code)));
  return absl::OkStatus();
}

using SteadyDeadline = std::chrono::steady_clock::time_point;

// The next record at or after the assigned position, nullopt at the end of the partition.
StatusOr<std::optional<LogMessage>> Next(RdKafka::KafkaConsumer& consumer, SteadyDeadline deadline) {
  while (std::chrono::steady_clock::now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(consumer.consume(100));
    switch (m->err()) {
      case RdKafka::ERR_NO_ERROR: return std::optional<LogMessage>(ToMessage(*m));
      case RdKafka::ERR__PARTITION_EOF: return std::optional<LogMessage>();
      case RdKafka::ERR__TIMED_OUT: continue;
      case RdKafka::ERR_OFFSET_OUT_OF_RANGE:
      case RdKafka::ERR__AUTO_OFFSET_RESET: return std::optional<LogMessage>();
      default:
        if (m->err() == RdKafka::ERR__TRANSPORT || m->err() == RdKafka::ERR__ALL_BROKERS_DOWN) continue;
        return absl::UnavailableError(StrCat("kafka read: ", m->errstr()));
    }
  }
  return absl::UnavailableError("kafka read: timed out");
}

}  // namespace

std::string LogMessage::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return "";
}

StatusOr<std::vector<LogMessage>> LogReader::ReadAt(const std::string& topic, int32_t partition,
                                                    std::vector<int64_t> offsets) const {
  std::sort(offsets.begin(), offsets.end());
  offsets.erase(std::unique(offsets.begin(), offsets.end()), offsets.end());
  std::vector<LogMessage> out;
  if (offsets.empty()) return out;
  ASSIGN_OR_RETURN(auto consumer, NewConsumer(client_));
  const SteadyDeadline deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout_);
  // Consecutive offsets are read in one go; a gap of more than a fetch's worth re-assigns.
  constexpr int64_t kSeekGap = 64;
  int64_t position = -1;  // the offset the consumer will return next, -1 unassigned
  for (size_t i = 0; i < offsets.size(); ++i) {
    const int64_t want = offsets[i];
    if (position < 0 || want < position || want - position > kSeekGap) {
      RETURN_IF_ERROR(AssignAt(*consumer, topic, partition, want));
      position = want;
    }
    while (true) {
      ASSIGN_OR_RETURN(std::optional<LogMessage> m, Next(*consumer, deadline));
      if (!m) {  // end of the log: no later offset is there either
        consumer->close();
        return out;
      }
      position = m->offset + 1;
      if (m->offset == want) {
        out.push_back(std::move(*m));
        break;
      }
      if (m->offset > want) break;  // compacted or never written: skip it
    }
  }
  consumer->close();
  return out;
}

Status LogReader::Scan(const std::string& topic, int32_t partition, int64_t from, int64_t to,
                       const std::function<bool(const LogMessage&)>& fn) const {
  if (from >= to) return absl::OkStatus();
  ASSIGN_OR_RETURN(auto consumer, NewConsumer(client_));
  RETURN_IF_ERROR(AssignAt(*consumer, topic, partition, from));
  // A long scan gets the timeout between two records, not for the whole range.
  SteadyDeadline deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout_);
  while (true) {
    ASSIGN_OR_RETURN(std::optional<LogMessage> m, Next(*consumer, deadline));
    if (!m || m->offset >= to || !fn(*m)) break;
    if (m->offset + 1 >= to) break;
    deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout_);
  }
  consumer->close();
  return absl::OkStatus();
}

StatusOr<int64_t> LogReader::OffsetAt(const std::string& topic, int32_t partition, absl::Time t) const {
  ASSIGN_OR_RETURN(auto consumer, NewConsumer(client_));
  std::vector<RdKafka::TopicPartition*> tp = {
      RdKafka::TopicPartition::create(topic, partition, absl::ToUnixMillis(t))};
  RdKafka::ErrorCode code =
      consumer->offsetsForTimes(tp, static_cast<int>(absl::ToInt64Milliseconds(timeout_)));
  int64_t offset = tp[0]->offset();
  RdKafka::TopicPartition::destroy(tp);
  consumer->close();
  if (code != RdKafka::ERR_NO_ERROR) return absl::UnavailableError(StrCat("kafka offsets for times: ", RdKafka::err2str(code)));
  if (offset < 0) {  // no record at or after t: the end
    int64_t low = 0, high = 0;
    ASSIGN_OR_RETURN(auto c2, NewConsumer(client_));
    code = c2->query_watermark_offsets(topic, partition, &low, &high, static_cast<int>(absl::ToInt64Milliseconds(timeout_)));
    c2->close();
    if (code != RdKafka::ERR_NO_ERROR) return absl::UnavailableError(StrCat("kafka watermarks: ", RdKafka::err2str(code)));
    return high;
  }
  return offset;
}

}  // namespace sales::kafka
