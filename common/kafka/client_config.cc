#include "common/kafka/client_config.h"

#include <librdkafka/rdkafkacpp.h>

#include "common/base/strings.h"

namespace sales::kafka {

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
  return conf;
}

}  // namespace sales::kafka
