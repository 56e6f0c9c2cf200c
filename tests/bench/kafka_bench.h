// The raw Kafka figures: how fast the broker on this machine takes and gives back lead events
// through librdkafka with the platform's own settings, with no service in the way. They are the
// ceilings the service figures are compared with (rebuild_vs_raw_consume).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/base/status.h"
#include "common/kafka/publisher.h"

namespace sales::bench {

// Creates the event topic `topic` and its dead-letter topic as the services do
// (kafka::Admin::EnsureTopic, `partitions` partitions, retention.ms=-1).
Status CreateEventTopics(const std::string& bootstrap, const std::string& topic, int partitions);

// Appends every message with the platform's publisher (kafka::KafkaPublisher: idempotent,
// acks=all, lz4, linger 2 ms, as the services use it) from two threads, so that the producer
// queue never runs dry between Publish() calls. Returns acknowledged records per second.
// Order: the last message of the first chunk is appended first, alone and not timed (connecting
// and fetching metadata are not measured); then the chunks, each in order, two at a time. Events
// that must stay in order go into one chunk, and that first message must not depend on another.
StatusOr<double> ProduceAll(const std::string& bootstrap, std::vector<std::vector<kafka::OutgoingMessage>> chunks);

// Writes test data that is built while it is written: `next` is called on this thread for the
// next chunk of messages (nullopt: no more) while a second thread appends the chunks before it, in
// order, one Publish() at a time (at most two chunks waiting), with the publisher ProduceAll uses.
// Every message lands in the order `next` gave it, so events of one key may span chunks. Not a
// measurement: returns the messages written.
StatusOr<int64_t> ProduceInOrder(const std::string& bootstrap,
                                 const std::function<std::optional<std::vector<kafka::OutgoingMessage>>()>& next);

// Reads `topic` from the beginning to the end it has now, every partition assigned, with the
// consumer settings of the projection runner (common/projection/runner.cc); only counts the
// records and their bytes. Returns records per second (first assign to last record).
StatusOr<double> ConsumeAll(const std::string& bootstrap, const std::string& topic,
                            absl::Duration timeout = absl::Minutes(5));

}  // namespace sales::bench
