// A minimal HTTP/1.1 endpoint for operations: GET /metrics (Prometheus text) and GET /healthz
// (200 when the service is ready, 503 with the reason otherwise). One thread, one request per
// connection; not a general web server and not meant to face the internet.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "common/base/status.h"
#include "common/observability/metrics.h"

namespace sales {

class HttpServer {
 public:
  // Returns OK when healthy, otherwise the reason served with 503.
  using HealthCheck = std::function<Status()>;

  HttpServer(const MetricsRegistry* metrics, HealthCheck health);
  ~HttpServer();  // Stops the server.

  // Binds `host:port` (port 0 picks a free one) and starts serving on a background thread.
  Status Start(const std::string& host, int port);
  void Stop();
  int port() const { return port_; }

 private:
  void Serve();
  void Handle(int fd);

  const MetricsRegistry* metrics_;
  HealthCheck health_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace sales
