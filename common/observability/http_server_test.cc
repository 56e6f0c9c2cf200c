#include "common/observability/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

#include <fstream>
#include <httplib.h>

#include "common/testing/certificates.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sales {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// The raw response to `method` `path` on a connection of its own.
std::string Send(int port, const std::string& method, const std::string& path, const std::string& headers = "") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers + "\r\n";
  EXPECT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

std::string Get(int port, const std::string& path) { return Send(port, "GET", path); }

TEST(HttpServer, ServesMetricsAndHealth) {
  MetricsRegistry metrics;
  metrics.GetCounter("sales_x_total", "X.").Inc(2);
  Status health = absl::UnavailableError("catching up: 10 events behind");
  HttpServer server(&metrics, [&] { return health; });
  ASSERT_TRUE(server.Start("127.0.0.1", 0).ok());
  ASSERT_GT(server.port(), 0);

  EXPECT_THAT(Get(server.port(), "/metrics"), HasSubstr("sales_x_total 2"));
  std::string unhealthy = Get(server.port(), "/healthz");
  EXPECT_THAT(unhealthy, StartsWith("HTTP/1.1 503"));
  EXPECT_THAT(unhealthy, HasSubstr("catching up: 10 events behind"));
  health = absl::OkStatus();
  EXPECT_THAT(Get(server.port(), "/healthz"), StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(Get(server.port(), "/nope"), StartsWith("HTTP/1.1 404"));
}

TEST(HttpServer, RoutesByLongestPrefixWithDecodedParameters) {
  MetricsRegistry metrics;
  HttpServer server(&metrics, [] { return absl::OkStatus(); });
  server.AddRoute("/app", [](const HttpRequest& r) {
    HttpResponse out;
    out.body = "app " + r.path + " region=" + r.Param("region") + " has_x=" + (r.Has("x") ? "yes" : "no");
    out.headers.push_back({"Cache-Control", "no-store"});
    return out;
  });
  server.AddRoute("/app/api", [](const HttpRequest& r) {
    HttpResponse out;
    out.status = 400;
    out.content_type = "application/json";
    out.body = "{\"period\":\"" + r.Param("period") + "\"}";
    return out;
  });
  server.AddRoute("/boom", [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("no"); });
  ASSERT_TRUE(server.Start("127.0.0.1", 0).ok());

  const std::string app = Get(server.port(), "/app/managers?region=%CE%91%CE%B8%CE%AE%CE%BD%CE%B1+GR&x");
  EXPECT_THAT(app, StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(app, HasSubstr("Cache-Control: no-store\r\n"));
  EXPECT_THAT(app, HasSubstr("app /app/managers region=Αθήνα GR has_x=yes"));
  const std::string api = Get(server.port(), "/app/api/report?period=2026-13&period=2026%2D12");
  EXPECT_THAT(api, StartsWith("HTTP/1.1 400"));
  EXPECT_THAT(api, HasSubstr("Content-Type: application/json"));
  EXPECT_THAT(api, HasSubstr("{\"period\":\"2026-12\"}"));  // the last value counts
  EXPECT_THAT(Get(server.port(), "/application"), StartsWith("HTTP/1.1 404"));  // not under /app
  EXPECT_THAT(Get(server.port(), "/boom"), StartsWith("HTTP/1.1 500"));
  EXPECT_THAT(Get(server.port(), "/healthz"), StartsWith("HTTP/1.1 200"));
}

TEST(HttpServer, ASilentConnectionDoesNotHoldUpOthers) {
  MetricsRegistry metrics;
  HttpServer server(&metrics, [] { return absl::OkStatus(); });
  ASSERT_TRUE(server.Start("127.0.0.1", 0).ok());
  // A browser's spare connection: connected, nothing sent.
  int idle = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server.port()));
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ASSERT_EQ(::connect(idle, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_THAT(Get(server.port(), "/healthz"), StartsWith("HTTP/1.1 200"));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
  ::close(idle);
}

TEST(HttpServer, DecodesQueries) {
  EXPECT_EQ(ParseQuery("a=1&&b=x%20y+z&c&d=%zz"),
            (std::vector<std::pair<std::string, std::string>>{{"a", "1"}, {"b", "x y z"}, {"c", ""}, {"d", "%zz"}}));
  EXPECT_EQ(PercentDecode("a+b%2Fc", false), "a+b/c");
}

TEST(HttpServer, AnswersOnlyGetAndHeadAndTheBrowsersPreflight) {
  MetricsRegistry metrics;
  HttpServer server(&metrics, [] { return absl::OkStatus(); });
  ASSERT_TRUE(server.Start("127.0.0.1", 0).ok());
  const std::string post = Send(server.port(), "POST", "/metrics", "Content-Length: 0\r\n");
  EXPECT_THAT(post, StartsWith("HTTP/1.1 405"));
  EXPECT_THAT(post, HasSubstr("Allow: GET, HEAD"));
  const std::string head = Send(server.port(), "HEAD", "/healthz");
  EXPECT_THAT(head, StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(head, Not(HasSubstr("ok\n")));  // no body
  const std::string preflight = Send(server.port(), "OPTIONS", "/api/x", "Access-Control-Request-Headers: authorization\r\n");
  EXPECT_THAT(preflight, StartsWith("HTTP/1.1 204"));
  EXPECT_THAT(preflight, HasSubstr("Access-Control-Allow-Headers: Authorization"));
  EXPECT_THAT(Get(server.port(), "/" + std::string(9000, 'x')), StartsWith("HTTP/1.1 414"));
}

// The guard sees every request but /healthz's, with the route it is for, and its answer replaces the
// route's; handlers see the request's headers.
TEST(HttpServer, TheGuardDecidesBeforeTheRoute) {
  MetricsRegistry metrics;
  HttpServer server(&metrics, [] { return absl::OkStatus(); });
  server.AddRoute("/open", [](const HttpRequest& r) {
    HttpResponse out;
    out.body = "hello " + r.Header("X-Who");
    return out;
  });
  server.AddRoute("/closed", [](const HttpRequest&) { return HttpResponse{.body = "secret"}; });
  std::vector<std::string> seen;
  std::mutex mu;
  server.SetGuard([&](const HttpRequest& r, const std::string& route) -> std::optional<HttpResponse> {
    std::lock_guard lock(mu);
    seen.push_back(route);
    if (route == "/open") return std::nullopt;
    if (r.Header("authorization") == "Bearer good") return std::nullopt;
    return HttpResponse{.status = 401, .body = "who are you\n"};
  });
  ASSERT_TRUE(server.Start("127.0.0.1", 0).ok());
  EXPECT_THAT(Send(server.port(), "GET", "/open/x", "x-who: me\r\n"), HasSubstr("hello me"));
  EXPECT_THAT(Get(server.port(), "/closed/y"), StartsWith("HTTP/1.1 401"));
  EXPECT_THAT(Send(server.port(), "GET", "/closed/y", "Authorization: Bearer good\r\n"), HasSubstr("secret"));
  EXPECT_THAT(Get(server.port(), "/metrics"), StartsWith("HTTP/1.1 401"));
  EXPECT_THAT(Get(server.port(), "/healthz"), StartsWith("HTTP/1.1 200"));
  std::lock_guard lock(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"/open", "/closed", "/closed", "/metrics"}));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// HTTPS: a client that trusts the CA is served, plain HTTP on the port is not; with a client CA
// only callers presenting a certificate it signed are.
TEST(HttpServer, ServesHttpsAndRequiresClientCertificatesWhenToldTo) {
  testing::TempDir certs;
  ASSERT_TRUE(testing::MakeCertificates(certs).ok());
  MetricsRegistry metrics;
  metrics.GetCounter("sales_x_total", "X.").Inc(3);
  HttpTls tls{ReadFile(certs.File("server.pem")), ReadFile(certs.File("server.key")), ""};
  {
    HttpServer server(&metrics, [] { return absl::OkStatus(); }, {.tls = tls});
    ASSERT_TRUE(server.Start("127.0.0.1", 0).ok());
    httplib::SSLClient client("127.0.0.1", server.port());
    client.set_ca_cert_path(certs.File("ca.pem").c_str());
    client.enable_server_certificate_verification(true);
    auto res = client.Get("/metrics");
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200);
    EXPECT_THAT(res->body, HasSubstr("sales_x_total 3"));
    EXPECT_THAT(Get(server.port(), "/metrics"), Not(HasSubstr("sales_x_total")));  // plain HTTP
  }
  tls.client_ca_pem = ReadFile(certs.File("ca.pem"));
  HttpServer server(&metrics, [] { return absl::OkStatus(); }, {.tls = tls});
  ASSERT_TRUE(server.Start("127.0.0.1", 0).ok());
  {
    httplib::SSLClient anonymous("127.0.0.1", server.port());
    anonymous.set_ca_cert_path(certs.File("ca.pem").c_str());
    EXPECT_FALSE(anonymous.Get("/metrics"));
  }
  {
    httplib::SSLClient stranger("127.0.0.1", server.port(), certs.File("other.pem"), certs.File("other.key"));
    stranger.set_ca_cert_path(certs.File("ca.pem").c_str());
    EXPECT_FALSE(stranger.Get("/metrics"));
  }
  httplib::SSLClient known("127.0.0.1", server.port(), certs.File("client.pem"), certs.File("client.key"));
  known.set_ca_cert_path(certs.File("ca.pem").c_str());
  auto res = known.Get("/healthz");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
}

TEST(HttpServer, RefusesTlsFilesOpenSslCannotUse) {
  MetricsRegistry metrics;
  HttpServer server(&metrics, [] { return absl::OkStatus(); },
                    {.tls = HttpTls{"not a certificate", "not a key", ""}});
  Status s = server.Start("127.0.0.1", 0);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("certificate"));
}

TEST(HttpServer, RefusesNonIpHost) {
  MetricsRegistry metrics;
  HttpServer server(&metrics, [] { return absl::OkStatus(); });
  EXPECT_EQ(server.Start("not-an-ip", 0).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sales
