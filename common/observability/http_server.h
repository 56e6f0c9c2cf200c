// The service's HTTP endpoint for operations and read-only pages: GET /metrics (Prometheus text),
// GET /healthz (200 when the service is ready, 503 with the reason otherwise), and whatever GET
// routes a service adds (AddRoute: e.g. reporting's dashboard). GET and HEAD only (anything else is
// 405; OPTIONS answers a browser's CORS preflight), a request line and headers of at most 8 KiB, no
// request body. HTTPS with HttpServerOptions::tls (and client certificates when it names a CA).
//
// Served by cpp-httplib (Debian's libcpp-httplib-dev) on a pool of HttpServerOptions::threads
// workers, so a slow handler or a client that connects and sends nothing (browsers open spare
// connections) does not hold up /healthz. Handlers therefore run concurrently and must be
// thread-safe; an exception thrown by a handler is answered 500 and never escapes. A guard
// (SetGuard) sees every request but /healthz's before its route: the kit checks tokens there.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
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
  // The request's headers, names in lower case, in order.
  std::vector<std::pair<std::string, std::string>> headers;

  // The first value of header `name` (any case), or "" when absent.
  std::string Header(std::string_view name) const;
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

// HTTPS: the server's certificate (PEM, chain after it) and key; with client_ca_pem, callers must
// present a certificate that CA signed (mutual TLS).
struct HttpTls {
  std::string cert_pem;
  std::string key_pem;
  std::string client_ca_pem;
};

struct HttpServerOptions {
  int threads = 4;             // connections served at once
  std::optional<HttpTls> tls;  // none: plain HTTP
};

class HttpServer {
 public:
  // Returns OK when healthy, otherwise the reason served with 503.
  using HealthCheck = std::function<Status()>;
  // Called with a request and the route it is for ("/metrics", or the prefix AddRoute named) before
  // the route's handler: nullopt lets the request through, a response answers it instead.
  using Guard = std::function<std::optional<HttpResponse>(const HttpRequest&, const std::string& route)>;

  HttpServer(const MetricsRegistry* metrics, HealthCheck health, HttpServerOptions options = {});
  ~HttpServer();  // Stops the server.

  // Serves GET requests whose path is `prefix` or starts with `prefix` + "/" (or, when `prefix`
  // ends with "/", starts with it) with `handler`; the longest matching prefix wins. /metrics and
  // /healthz cannot be taken. Thread-safe; may be called before or after Start.
  void AddRoute(std::string prefix, HttpHandler handler);
  // Sets the guard; call before Start.
  void SetGuard(Guard guard);

  // Binds `host:port` (port 0 picks a free one) and starts serving on background threads.
  // INVALID_ARGUMENT for a host that is not an IPv4 address or TLS files OpenSSL refuses,
  // UNAVAILABLE when the port cannot be bound.
  Status Start(const std::string& host, int port);
  void Stop();
  int port() const { return port_; }

 private:
  struct Impl;
  HttpResponse Route(const HttpRequest& request);

  const MetricsRegistry* metrics_;
  HealthCheck health_;
  HttpServerOptions options_;
  Guard guard_;
  int port_ = 0;
  std::unique_ptr<Impl> impl_;
  std::thread listener_;
  std::mutex mu_;
  std::map<std::string, HttpHandler> routes_;  // guarded by mu_
};

}  // namespace sales
