#include "common/kafka/client_config.h"

#include <fstream>

#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sales::kafka {
namespace {

using ::testing::HasSubstr;

std::string Write(const testing::TempDir& dir, const std::string& text) {
  const std::string path = dir.File("client.properties");
  std::ofstream(path) << text;
  return path;
}

TEST(KafkaProperties, ConnectionAndSecurityPropertiesOfAManagedClusterAreTaken) {
  testing::TempDir dir;
  auto p = LoadKafkaProperties(Write(dir,
                                     "# a managed cluster\n"
                                     "security.protocol = SASL_SSL\n"
                                     "\n"
                                     "sasl.mechanisms=PLAIN\n"
                                     "sasl.username=svc-leads\n"
                                     "sasl.password=s3cr=t\n"
                                     "ssl.endpoint.identification.algorithm=https\n"));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->size(), 5u);
  EXPECT_EQ(p->at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(p->at("sasl.password"), "s3cr=t") << "the first '=' splits";
}

TEST(KafkaProperties, DeliveryAndOffsetSettingsUnknownValuesAndMalformedLinesAreRefused) {
  testing::TempDir dir;
  for (const auto& [text, expected] : std::vector<std::pair<std::string, std::string>>{
           {"enable.auto.commit=true\n", ":1: enable.auto.commit is not a connection or security property"},
           {"security.protocol=SASL_SSL\nacks=1\n", ":2: acks is not"},
           {"security.protocol\n", ":1: not key=value"},
           {"security.protocol=carrier-pigeon\n", "security.protocol"},
           {"ssl.no.such.thing=1\n", "ssl.no.such.thing"}}) {
    auto p = LoadKafkaProperties(Write(dir, text));
    ASSERT_FALSE(p.ok()) << text;
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(p.status().message()), HasSubstr(expected)) << text;
  }
  EXPECT_FALSE(LoadKafkaProperties(dir.File("missing.properties")).ok());
}

}  // namespace
}  // namespace sales::kafka
