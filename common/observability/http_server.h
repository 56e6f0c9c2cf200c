// A small HTTP/1.1 endpoint for operations and read-only pages: GET /metrics (Prometheus text),
// GET /healthz (200 when the service is ready, 503 with the reason otherwise), and whatever GET
// routes a service adds (AddRoute: e.g. reporting's dashboard). One request per connection
// (`Connection: close`), GET and HEAD only, a request line and headers of at most 8 KiB, no
// request body. Not meant to face the internet: bind it to loopback or put a proxy in front.
//
// Connections are served by a few worker threads (HttpServerOptions::threads), so a slow handler
// or a client that connects and sends nothing (browsers open spare connections) does not hold up
// /healthz. Handlers therefore run concurrently and must be thread-safe; an exception thrown by a
// handler is answered 500 and never escapes.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/base/status.h"
#include "common/observability/metrics.h"

namespace sales {

struct HttpRequest {
  std::string method;  // "GET" or "HEAD"
  std::string path;    // percent-decoded, without the query: "/dashboard/api/report"
  std::string query;   // raw, without '?'
  // The query's parameters, percent-decoded ('+' is a space), in order; a name may repeat.
  std::vector<std::pair<std::string, std::string>> params;

  // The last value of `name`, or `fallback` when absent.
  std::string Param(const std::string& name, const std::string& fallback = "") const;
  bool Has(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra: Content-Disposition, Cache-Control...
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// For handlers that write small JSON bodies: `s` as a JSON string literal (quotes, escapes), and a
// response with its media type and `Cache-Control: no-store`.
std::string JsonString(std::string_view s);
HttpResponse JsonResponse(int status, std::string body);
// {"error": {"code": "INVALID_ARGUMENT", "message": ..., "fields": [{"field", "description"}]}}
// for `status` (its field violations, if any; `rename` maps a field name to what the caller calls it).
std::string ErrorJson(const Status& status, const std::function<std::string(const std::string&)>& rename = {});
// The HTTP status for a Status: 400 INVALID_ARGUMENT/FAILED_PRECONDITION/OUT_OF_RANGE, 404
// NOT_FOUND, 503 UNAVAILABLE, 500 otherwise.
int HttpStatusOf(const Status& status);

// Splits and decodes a query string ("a=1&b=x%20y" -> {{"a","1"},{"b","x y"}}). A malformed
// escape is kept as written.
std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view query);
std::string PercentDecode(std::string_view s, bool plus_is_space);

struct HttpServerOptions {
  int threads = 4;  // connections served at once
};

class HttpServer {
 public:
  // Returns OK when healthy, otherwise the reason served with 503.
  using HealthCheck = std::function<Status()>;

  HttpServer(const MetricsRegistry* metrics, HealthCheck health, HttpServerOptions options = {});
  ~HttpServer();  // Stops the server.

  // Serves GET requests whose path is `prefix` or starts with `prefix` + "/" (or, when `prefix`
  // ends with "/", starts with it) with `handler`; the longest matching prefix wins. /metrics and
  // /healthz cannot be taken. Thread-safe; may be called before or after Start.
  void AddRoute(std::string prefix, HttpHandler handler);

  // Binds `host:port` (port 0 picks a free one) and starts serving on background threads.
  Status Start(const std::string& host, int port);
  void Stop();
  int port() const { return port_; }

 private:
  void Accept();
  void Work();
  void Handle(int fd);
  HttpResponse Route(const HttpRequest& request);

  const MetricsRegistry* metrics_;
  HealthCheck health_;
  HttpServerOptions options_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<int> pending_;                  // accepted, not yet served; guarded by mu_
  std::map<std::string, HttpHandler> routes_;  // guarded by mu_
};

}  // namespace sales
