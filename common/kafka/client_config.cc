#include "common/kafka/client_config.h"

#include <librdkafka/rdkafkacpp.h>

#include "common/base/log.h"
#include "common/base/strings.h"

namespace sales::kafka {
namespace {

// Without an event callback, librdkafka writes its log and error messages to stderr in a format
// of its own ("%3|1700000000.000|FAIL|..."), which breaks a log of JSON lines.
class JsonLogEvents final : public RdKafka::EventCb {
 public:
  void event_cb(RdKafka::Event& event) override { LogKafkaEvent(event); }
};

}  // namespace

void LogKafkaEvent(RdKafka::Event& event) {
  switch (event.type()) {
    case RdKafka::Event::EVENT_LOG: {
      const int severity = event.severity();  // syslog(3): 0 emergency .. 7 debug
      const log::Level level = severity <= RdKafka::Event::EVENT_SEVERITY_ERROR     ? log::Level::kError
                               : severity == RdKafka::Event::EVENT_SEVERITY_WARNING ? log::Level::kWarn
                               : severity == RdKafka::Event::EVENT_SEVERITY_DEBUG   ? log::Level::kDebug
                                                                                     : log::Level::kInfo;
      log::Write(level, "kafka client", {{"facility", event.fac()}, {"detail", event.str()}});
      break;
    }
    case RdKafka::Event::EVENT_ERROR:
      log::Write(event.fatal() ? log::Level::kError : log::Level::kWarn, "kafka client error",
                 {{"error", RdKafka::err2str(event.err())}, {"detail", event.str()}});
      break;
    default:
      break;
  }
}

StatusOr<std::unique_ptr<RdKafka::Conf>> MakeConf(const ClientSettings& settings,
                                                  const std::map<std::string, std::string>& properties) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::map<std::string, std::string> all = {{"bootstrap.servers", settings.bootstrap_servers},
                                            {"client.id", settings.client_id}};
  for (const auto& [k, v] : properties) all[k] = v;
  for (const auto& [k, v] : settings.overrides) all[k] = v;
  for (const auto& [k, v] : all) {
    std::string err;
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      return InvalidField(StrCat("kafka property ", k), err);
    }
  }
  static auto* const events = new JsonLogEvents();  // shared by every client, never destroyed
  if (std::string err; conf->set("event_cb", static_cast<RdKafka::EventCb*>(events), err) != RdKafka::Conf::CONF_OK) {
    return absl::InternalError(StrCat("kafka event_cb: ", err));
  }
  return conf;
}

}  // namespace sales::kafka
