#include "common/kafka/kafka_publisher.h"

#include <algorithm>
#include <chrono>
#include <librdkafka/rdkafkacpp.h>

#include <condition_variable>

#include "common/base/strings.h"
#include "absl/time/clock.h"
#include "common/base/log.h"

namespace sales::kafka {
namespace {

// One Send() call: delivery reports fill it, callers wait on it.
class Pending final : public Delivery {
 public:
  explicit Pending(size_t n) : remaining_(n), results_(n, absl::UnavailableError(kNotAcknowledgedYet)) {}

  void Complete(size_t index, StatusOr<Position> result) {
    std::vector<std::function<void()>> done;
    {
      std::lock_guard lock(mu_);
      results_[index] = std::move(result);
      if (--remaining_ > 0) return;
      cv_.notify_all();
      done.swap(on_done_);
    }
    for (auto& fn : done) fn();
  }
  void OnDone(std::function<void()> done) override {
    {
      std::lock_guard lock(mu_);
      if (remaining_ > 0) {
        on_done_.push_back(std::move(done));
        return;
      }
    }
    done();
  }
  bool Wait(absl::Duration timeout) override {
    // On the steady clock: a wall-clock step must not cut or stretch a wait.
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] { return remaining_ == 0; });
  }
  std::vector<StatusOr<Position>> Results() const override {
    std::lock_guard lock(mu_);
    return results_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  size_t remaining_;
  std::vector<StatusOr<Position>> results_;
  std::vector<std::function<void()>> on_done_;
};

// The opaque attached to each produced message; owned by librdkafka until its delivery report.
struct Slot {
  std::shared_ptr<Pending> pending;
  size_t index;
};

Status ErrorFor(RdKafka::ErrorCode err, const std::string& topic) {
  const std::string what = StrCat("kafka: appending to ", topic, " failed: ", RdKafka::err2str(err));
  switch (err) {
    case RdKafka::ERR_MSG_SIZE_TOO_LARGE:
      return absl::InvalidArgumentError(what);
    case RdKafka::ERR__MSG_TIMED_OUT:
      return absl::UnavailableError(StrCat(what, " (no acknowledgement in time; broker unreachable?)"));
    case RdKafka::ERR__UNKNOWN_TOPIC:
    case RdKafka::ERR_UNKNOWN_TOPIC_OR_PART:
      // An infrastructure problem (topic deleted, metadata not propagated yet), not a lifecycle
      // refusal: callers treat it like any other unavailability and retry.
      return absl::UnavailableError(StrCat(what, " (topic does not exist)"));
    default:
      return absl::UnavailableError(what);
  }
}

}  // namespace

class KafkaPublisher::DeliveryReports final : public RdKafka::DeliveryReportCb, public RdKafka::EventCb {
 public:
  // `fatal` is set to `generation` when this producer hits a fatal error; a newer producer has
  // another generation, so a late error from an old one cannot mark the new one broken.
  DeliveryReports(std::atomic<int64_t>* fatal, int64_t generation) : fatal_(fatal), generation_(generation) {}

  void dr_cb(RdKafka::Message& message) override {
    std::unique_ptr<Slot> slot(static_cast<Slot*>(message.msg_opaque()));
    if (!slot) return;
    if (message.err() == RdKafka::ERR_NO_ERROR) {
      slot->pending->Complete(slot->index, Position{message.topic_name(), message.partition(), message.offset()});
    } else {
      slot->pending->Complete(slot->index, ErrorFor(message.err(), message.topic_name()));
    }
  }

  void event_cb(RdKafka::Event& event) override {
    if (event.type() == RdKafka::Event::EVENT_LOG) LogKafkaEvent(event);
    if (event.type() != RdKafka::Event::EVENT_ERROR) return;
    if (event.fatal()) {
      fatal_->store(generation_);
      log::Error("kafka producer fatal error; it will be recreated", {{"error", event.str()}});
    } else if (event.err() != RdKafka::ERR__TRANSPORT && event.err() != RdKafka::ERR__ALL_BROKERS_DOWN) {
      log::Warn("kafka producer error", {{"error", event.str()}});
    }
  }

 private:
  std::atomic<int64_t>* fatal_;
  int64_t generation_;
};

StatusOr<std::vector<Position>> AllDelivered(std::vector<StatusOr<Position>> results) {
  std::vector<Position> out;
  out.reserve(results.size());
  for (auto& r : results) {
    if (!r.ok()) return r.status();
    out.push_back(std::move(*r));
  }
  return out;
}

std::vector<StatusOr<Position>> AwaitDelivery(Delivery& delivery, absl::Duration timeout) {
  return AwaitDelivery(delivery, absl::Now() + timeout, timeout);
}

std::vector<StatusOr<Position>> AwaitDelivery(Delivery& delivery, absl::Time deadline, absl::Duration timeout) {
  if (delivery.Wait(std::max(absl::ZeroDuration(), deadline - absl::Now()))) return delivery.Results();
  std::vector<StatusOr<Position>> results = delivery.Results();
  for (auto& r : results) {
    if (!r.ok() && r.status().message() == kNotAcknowledgedYet) {
      r = absl::UnavailableError(StrCat("kafka: no acknowledgement within ", absl::FormatDuration(timeout),
                                        "; the message may still be written, retry with the same "
                                        "idempotency key"));
    }
  }
  return results;
}

std::vector<StatusOr<Position>> EventPublisher::Publish(std::vector<OutgoingMessage> messages,
                                                        absl::Duration timeout) {
  return AwaitDelivery(*Send(std::move(messages), timeout), timeout);
}

KafkaPublisher::KafkaPublisher(const PublisherOptions& options)
    : options_(options) {}

StatusOr<std::unique_ptr<KafkaPublisher>> KafkaPublisher::Create(const PublisherOptions& options) {
  std::unique_ptr<KafkaPublisher> p(new KafkaPublisher(options));
  RETURN_IF_ERROR(p->Connect());
  p->poller_ = std::thread([raw = p.get()] {
    // Serves delivery reports and error events for whichever producer is current, and replaces
    // a producer that hit a fatal error at once (not only at the next append: a service that is
    // unhealthy gets no traffic, so it must heal by itself).
    while (!raw->stopping_) {
      raw->Current()->poll(50);
      if (raw->fatal_generation_ == raw->generation_) {
        std::lock_guard reconnect(raw->reconnect_mu_);
        if (raw->fatal_generation_ == raw->generation_ && !raw->Connect().ok()) {
          std::this_thread::sleep_for(std::chrono::seconds(1));
        }
      }
    }
  });
  return p;
}

Status KafkaPublisher::Connect() {
  ASSIGN_OR_RETURN(auto conf,
                   MakeConf(options_.client,
                            {{"enable.idempotence", "true"},
                             {"acks", "all"},
                             {"linger.ms", StrCat(options_.linger_ms)},
                             // 0: never give a message up (librdkafka's "infinite").
                             {"message.timeout.ms", options_.delivery_timeout == absl::InfiniteDuration()
                                                        ? std::string("0")
                                                        : StrCat(absl::ToInt64Milliseconds(options_.delivery_timeout))},
                             {"compression.type", "lz4"},
                             {"reconnect.backoff.ms", "50"},
                             {"reconnect.backoff.max.ms", "1000"}}));
  std::string err;
  auto reports = std::make_unique<DeliveryReports>(&fatal_generation_, generation_ + 1);
  if (conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(reports.get()), err) != RdKafka::Conf::CONF_OK ||
      conf->set("event_cb", static_cast<RdKafka::EventCb*>(reports.get()), err) != RdKafka::Conf::CONF_OK) {
    return absl::InternalError(StrCat("kafka producer callbacks: ", err));
  }
  std::shared_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), err));
  if (!producer) return absl::InvalidArgumentError(StrCat("kafka producer: ", err));
  std::shared_ptr<RdKafka::Producer> old;
  {
    std::lock_guard lock(mu_);
    old = std::exchange(producer_, std::move(producer));
    ++generation_;
    reports_.push_back(std::move(reports));  // callbacks of old producers stay valid until we go
  }
  if (old) {
    // Fail whatever the broken producer still holds so its callers get an answer now.
    old->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
    old->poll(0);
  }
  return absl::OkStatus();
}

std::shared_ptr<RdKafka::Producer> KafkaPublisher::Current() {
  std::lock_guard lock(mu_);
  return producer_;
}

KafkaPublisher::~KafkaPublisher() {
  const absl::Duration flush = std::min(options_.delivery_timeout, absl::Seconds(5));
  if (auto p = Current()) p->flush(static_cast<int>(absl::ToInt64Milliseconds(flush)));
  stopping_ = true;
  if (poller_.joinable()) poller_.join();
  if (auto p = Current()) {
    // What is still unacknowledged fails now (its callers learn it), rather than with the producer.
    p->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
    p->poll(0);
  }
}

std::shared_ptr<Delivery> KafkaPublisher::Send(std::vector<OutgoingMessage> messages, absl::Duration timeout) {
  if (fatal_generation_ == generation_) {
    // One caller recreates the producer; the others wait for it and find it healthy.
    std::lock_guard reconnect(reconnect_mu_);
    if (fatal_generation_ == generation_) {
      if (Status s = Connect(); !s.ok()) {
        return std::make_shared<KnownDelivery>(std::vector<StatusOr<Position>>(messages.size(), s));
      }
    }
  }
  auto pending = std::make_shared<Pending>(messages.size());
  const auto deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout);
  auto producer = Current();
  for (size_t i = 0; i < messages.size(); ++i) {
    OutgoingMessage& m = messages[i];
    RdKafka::Headers* headers = RdKafka::Headers::create();
    for (const auto& [k, v] : m.headers) headers->add(k, v.data(), v.size());
    auto* slot = new Slot{pending, i};
    RdKafka::ErrorCode err;
    while (true) {
      err = producer->produce(m.topic, RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
                              m.value.data(), m.value.size(), m.key.data(), m.key.size(), 0, headers, slot);
      if (err != RdKafka::ERR__QUEUE_FULL || std::chrono::steady_clock::now() >= deadline) break;
      producer->poll(5);  // local queue full: let deliveries drain, within the caller's deadline
    }
    if (err != RdKafka::ERR_NO_ERROR) {
      delete headers;  // produce() takes ownership only on success
      delete slot;
      pending->Complete(i, ErrorFor(err, m.topic));
    }
  }
  return pending;
}

Status KafkaPublisher::Health() const {
  if (fatal_generation_ == generation_) {
    return absl::UnavailableError("kafka producer hit a fatal error; it is recreated at the next append");
  }
  return absl::OkStatus();
}

}  // namespace sales::kafka
