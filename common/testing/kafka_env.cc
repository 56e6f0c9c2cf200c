#include "common/testing/kafka_env.h"

#include <librdkafka/rdkafkacpp.h>
#include <unistd.h>

#include <cstdlib>
#include <random>

#include "common/base/strings.h"
#include "absl/time/clock.h"
#include "common/kafka/admin.h"
#include "common/kafka/kafka_publisher.h"

namespace sales::testing {

std::string TestBootstrap() {
  const char* v = std::getenv("SALES_TEST_KAFKA_BOOTSTRAP");
  return v && *v ? v : "127.0.0.1:19092";
}

std::string UniquePrefix() {
  std::random_device rd;
  return StrCat("t", getpid(), "-", rd() % 1000000, ".");
}

namespace {

Status RunScript(const char* action) {
  const char* script = std::getenv("SALES_KAFKA_SCRIPT");
  if (!script) return absl::FailedPreconditionError("SALES_KAFKA_SCRIPT is not set (run the tests through ctest)");
  const std::string cmd = StrCat(script, " ", action, " >/dev/null 2>&1");
  if (std::system(cmd.c_str()) != 0) return absl::InternalError(StrCat(cmd, " failed"));
  return absl::OkStatus();
}

}  // namespace

Status StopBroker() { return RunScript("stop"); }
Status StartBroker() { return RunScript("start"); }

std::string ConsumedMessage::Header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return "";
}

StatusOr<std::vector<ConsumedMessage>> ReadTopic(const std::string& topic, absl::Duration timeout) {
  const kafka::ClientSettings client{TestBootstrap(), "sales-test-reader", {}};
  ASSIGN_OR_RETURN(auto admin, kafka::Admin::Create(client));
  ASSIGN_OR_RETURN(int partitions, admin->PartitionCount(topic, timeout));
  ASSIGN_OR_RETURN(auto conf, kafka::MakeConf(client, {{"group.id", "sales-test-reader"},
                                                        {"enable.auto.commit", "false"},
                                                        {"enable.partition.eof", "false"}}));
  std::string err;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!consumer) return absl::InternalError(err);
  std::vector<RdKafka::TopicPartition*> assignment;
  std::map<int32_t, int64_t> ends;
  size_t expected = 0;
  for (int32_t p = 0; p < partitions; ++p) {
    ASSIGN_OR_RETURN(kafka::Watermarks w, admin->QueryWatermarks(topic, p, timeout));
    ends[p] = w.high;
    expected += static_cast<size_t>(w.high - w.low);
    assignment.push_back(RdKafka::TopicPartition::create(topic, p, RdKafka::Topic::OFFSET_BEGINNING));
  }
  consumer->assign(assignment);
  RdKafka::TopicPartition::destroy(assignment);
  std::vector<ConsumedMessage> out;
  const absl::Time deadline = absl::Now() + timeout;
  while (out.size() < expected && absl::Now() < deadline) {
    std::unique_ptr<RdKafka::Message> m(consumer->consume(100));
    if (m->err() != RdKafka::ERR_NO_ERROR) continue;
    if (m->offset() >= ends[m->partition()]) continue;
    ConsumedMessage c{m->topic_name(), m->partition(), m->offset(), m->key() ? *m->key() : "",
                      std::string(static_cast<const char*>(m->payload()), m->len()), {}};
    if (const RdKafka::Headers* h = m->headers()) {
      for (const auto& header : h->get_all()) {
        c.headers.emplace_back(header.key(), std::string(static_cast<const char*>(header.value()), header.value_size()));
      }
    }
    out.push_back(std::move(c));
  }
  consumer->close();
  if (out.size() < expected) {
    return absl::DeadlineExceededError(StrCat("read ", out.size(), " of ", expected, " messages of ", topic));
  }
  return out;
}

RawProducer::RawProducer() {
  kafka::PublisherOptions options;
  options.client = {TestBootstrap(), "sales-test-producer", {}};
  options.delivery_timeout = absl::Seconds(30);
  publisher_ = std::move(kafka::KafkaPublisher::Create(options).value());
}

RawProducer::~RawProducer() = default;

StatusOr<kafka::Position> RawProducer::Send(const std::string& topic, const std::string& key, const std::string& value,
                                            std::vector<std::pair<std::string, std::string>> headers) {
  std::vector<kafka::OutgoingMessage> one;
  one.push_back({topic, key, value, std::move(headers)});
  return std::move(publisher_->Publish(std::move(one), absl::Seconds(30)).front());
}

Status RawProducer::SendAll(const std::vector<kafka::OutgoingMessage>& messages) {
  return kafka::AllDelivered(publisher_->Publish(messages, absl::Seconds(60))).status();
}

bool WaitUntil(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (condition()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
}

}  // namespace sales::testing
