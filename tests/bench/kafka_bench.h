// The raw Kafka figures: how fast the broker on this machine takes and gives back lead events
// through librdkafka with the platform's own settings, with no service in the way. They are the
// ceilings the service figures are compared with (rebuild_vs_raw_consume).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/base/status.h"
#include "common/kafka/publisher.h"

namespace sales::bench {

// Creates `topic` and its dead-letter topic as lead acquisition does (kafka::Admin::EnsureTopic,
// `partitions` partitions, retention.ms=-1).
Status CreateLeadTopics(const std::string& bootstrap, const std::string& topic, int partitions);

// Appends every message with the platform's publisher (kafka::KafkaPublisher: idempotent,
// acks=all, lz4, linger 2 ms, as the services use it) from two threads, so that the producer
// queue never runs dry between Publish() calls. Returns acknowledged records per second.
StatusOr<double> ProduceAll(const std::string& bootstrap, std::vector<std::vector<kafka::OutgoingMessage>> chunks);

// Reads `topic` from the beginning to the end it has now, every partition assigned, with the
// consumer settings of the projection runner (common/projection/runner.cc); only counts the
// records and their bytes. Returns records per second (first assign to last record).
StatusOr<double> ConsumeAll(const std::string& bootstrap, const std::string& topic,
                            absl::Duration timeout = absl::Minutes(5));

}  // namespace sales::bench
