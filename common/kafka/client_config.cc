#include "common/kafka/client_config.h"

#include <librdkafka/rdkafkacpp.h>

#include <fstream>


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

StatusOr<std::map<std::string, std::string>> LoadKafkaProperties(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidField("kafka-properties", StrCat("cannot read ", path));
  static const char* const kTaken[] = {"security.protocol", "sasl.", "ssl.", "ssl_", "socket.", "client.dns.lookup",
                                       "client.rack", "broker.address.family", "connections.max.idle.ms",
                                       "metadata.max.age.ms"};
  const auto trim = [](const std::string& t) {
    const size_t first = t.find_first_not_of(" \t\r");
    return first == std::string::npos ? std::string() : t.substr(first, t.find_last_not_of(" \t\r") - first + 1);
  };
  std::map<std::string, std::string> out;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string text = trim(line);
    if (text.empty() || text.front() == '#') continue;
    const size_t eq = text.find('=');
    const std::string where = StrCat(path, ":", number);
    if (eq == std::string::npos || eq == 0) {
      return InvalidField("kafka-properties", StrCat(where, ": not key=value"));
    }
    const std::string key = trim(text.substr(0, eq));
    const std::string value = trim(text.substr(eq + 1));
    bool taken = false;
    for (const char* prefix : kTaken) taken = taken || key.rfind(prefix, 0) == 0;
    if (!taken) {
      return InvalidField("kafka-properties",
                          StrCat(where, ": ", key,
                                 " is not a connection or security property; the platform sets the others itself"));
    }
    out[key] = value;
  }
  // librdkafka checks every name and value now, not when the first client is made.
  if (auto conf = MakeConf({"127.0.0.1:9092", "check", out}, {}); !conf.ok()) {
    return InvalidField("kafka-properties", StrCat(path, ": ", conf.status().message()));
  }
  return out;
}

}  // namespace sales::kafka
