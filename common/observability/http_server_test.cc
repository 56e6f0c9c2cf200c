#include "common/observability/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sales {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Get(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

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

TEST(HttpServer, RefusesNonIpHost) {
  MetricsRegistry metrics;
  HttpServer server(&metrics, [] { return absl::OkStatus(); });
  EXPECT_EQ(server.Start("not-an-ip", 0).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sales
