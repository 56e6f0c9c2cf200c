#include "common/kafka/admin.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafkacpp.h>

#include "absl/time/clock.h"
#include "common/base/strings.h"

namespace sales::kafka {
namespace {

int Millis(absl::Duration d) { return static_cast<int>(absl::ToInt64Milliseconds(d)); }

}  // namespace

Admin::Admin(std::unique_ptr<RdKafka::Producer> handle) : handle_(std::move(handle)) {}
Admin::~Admin() = default;

StatusOr<std::unique_ptr<Admin>> Admin::Create(const ClientSettings& settings) {
  ASSIGN_OR_RETURN(auto conf, MakeConf(settings, {{"reconnect.backoff.max.ms", "1000"}}));
  std::string err;
  std::unique_ptr<RdKafka::Producer> handle(RdKafka::Producer::create(conf.get(), err));
  if (!handle) return absl::InvalidArgumentError(StrCat("kafka admin client: ", err));
  return std::unique_ptr<Admin>(new Admin(std::move(handle)));
}

Status Admin::EnsureTopic(const TopicSpec& spec, absl::Duration timeout) {
  rd_kafka_t* rk = handle_->c_ptr();
  char errstr[512];
  rd_kafka_NewTopic_t* topic =
      rd_kafka_NewTopic_new(spec.name.c_str(), spec.partitions, spec.replication_factor, errstr, sizeof errstr);
  if (!topic) return absl::InvalidArgumentError(StrCat("topic ", spec.name, ": ", errstr));
  for (const auto& [k, v] : spec.configs) rd_kafka_NewTopic_set_config(topic, k.c_str(), v.c_str());

  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(options, Millis(timeout), errstr, sizeof errstr);
  rd_kafka_AdminOptions_set_operation_timeout(options, Millis(timeout), errstr, sizeof errstr);
  rd_kafka_CreateTopics(rk, &topic, 1, options, queue);

  Status result = absl::OkStatus();
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, Millis(timeout) + 2000);
  if (!event) {
    result = absl::UnavailableError(StrCat("kafka: creating topic ", spec.name, " got no answer"));
  } else if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    result = absl::UnavailableError(StrCat("kafka: creating topic ", spec.name, ": ",
                                                 rd_kafka_event_error_string(event)));
  } else {
    size_t n = 0;
    const rd_kafka_topic_result_t** topics =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &n);
    for (size_t i = 0; i < n; ++i) {
      rd_kafka_resp_err_t err = rd_kafka_topic_result_error(topics[i]);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) continue;
      const char* msg = rd_kafka_topic_result_error_string(topics[i]);
      std::string text = StrCat("kafka: creating topic ", spec.name, ": ", rd_kafka_err2str(err),
                                      msg ? StrCat(" (", msg, ")") : "");
      result = (err == RD_KAFKA_RESP_ERR_INVALID_CONFIG || err == RD_KAFKA_RESP_ERR_INVALID_PARTITIONS ||
                err == RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR)
                   ? absl::InvalidArgumentError(text)
                   : absl::UnavailableError(text);
    }
  }
  if (event) rd_kafka_event_destroy(event);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(topic);
  return result;
}

StatusOr<int> Admin::PartitionCount(const std::string& topic, absl::Duration timeout) {
  std::string err;
  std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(handle_.get(), topic, nullptr, err));
  if (!t) return absl::InvalidArgumentError(StrCat("topic ", topic, ": ", err));
  RdKafka::Metadata* raw = nullptr;
  RdKafka::ErrorCode code = handle_->metadata(false, t.get(), &raw, Millis(timeout));
  std::unique_ptr<RdKafka::Metadata> metadata(raw);
  if (code != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(StrCat("kafka: metadata for ", topic, ": ", RdKafka::err2str(code)));
  }
  for (const auto* tm : *metadata->topics()) {
    if (tm->topic() != topic) continue;
    if (tm->err() == RdKafka::ERR_UNKNOWN_TOPIC_OR_PART || tm->partitions()->empty()) {
      return absl::NotFoundError(StrCat("kafka: topic ", topic, " does not exist"));
    }
    if (tm->err() != RdKafka::ERR_NO_ERROR) {
      return absl::UnavailableError(StrCat("kafka: metadata for ", topic, ": ", RdKafka::err2str(tm->err())));
    }
    return static_cast<int>(tm->partitions()->size());
  }
  return absl::NotFoundError(StrCat("kafka: topic ", topic, " does not exist"));
}

StatusOr<std::map<std::string, std::string>> Admin::TopicConfig(const std::string& topic, absl::Duration timeout) {
  rd_kafka_t* rk = handle_->c_ptr();
  char errstr[512];
  rd_kafka_ConfigResource_t* resource = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str());
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_AdminOptions_t* options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
  rd_kafka_AdminOptions_set_request_timeout(options, Millis(timeout), errstr, sizeof errstr);
  rd_kafka_DescribeConfigs(rk, &resource, 1, options, queue);

  StatusOr<std::map<std::string, std::string>> result = std::map<std::string, std::string>();
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, Millis(timeout) + 2000);
  if (!event) {
    result = absl::UnavailableError(StrCat("kafka: describing topic ", topic, " got no answer"));
  } else if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    result = absl::UnavailableError(StrCat("kafka: describing topic ", topic, ": ", rd_kafka_event_error_string(event)));
  } else {
    size_t n = 0;
    const rd_kafka_ConfigResource_t** resources =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(event), &n);
    for (size_t i = 0; i < n; ++i) {
      const rd_kafka_resp_err_t err = rd_kafka_ConfigResource_error(resources[i]);
      if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        result = absl::NotFoundError(StrCat("kafka: topic ", topic, " does not exist"));
        break;
      }
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        result = absl::UnavailableError(StrCat("kafka: describing topic ", topic, ": ", rd_kafka_err2str(err)));
        break;
      }
      size_t count = 0;
      const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(resources[i], &count);
      for (size_t k = 0; k < count; ++k) {
        const char* value = rd_kafka_ConfigEntry_value(entries[k]);
        (*result)[rd_kafka_ConfigEntry_name(entries[k])] = value ? value : "";
      }
    }
  }
  if (event) rd_kafka_event_destroy(event);
  rd_kafka_AdminOptions_destroy(options);
  rd_kafka_queue_destroy(queue);
  rd_kafka_ConfigResource_destroy(resource);
  return result;
}

Status Admin::EnsureTopicAsSpecified(const TopicSpec& spec, absl::Duration timeout) {
  RETURN_IF_ERROR(EnsureTopic(spec, timeout));
  // A topic just created takes a moment to appear in the metadata.
  StatusOr<int> count = PartitionCount(spec.name, timeout);
  for (int i = 0; i < 50 && count.status().code() == absl::StatusCode::kNotFound; ++i) {
    absl::SleepFor(absl::Milliseconds(50));
    count = PartitionCount(spec.name, timeout);
  }
  ASSIGN_OR_RETURN(int partitions, count);
  if (partitions != spec.partitions) {
    return absl::InvalidArgumentError(StrCat("topic ", spec.name, " has ", partitions, " partitions, not the ",
                                             spec.partitions, " configured (--partitions); keys would map to other "
                                             "partitions: use the topic's count or another --topic-prefix"));
  }
  ASSIGN_OR_RETURN(auto configs, TopicConfig(spec.name, timeout));
  for (const auto& [key, want] : spec.configs) {
    auto it = configs.find(key);
    if (it == configs.end() || it->second != want) {
      return absl::InvalidArgumentError(StrCat("topic ", spec.name, " has ", key, "=",
                                               it == configs.end() ? "(unset)" : it->second, ", not ", want,
                                               ": fix it with kafka-configs.sh --alter before starting"));
    }
  }
  return absl::OkStatus();
}

StatusOr<Watermarks> Admin::QueryWatermarks(const std::string& topic, int32_t partition, absl::Duration timeout) {
  Watermarks w;
  RdKafka::ErrorCode code = handle_->query_watermark_offsets(topic, partition, &w.low, &w.high, Millis(timeout));
  if (code != RdKafka::ERR_NO_ERROR) {
    return absl::UnavailableError(
        StrCat("kafka: watermarks of ", topic, "/", partition, ": ", RdKafka::err2str(code)));
  }
  return w;
}

}  // namespace sales::kafka
