#include "common/observability/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

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

TEST(HttpServer, RefusesNonIpHost) {
  MetricsRegistry metrics;
  HttpServer server(&metrics, [] { return absl::OkStatus(); });
  EXPECT_EQ(server.Start("not-an-ip", 0).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sales
