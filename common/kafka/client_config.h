// Settings shared by every Kafka client the platform creates, and the one place that turns them
// into librdkafka configuration objects.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "common/base/status.h"

namespace RdKafka {
class Conf;
class Event;
}

namespace sales::kafka {

struct ClientSettings {
  std::string bootstrap_servers;                // "host:port[,host:port...]"
  std::string client_id = "sales-platform";
  std::map<std::string, std::string> overrides;  // any librdkafka property, applied last
};

// A global librdkafka configuration with `properties` applied after the settings. Its event
// callback writes the client's log and error messages to the JSON log (LogKafkaEvent); a client
// that sets its own should pass log events to LogKafkaEvent.
// INVALID_ARGUMENT naming the property librdkafka rejected.
StatusOr<std::unique_ptr<RdKafka::Conf>> MakeConf(const ClientSettings& settings,
                                                  const std::map<std::string, std::string>& properties);

// The properties of a Kafka client properties file (--kafka-properties): `key=value` lines, `#`
// comments and blank lines, for a secured or managed cluster. Only connection and security
// properties are taken - security.protocol, sasl.*, ssl.*, socket.*, client.dns.lookup,
// client.rack, broker.address.family, connections.max.idle.ms, metadata.max.age.ms - and each is
// checked with librdkafka; any other key is refused (INVALID_ARGUMENT naming the line): the
// platform's delivery and offset settings (acks, idempotence, offsets in the store) are not
// changed from outside.
StatusOr<std::map<std::string, std::string>> LoadKafkaProperties(const std::string& path);

// Writes a librdkafka log or error event as a JSON log line (thread-safe; any other event: nothing).
void LogKafkaEvent(RdKafka::Event& event);

// The topic name for a logical topic under a prefix: Topic("t1.", "sales.leads") == "t1.sales.leads".
inline std::string Topic(const std::string& prefix, const std::string& name) { return prefix + name; }
inline std::string DeadLetterTopic(const std::string& topic) { return topic + ".dlq"; }

}  // namespace sales::kafka
