#include "tests/bench/kafka_bench.h"

#include <librdkafka/rdkafkacpp.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/time/clock.h"
#include "common/base/strings.h"
#include "common/kafka/admin.h"
#include "common/kafka/kafka_publisher.h"
#include "common/projection/stored_offset_consumer.h"

namespace sales::bench {

Status CreateEventTopics(const std::string& bootstrap, const std::string& topic, int partitions) {
  ASSIGN_OR_RETURN(auto admin, kafka::Admin::Create({bootstrap, "sales-bench-admin", {}}));
  for (const std::string& t : {topic, kafka::DeadLetterTopic(topic)}) {
    kafka::TopicSpec spec{t, partitions, 1};
    RETURN_IF_ERROR(admin->EnsureTopic(spec, absl::Seconds(30)));
  }
  return absl::OkStatus();
}

StatusOr<double> ProduceAll(const std::string& bootstrap, std::vector<std::vector<kafka::OutgoingMessage>> chunks) {
  kafka::PublisherOptions options;
  options.client = {bootstrap, "sales-bench-producer", {}};
  options.delivery_timeout = absl::Seconds(60);
  ASSIGN_OR_RETURN(auto publisher, kafka::KafkaPublisher::Create(options));
  // One message first, so that connecting and fetching metadata are not timed.
  {
    std::vector<kafka::OutgoingMessage> first;
    first.push_back(chunks.front().back());
    chunks.front().pop_back();
    RETURN_IF_ERROR(kafka::AllDelivered(publisher->Publish(std::move(first), absl::Seconds(60))).status());
  }
  int64_t total = 0;
  for (const auto& c : chunks) total += static_cast<int64_t>(c.size());

  std::atomic<size_t> next{0};
  std::mutex mu;
  Status failure = absl::OkStatus();
  const absl::Time start = absl::Now();
  auto worker = [&] {
    for (size_t i = next++; i < chunks.size(); i = next++) {
      Status s = kafka::AllDelivered(publisher->Publish(std::move(chunks[i]), absl::Seconds(120))).status();
      if (!s.ok()) {
        std::lock_guard lock(mu);
        failure.Update(s);
      }
    }
  };
  std::thread a(worker), b(worker);
  a.join();
  b.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  RETURN_IF_ERROR(failure);
  return static_cast<double>(total) / seconds;
}

StatusOr<int64_t> ProduceInOrder(const std::string& bootstrap,
                                 const std::function<std::optional<std::vector<kafka::OutgoingMessage>>()>& next) {
  kafka::PublisherOptions options;
  options.client = {bootstrap, "sales-bench-producer", {}};
  options.delivery_timeout = absl::Seconds(60);
  ASSIGN_OR_RETURN(auto publisher, kafka::KafkaPublisher::Create(options));
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::vector<kafka::OutgoingMessage>> queue;  // guarded by mu
  bool done = false;                                      // guarded by mu
  Status failure = absl::OkStatus();                      // guarded by mu
  int64_t written = 0;
  std::thread appender([&] {
    while (true) {
      std::vector<kafka::OutgoingMessage> chunk;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return done || !queue.empty(); });
        if (queue.empty()) return;
        chunk = std::move(queue.front());
        queue.pop_front();
      }
      cv.notify_all();
      const int64_t n = static_cast<int64_t>(chunk.size());
      Status s = kafka::AllDelivered(publisher->Publish(std::move(chunk), absl::Seconds(120))).status();
      {
        std::lock_guard lock(mu);
        if (s.ok()) {
          written += n;
        } else {
          failure.Update(s);
          done = true;
          queue.clear();
        }
      }
      cv.notify_all();  // the builder may be waiting for room or for the failure
      if (!s.ok()) return;
    }
  });
  while (true) {
    std::optional<std::vector<kafka::OutgoingMessage>> chunk = next();
    std::unique_lock lock(mu);
    if (!chunk || !failure.ok()) break;
    cv.wait(lock, [&] { return queue.size() < 2 || !failure.ok(); });
    if (!failure.ok()) break;
    queue.push_back(std::move(*chunk));
    lock.unlock();
    cv.notify_all();
  }
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_all();
  appender.join();
  RETURN_IF_ERROR(failure);
  return written;
}

StatusOr<double> ConsumeAll(const std::string& bootstrap, const std::string& topic, absl::Duration timeout) {
  const kafka::ClientSettings client{bootstrap, "sales-bench-consumer", {}};
  ASSIGN_OR_RETURN(auto admin, kafka::Admin::Create(client));
  ASSIGN_OR_RETURN(int partitions, admin->PartitionCount(topic, absl::Seconds(10)));
  std::map<int32_t, int64_t> ends;
  int64_t expected = 0;
  for (int32_t p = 0; p < partitions; ++p) {
    ASSIGN_OR_RETURN(kafka::Watermarks w, admin->QueryWatermarks(topic, p, absl::Seconds(10)));
    ends[p] = w.high;
    expected += w.high - w.low;
  }
  // The settings projections consume with (common/projection/stored_offset_consumer.cc), with a
  // group id of our own; offsets are never committed.
  ASSIGN_OR_RETURN(auto conf,
                   kafka::MakeConf(client, projection::StoredOffsetConsumer::DefaultProperties("bench-raw-consume")));
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!consumer) return absl::InternalError(StrCat("kafka consumer: ", err));

  const absl::Time start = absl::Now();
  std::vector<RdKafka::TopicPartition*> assignment;
  for (int32_t p = 0; p < partitions; ++p) {
    assignment.push_back(RdKafka::TopicPartition::create(topic, p, RdKafka::Topic::OFFSET_BEGINNING));
  }
  RdKafka::ErrorCode code = consumer->assign(assignment);
  RdKafka::TopicPartition::destroy(assignment);
  if (code != RdKafka::ERR_NO_ERROR) return absl::UnavailableError(StrCat("assign: ", RdKafka::err2str(code)));

  int64_t seen = 0;
  size_t bytes = 0;
  absl::Time last = start;
  const absl::Time deadline = start + timeout;
  while (seen < expected && absl::Now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
    if (m->err() != RdKafka::ERR_NO_ERROR || m->offset() >= ends[m->partition()]) continue;
    bytes += m->len() + m->key_len();
    ++seen;
  }
  last = absl::Now();
  consumer->close();
  if (seen < expected) {
    return absl::DeadlineExceededError(StrCat("consumed ", seen, " of ", expected, " records of ", topic));
  }
  if (bytes == 0) return absl::InternalError("consumed only empty records");
  return static_cast<double>(seen) / absl::ToDoubleSeconds(last - start);
}

}  // namespace sales::bench
