#include "common/observability/http_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <exception>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/base/log.h"
#include "common/base/strings.h"

namespace sales {
namespace {

// PEM text as OpenSSL objects; each returns false (and leaves OpenSSL's error queue) on bad input.
using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
Bio PemBio(const std::string& pem) { return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free); }

std::string OpenSslError() {
  char buf[256] = "no detail";
  if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

// The server's TLS context from `tls`: TLS 1.2 or later, the certificate with its chain, the key,
// and, with a client CA, a required and verified client certificate.
Status SetUpTls(SSL_CTX& ctx, const HttpTls& tls) {
  SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
  Bio certs = PemBio(tls.cert_pem);
  X509* leaf = PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr);
  if (leaf == nullptr || SSL_CTX_use_certificate(&ctx, leaf) != 1) {
    X509_free(leaf);
    return absl::InvalidArgumentError(StrCat("the TLS certificate cannot be used: ", OpenSslError()));
  }
  X509_free(leaf);
  while (X509* intermediate = PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr)) {
    SSL_CTX_add_extra_chain_cert(&ctx, intermediate);  // takes it
  }
  ERR_clear_error();  // the end of the chain reads as an error
  Bio key_bio = PemBio(tls.key_pem);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr);
  const bool key_ok = key != nullptr && SSL_CTX_use_PrivateKey(&ctx, key) == 1 && SSL_CTX_check_private_key(&ctx) == 1;
  EVP_PKEY_free(key);
  if (!key_ok) return absl::InvalidArgumentError(StrCat("the TLS key cannot be used: ", OpenSslError()));
  if (!tls.client_ca_pem.empty()) {
    Bio cas = PemBio(tls.client_ca_pem);
    X509_STORE* store = SSL_CTX_get_cert_store(&ctx);
    int added = 0;
    while (X509* ca = PEM_read_bio_X509(cas.get(), nullptr, nullptr, nullptr)) {
      added += X509_STORE_add_cert(store, ca) == 1 ? 1 : 0;
      SSL_CTX_add_client_CA(&ctx, ca);
      X509_free(ca);
    }
    ERR_clear_error();
    if (added == 0) return absl::InvalidArgumentError("the TLS client CA holds no certificate");
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return absl::OkStatus();
}

void Answer(const HttpResponse& from, httplib::Response& to) {
  to.status = from.status;
  for (const auto& [name, value] : from.headers) to.set_header(name, value);
  to.set_content(from.body, from.content_type.c_str());
}

HttpResponse Text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out + "\"";
}

HttpResponse JsonResponse(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json; charset=utf-8";
  r.body = std::move(body);
  r.headers.push_back({"Cache-Control", "no-store"});
  return r;
}

std::string ErrorJson(const Status& status, const std::function<std::string(const std::string&)>& rename) {
  std::string fields;
  for (const FieldViolation& v : FieldViolations(status)) {
    absl::StrAppend(&fields, fields.empty() ? "" : ",", "{\"field\":", JsonString(rename ? rename(v.field) : v.field),
                    ",\"description\":", JsonString(v.description), "}");
  }
  return StrCat("{\"error\":{\"code\":", JsonString(absl::StatusCodeToString(status.code())),
                ",\"message\":", JsonString(std::string(status.message())), ",\"fields\":[", fields, "]}}\n");
}

int HttpStatusOf(const Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange: return 400;
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kUnavailable: return 503;
    default: return 500;
  }
}

std::string PercentDecode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexDigit(s[i + 1]) >= 0 && HexDigit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2])));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> params;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    const size_t eq = part.find('=');
    params.emplace_back(PercentDecode(part.substr(0, eq), true),
                        eq == std::string_view::npos ? "" : PercentDecode(part.substr(eq + 1), true));
  }
  return params;
}

std::string HttpRequest::Param(const std::string& name, const std::string& fallback) const {
  for (auto it = params.rbegin(); it != params.rend(); ++it) {
    if (it->first == name) return it->second;
  }
  return fallback;
}

bool HttpRequest::Has(const std::string& name) const {
  for (const auto& p : params) {
    if (p.first == name) return true;
  }
  return false;
}

std::string HttpRequest::Header(std::string_view name) const {
  for (const auto& [n, value] : headers) {
    if (absl::EqualsIgnoreCase(n, std::string(name))) return value;
  }
  return "";
}

struct HttpServer::Impl {
  std::unique_ptr<httplib::Server> server;
};

HttpServer::HttpServer(const MetricsRegistry* metrics, HealthCheck health, HttpServerOptions options)
    : metrics_(metrics), health_(std::move(health)), options_(std::move(options)) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::AddRoute(std::string prefix, HttpHandler handler) {
  std::lock_guard lock(mu_);
  routes_[std::move(prefix)] = std::move(handler);
}

void HttpServer::SetGuard(Guard guard) { guard_ = std::move(guard); }

Status HttpServer::Start(const std::string& host, int port) {
  in_addr ip{};
  if (::inet_pton(AF_INET, host.c_str(), &ip) != 1) {
    return absl::InvalidArgumentError(StrCat("http host \"", host, "\" is not an IPv4 address"));
  }
  impl_ = std::make_unique<Impl>();
  if (options_.tls) {
    Status tls_status;
    impl_->server = std::make_unique<httplib::SSLServer>([&](SSL_CTX& ctx) {
      tls_status = SetUpTls(ctx, *options_.tls);
      return tls_status.ok();
    });
    RETURN_IF_ERROR(tls_status);
  } else {
    impl_->server = std::make_unique<httplib::Server>();
  }
  httplib::Server& server = *impl_->server;
  const int threads = std::max(1, options_.threads);
  server.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  server.set_read_timeout(2, 0);  // a slow or silent client cannot hold a worker for long
  server.set_write_timeout(5, 0);
  server.set_keep_alive_timeout(2);
  server.set_payload_max_length(8192);
  // Every request is routed here (httplib's own routes are not used), so the rules above hold for
  // every method and path.
  server.set_pre_routing_handler([this](const httplib::Request& in, httplib::Response& out) {
    HttpRequest req;
    req.method = in.method;
    if (req.method == "OPTIONS") {  // a browser's preflight for a cross-origin GET with a token
      out.status = 204;
      out.set_header("Access-Control-Allow-Origin", "*");
      out.set_header("Access-Control-Allow-Methods", "GET, HEAD");
      out.set_header("Access-Control-Allow-Headers", "Authorization");
      out.set_header("Access-Control-Max-Age", "600");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.method != "GET" && req.method != "HEAD") {
      Answer(Text(405, "only GET\n"), out);
      out.set_header("Allow", "GET, HEAD");
      return httplib::Server::HandlerResponse::Handled;
    }
    const std::string& target = in.target;
    if (target.empty() || target[0] != '/') {
      Answer(Text(400, "bad request line\n"), out);
      return httplib::Server::HandlerResponse::Handled;
    }
    const size_t q = target.find('?');
    req.path = PercentDecode(std::string_view(target).substr(0, q), false);
    if (q != std::string::npos) req.query = target.substr(q + 1);
    req.params = ParseQuery(req.query);
    for (const auto& [name, value] : in.headers) req.headers.emplace_back(absl::AsciiStrToLower(name), value);
    Answer(Route(req), out);
    return httplib::Server::HandlerResponse::Handled;
  });
  server.set_exception_handler([](const httplib::Request& in, httplib::Response& out, std::exception_ptr) {
    log::Error("http request failed", {{"path", in.path}});
    Answer(Text(500, "internal error\n"), out);
  });
  if (port == 0) {
    port_ = server.bind_to_any_port(host);
  } else {
    port_ = server.bind_to_port(host, port) ? port : -1;
  }
  if (port_ <= 0) {
    port_ = 0;
    impl_.reset();
    return absl::UnavailableError(StrCat("cannot listen on ", host, ":", port));
  }
  listener_ = std::thread([this] { impl_->server->listen_after_bind(); });
  // httplib's stop() does nothing until the listener runs: wait for it, so that a Stop right after
  // Start cannot leave the listener running forever.
  for (int waited_ms = 0; !server.is_running() && waited_ms < 5000; ++waited_ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (impl_ && impl_->server) impl_->server->stop();
  if (listener_.joinable()) listener_.join();
  impl_.reset();
}

HttpResponse HttpServer::Route(const HttpRequest& request) {
  if (request.path == "/healthz") {
    Status s = health_();
    return s.ok() ? Text(200, "ok\n") : Text(503, StrCat(s.message(), "\n"));
  }
  if (request.path == "/metrics") {
    if (guard_) {
      if (std::optional<HttpResponse> refused = guard_(request, "/metrics")) return *refused;
    }
    HttpResponse r = Text(200, metrics_->Render());
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  }
  HttpHandler handler;
  std::string route;
  {
    std::lock_guard lock(mu_);
    for (const auto& [prefix, h] : routes_) {
      const bool match = request.path == prefix ||
                         (absl::StartsWith(request.path, prefix) &&
                          (absl::EndsWith(prefix, "/") || request.path[prefix.size()] == '/'));
      if (match && prefix.size() >= route.size()) {
        route = prefix;
        handler = h;
      }
    }
  }
  if (!handler) {
    std::string known = "try /metrics or /healthz";
    {
      std::lock_guard lock(mu_);
      for (const auto& [prefix, h] : routes_) absl::StrAppend(&known, " or ", prefix);
    }
    return Text(404, known + "\n");
  }
  if (guard_) {
    if (std::optional<HttpResponse> refused = guard_(request, route)) return *refused;
  }
  try {
    return handler(request);
  } catch (const std::exception& e) {
    log::Error("http handler failed", {{"path", request.path}, {"error", std::string(e.what())}});
    return Text(500, "internal error\n");
  }
}

}  // namespace sales
