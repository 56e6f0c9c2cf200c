// Who may call what, through the real services: the four executables started with bearer tokens
// checked (--auth-jwt-key), on the real broker. Every method of every API, and Admin on each
// service, is called without a token, with an expired one, with a forged one, with one of the
// wrong roles and with one of each role it allows: UNAUTHENTICATED three times, PERMISSION_DENIED,
// then an answer from the method itself. The methods come from the API descriptors, so a method
// added later is covered without touching this test. Also: the actor events record is the token's subject
// whatever x-actor says, salesctl sends its token, and a service refuses to listen beyond
// loopback without tokens unless told. The HTTP port's routes with data need tokens too.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <httplib.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/time/clock.h"
#include "common/auth/tokens.h"
#include "common/base/strings.h"
#include "common/events/envelope.h"
#include "common/testing/kafka_env.h"
#include "common/testing/service_process.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "sales/api/v1/admin.grpc.pb.h"
#include "sales/api/v1/client_support.grpc.pb.h"
#include "sales/api/v1/first_offers.grpc.pb.h"
#include "sales/api/v1/lead_acquisition.grpc.pb.h"
#include "sales/api/v1/reporting.grpc.pb.h"

namespace sales {
namespace {

using ::testing::HasSubstr;
const std::string kSecret = "access-integration-test-secret-of-48-bytes-long!";

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// One call of any method with an empty request message (a valid encoding of every message) and
// the token, if any, as "authorization: Bearer"; the status it ends with. Works for unary and
// streaming methods alike.
::grpc::Status CallWithEmptyRequest(const std::shared_ptr<::grpc::Channel>& channel, const std::string& method,
                                    const std::string& token,
                                    const std::map<std::string, std::string>& metadata = {}) {
  ::grpc::GenericStub stub(channel);
  ::grpc::CompletionQueue cq;
  ::grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(15)));
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  for (const auto& [k, v] : metadata) ctx.AddMetadata(k, v);
  auto call = stub.PrepareCall(&ctx, method, &cq);
  void* tag = nullptr;
  bool ok = false;
  auto step = [&](int want) {
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(tag, reinterpret_cast<void*>(static_cast<intptr_t>(want)));
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  step(1);
  ::grpc::Slice empty("");
  ::grpc::ByteBuffer request(&empty, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  step(2);
  call->WritesDone(reinterpret_cast<void*>(3));
  step(3);
  ::grpc::ByteBuffer response;
  do {
    call->Read(&response, reinterpret_cast<void*>(4));
  } while (step(4));
  ::grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  step(5);
  return status;
}

class AccessIT : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = testing::UniquePrefix();
    std::ofstream(dir_.File("secret")) << kSecret << "\n";
    for (const auto& [binary, name] : std::vector<std::pair<std::string, std::string>>{
             {SALES_LEAD_ACQUISITION_BIN, "sales.api.v1.LeadAcquisition"},
             {SALES_FIRST_OFFERS_BIN, "sales.api.v1.FirstOffers"},
             {SALES_CLIENT_SUPPORT_BIN, "sales.api.v1.ClientSupport"},
             {SALES_REPORTING_BIN, "sales.api.v1.Reporting"}}) {
      testing::ServiceOptions o;
      o.binary = binary;
      o.args = Args(name);
      o.work_dir = dir_.File(name + "-work");
      std::filesystem::create_directories(o.work_dir);
      auto service = testing::ServiceProcess::Start(o);
      ASSERT_TRUE(service.ok()) << service.status();
      services_.push_back({name, std::move(*service)});
    }
  }

  void TearDown() override {
    if (!HasFailure()) return;
    for (const auto& s : services_) std::cerr << s.api << " log tail:\n" << s.process->LogTail(30);
  }

  std::vector<std::string> Args(const std::string& name) {
    return {"--kafka-bootstrap=" + testing::TestBootstrap(), "--topic-prefix=" + prefix_, "--partitions=1",
            "--data-dir=" + dir_.File(name + "-store"), "--publish-timeout-ms=3000",
            "--auth-jwt-key=" + dir_.File("secret"), "--auth-jwt-alg=HS256"};
  }

  static std::string Token(const std::string& subject, std::vector<std::string> roles,
                           absl::Duration lifetime = absl::Hours(1)) {
    const absl::Time now = absl::Now();
    auto token = auth::SignToken({.subject = subject, .roles = std::move(roles), .issued_at = now - absl::Hours(2),
                                  .expires = now + lifetime},
                                 "HS256", kSecret);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.ok() ? *token : "";
  }

  struct Running {
    std::string api;  // the service's own API
    std::unique_ptr<testing::ServiceProcess> process;
  };
  testing::TempDir dir_;
  std::string prefix_;
  std::vector<Running> services_;
};

TEST_F(AccessIT, EveryMethodOfEveryServiceNeedsAValidTokenWithOneOfItsRoles) {
  // Linked in (and so in the generated pool) through one message of each API.
  ASSERT_NE(api::v1::CaptureLeadRequest::descriptor(), nullptr);
  ASSERT_NE(api::v1::DraftOfferRequest::descriptor(), nullptr);
  ASSERT_NE(api::v1::RecordOrderRequest::descriptor(), nullptr);
  ASSERT_NE(api::v1::SetTargetRequest::descriptor(), nullptr);
  ASSERT_NE(api::v1::StartRebuildRequest::descriptor(), nullptr);
  const std::vector<api::v1::Role> all = {api::v1::ROLE_SALES, api::v1::ROLE_HEAD, api::v1::ROLE_OPS,
                                          api::v1::ROLE_INTEGRATION, api::v1::ROLE_READONLY};
  const std::string expired = Token("maria", {"sales", "head", "ops", "integration", "readonly"}, -absl::Minutes(5));
  const std::string forged = Token("mallory", {"ops"}) + "x";  // its signature no longer matches
  int checked = 0;
  for (const auto& running : services_) {
    const auto channel = running.process->Channel();
    for (const std::string& api : {running.api, std::string("sales.api.v1.Admin")}) {
      const auto* service = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(api);
      ASSERT_NE(service, nullptr) << api;
      for (int i = 0; i < service->method_count(); ++i) {
        const std::string name = service->method(i)->name();
        const std::string path = StrCat("/", api, "/", name);
        SCOPED_TRACE(path + " on " + running.api);
        const std::vector<api::v1::Role>& allowed = auth::AllowedRoles(api, name);
        ASSERT_FALSE(allowed.empty());
        std::vector<std::string> others;
        for (api::v1::Role r : all) {
          if (std::find(allowed.begin(), allowed.end(), r) == allowed.end()) others.push_back(auth::RoleName(r));
        }
        ::grpc::Status s = CallWithEmptyRequest(channel, path, "");
        EXPECT_EQ(s.error_code(), ::grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
        EXPECT_THAT(s.error_message(), HasSubstr("no bearer token"));
        s = CallWithEmptyRequest(channel, path, expired);
        EXPECT_EQ(s.error_code(), ::grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
        EXPECT_THAT(s.error_message(), HasSubstr("expired"));
        s = CallWithEmptyRequest(channel, path, forged);
        EXPECT_EQ(s.error_code(), ::grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
        s = CallWithEmptyRequest(channel, path, Token("maria", others));
        EXPECT_EQ(s.error_code(), ::grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
        EXPECT_THAT(s.error_message(), HasSubstr(name + " needs one of the roles"));
        for (api::v1::Role r : allowed) {
          s = CallWithEmptyRequest(channel, path, Token("maria", {auth::RoleName(r)}));
          EXPECT_NE(s.error_code(), ::grpc::StatusCode::UNAUTHENTICATED) << auth::RoleName(r) << ": " << s.error_message();
          EXPECT_NE(s.error_code(), ::grpc::StatusCode::PERMISSION_DENIED) << auth::RoleName(r) << ": " << s.error_message();
        }
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 57 + 4 * 16);  // the four APIs' methods, and Admin on each service
  // Health checks stay open: load balancers probe without tokens.
  EXPECT_TRUE(CallWithEmptyRequest(services_[0].process->Channel(), "/grpc.health.v1.Health/Check", "").ok());
}

// The HTTP port: /healthz, the dashboard's page and a browser's preflight are open; /metrics needs
// ops or readonly; each route with data needs the roles of the rpc that reads the same data. A
// missing, expired or forged token is 401 (with WWW-Authenticate), the wrong roles 403.
TEST_F(AccessIT, EveryHttpRouteWithDataNeedsAValidTokenWithOneOfItsRoles) {
  struct Route {
    size_t service;  // index into services_
    std::string path;
    std::vector<std::string> allowed;  // empty: open
  };
  const std::vector<Route> routes = {
      {0, "/healthz", {}},
      {0, "/metrics", {"ops", "readonly"}},
      {1, "/metrics", {"ops", "readonly"}},
      {2, "/metrics", {"ops", "readonly"}},
      {3, "/metrics", {"ops", "readonly"}},
      {0, "/api/managers", {"sales", "head", "readonly"}},
      {2, "/api/clients/attention", {"sales", "head", "readonly"}},
      {3, "/dashboard/", {}},
      {3, "/dashboard/static/dashboard.js", {}},
      {3, "/dashboard/api/status", {"head", "readonly"}},
      {3, "/dashboard/api/report?name=funnel&period=2026", {"head", "readonly"}},
  };
  const std::vector<std::string> all = {"sales", "head", "ops", "integration", "readonly"};
  const std::string expired = Token("someone", all, -absl::Hours(1));
  const std::string forged = Token("someone", all) + "x";
  for (const Route& r : routes) {
    SCOPED_TRACE(services_[r.service].api + " " + r.path);
    httplib::Client client("127.0.0.1", services_[r.service].process->http_port());
    auto get = [&](const std::string& token) {
      httplib::Headers headers;
      if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
      auto res = client.Get(r.path.c_str(), headers);
      EXPECT_TRUE(res) << httplib::to_string(res.error());
      return res ? res->status : 0;
    };
    if (r.allowed.empty()) {
      EXPECT_EQ(get(""), 200);
      continue;
    }
    for (const std::string& token : {std::string(), expired, forged}) {
      auto res = client.Get(r.path.c_str(),
                            token.empty() ? httplib::Headers{} : httplib::Headers{{"Authorization", "Bearer " + token}});
      ASSERT_TRUE(res);
      EXPECT_EQ(res->status, 401) << res->body;
      EXPECT_EQ(res->get_header_value("WWW-Authenticate"), "Bearer");
      EXPECT_THAT(res->body, HasSubstr("UNAUTHENTICATED"));
    }
    for (const std::string& role : all) {
      const bool allowed = std::find(r.allowed.begin(), r.allowed.end(), role) != r.allowed.end();
      EXPECT_EQ(get(Token("tester-" + role, {role})), allowed ? 200 : 403) << role;
    }
  }
  // A browser's preflight for a cross-origin request with a token.
  httplib::Client client("127.0.0.1", services_[2].process->http_port());
  auto preflight = client.Options("/api/clients/attention");
  ASSERT_TRUE(preflight);
  EXPECT_EQ(preflight->status, 204);
  EXPECT_EQ(preflight->get_header_value("Access-Control-Allow-Headers"), "Authorization");
}

TEST_F(AccessIT, TheActorIsTheTokensSubjectAndSalesctlSendsItsToken) {
  auto stub = api::v1::LeadAcquisition::NewStub(services_[0].process->Channel());
  ::grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + Token("maria.papadopoulou", {"sales"}));
  ctx.AddMetadata("x-actor", "somebody-else");
  api::v1::CaptureLeadRequest request;
  request.set_idempotency_key("access-actor-1");
  request.set_name("Eleni Georgiou");
  request.set_email("eleni@example.gr");
  request.set_source(events::v1::LEAD_SOURCE_WEB_FORM);
  api::v1::CaptureLeadResponse captured;
  const ::grpc::Status s = stub->CaptureLead(&ctx, request, &captured);
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::vector<std::string> actors;
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        actors.clear();
        auto messages = testing::ReadTopic(prefix_ + "sales.leads");
        if (!messages.ok()) return false;
        for (const auto& m : *messages) {
          if (m.key != captured.lead_id()) continue;
          auto e = events::Decode(m.value);
          if (e.ok()) actors.push_back(e->actor());
        }
        return !actors.empty();
      },
      absl::Seconds(20)));
  EXPECT_THAT(actors, ::testing::ElementsAre("maria.papadopoulou"));

  // salesctl: a token it signs itself, sent on every call; without it the service refuses.
  const std::string target = StrCat("127.0.0.1:", services_[0].process->grpc_port());
  auto salesctl = [&](const std::string& args) {
    const std::string out = dir_.File("salesctl.out");
    const int status = std::system(StrCat(SALES_SALESCTL_BIN, " ", args, " >", out, " 2>&1").c_str());
    return std::pair<int, std::string>{WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadText(out)};
  };
  auto [code, token] = salesctl(StrCat("token sign --key=", dir_.File("secret"),
                                       " --alg=HS256 --subject=ops-oncall --roles=ops --ttl=10m"));
  ASSERT_EQ(code, 0) << token;
  while (!token.empty() && token.back() == '\n') token.pop_back();
  std::ofstream(dir_.File("token")) << token << "\n";
  auto [history_code, history] =
      salesctl(StrCat("--target=", target, " --token-file=", dir_.File("token"), " history ", captured.lead_id()));
  EXPECT_EQ(history_code, 0) << history;
  EXPECT_THAT(history, HasSubstr("maria.papadopoulou"));
  std::tie(history_code, history) = salesctl(StrCat("--target=", target, " history ", captured.lead_id()));
  EXPECT_EQ(history_code, 1) << history;
  EXPECT_THAT(history, HasSubstr("UNAUTHENTICATED"));
  std::tie(history_code, history) =
      salesctl(StrCat("--target=", target, " --token=", Token("maria", {"sales"}), " history ", captured.lead_id()));
  EXPECT_EQ(history_code, 1) << history;
  EXPECT_THAT(history, HasSubstr("PERMISSION_DENIED"));
  // A role that does not exist is refused.
  std::tie(code, token) = salesctl(StrCat("token sign --key=", dir_.File("secret"),
                                          " --alg=HS256 --subject=x --roles=root"));
  EXPECT_EQ(code, 2) << token;
  EXPECT_THAT(token, HasSubstr("\"root\" is not one of"));
}

TEST_F(AccessIT, AServiceRefusesToServeBeyondLoopbackWithoutTokensOrWithAKeyItCannotUse) {
  auto refused = [&](const std::string& flags) {
    const std::string log = dir_.File("refused.log");
    const std::string cmd = StrCat(SALES_LEAD_ACQUISITION_BIN, " --kafka-bootstrap=", testing::TestBootstrap(),
                                   " --data-dir=", dir_.File("refused-store"), " ", flags, " >", log, " 2>&1");
    const int status = std::system(cmd.c_str());
    return std::pair<int, std::string>{WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadText(log)};
  };
  auto [code, message] = refused("--grpc-listen=0.0.0.0:0 --grpc-plaintext-beyond-loopback --http-listen=127.0.0.1:0");
  EXPECT_EQ(code, 2) << message;
  EXPECT_THAT(message, HasSubstr("callers would not need tokens: give --auth-jwt-key"));
  std::ofstream(dir_.File("short-secret")) << "short\n";
  std::tie(code, message) = refused("--auth-jwt-alg=HS256 --auth-jwt-key=" + dir_.File("short-secret"));
  EXPECT_EQ(code, 2) << message;
  EXPECT_THAT(message, HasSubstr("needs at least 32"));
  std::tie(code, message) = refused("--auth-jwt-key=" + dir_.File("secret"));  // RS256: needs a public key
  EXPECT_EQ(code, 2) << message;
  EXPECT_THAT(message, HasSubstr("--auth-jwt-key"));
}

}  // namespace
}  // namespace sales
