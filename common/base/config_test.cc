#include "common/base/config.h"

#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sales {
namespace {

using ::testing::HasSubstr;

struct Settings {
  std::string bootstrap;
  int64_t port = 0;
  bool verbose = false;
};

Config Declare(Settings& s) {
  Config c("svc");
  c.AddString("kafka-bootstrap", "SALES_KAFKA_BOOTSTRAP", "", "Kafka bootstrap servers", &s.bootstrap, true);
  c.AddInt("grpc-port", "SALES_GRPC_PORT", 50051, 0, 65535, "gRPC port", &s.port);
  c.AddBool("verbose", "", false, "more logs", &s.verbose);
  return c;
}

Config::EnvLookup Env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

Status ParseArgs(Config& c, std::vector<const char*> args, const Config::EnvLookup& env) {
  args.insert(args.begin(), "svc");
  return c.Parse(static_cast<int>(args.size()), args.data(), env);
}

TEST(Config, FlagWinsOverEnvironmentWinsOverDefault) {
  Settings s;
  Config c = Declare(s);
  ASSERT_TRUE(ParseArgs(c, {"--kafka-bootstrap=a:1", "--verbose"},
                        Env({{"SALES_KAFKA_BOOTSTRAP", "b:2"}, {"SALES_GRPC_PORT", "7000"}}))
                  .ok());
  EXPECT_EQ(s.bootstrap, "a:1");
  EXPECT_EQ(s.port, 7000);
  EXPECT_TRUE(s.verbose);
}

TEST(Config, SeparateValueForm) {
  Settings s;
  Config c = Declare(s);
  ASSERT_TRUE(ParseArgs(c, {"--kafka-bootstrap", "a:1", "--grpc-port", "0"}, Env({})).ok());
  EXPECT_EQ(s.bootstrap, "a:1");
  EXPECT_EQ(s.port, 0);
}

TEST(Config, ReportsEveryProblemAtOnce) {
  Settings s;
  Config c = Declare(s);
  Status st = ParseArgs(c, {"--grpc-port=99999", "--bogus=1"}, Env({{"SALES_KAFKA_BOOTSTRAP", ""}}));
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(st.message(), HasSubstr("--grpc-port: 99999 is outside [0, 65535]"));
  EXPECT_THAT(st.message(), HasSubstr("unknown flag --bogus"));
  EXPECT_THAT(st.message(), HasSubstr("SALES_KAFKA_BOOTSTRAP: must not be empty"));
}

TEST(Config, MissingRequiredAndBadInteger) {
  Settings s;
  Config c = Declare(s);
  Status st = ParseArgs(c, {"--grpc-port=abc"}, Env({}));
  EXPECT_THAT(st.message(), HasSubstr("--kafka-bootstrap (or SALES_KAFKA_BOOTSTRAP) is required"));
  EXPECT_THAT(st.message(), HasSubstr("\"abc\" is not an integer"));
}

TEST(Config, RequiredWithADefaultNeedNotBeGivenButCannotBeEmptied) {
  std::string dir;
  Config c("svc");
  c.AddString("data-dir", "SALES_DATA_DIR", "./data", "store folder", &dir, true);
  std::vector<const char*> none = {"svc"};
  ASSERT_TRUE(c.Parse(1, none.data(), Env({})).ok());
  EXPECT_EQ(dir, "./data");
  std::vector<const char*> empty = {"svc", "--data-dir="};
  EXPECT_THAT(c.Parse(2, empty.data(), Env({})).message(), HasSubstr("--data-dir: must not be empty"));
}

TEST(Config, HelpSkipsValidation) {
  Settings s;
  Config c = Declare(s);
  ASSERT_TRUE(ParseArgs(c, {"--help"}, Env({})).ok());
  EXPECT_TRUE(c.help_requested());
  EXPECT_THAT(c.Usage(), HasSubstr("--kafka-bootstrap  [SALES_KAFKA_BOOTSTRAP]"));
}

}  // namespace
}  // namespace sales
