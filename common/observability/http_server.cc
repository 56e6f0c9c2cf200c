#include "common/observability/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>

#include "absl/strings/match.h"
#include "common/base/log.h"
#include "common/base/strings.h"

namespace sales {
namespace {

constexpr size_t kMaxRequestHead = 8192;
constexpr int kQueueLimit = 256;  // accepted connections waiting for a worker; beyond, answered 503

void WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    off += static_cast<size_t>(n);
  }
}

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return status < 400 ? "OK" : "Error";
  }
}

std::string Serialize(const HttpResponse& r, bool head) {
  std::string out = StrCat("HTTP/1.1 ", r.status, " ", Reason(r.status), "\r\nContent-Type: ", r.content_type,
                           "\r\nContent-Length: ", r.body.size(), "\r\nConnection: close\r\n");
  for (const auto& [name, value] : r.headers) absl::StrAppend(&out, name, ": ", value, "\r\n");
  out += "\r\n";
  if (!head) out += r.body;
  return out;
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

HttpServer::HttpServer(const MetricsRegistry* metrics, HealthCheck health, HttpServerOptions options)
    : metrics_(metrics), health_(std::move(health)), options_(options) {}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::AddRoute(std::string prefix, HttpHandler handler) {
  std::lock_guard lock(mu_);
  routes_[std::move(prefix)] = std::move(handler);
}

Status HttpServer::Start(const std::string& host, int port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return absl::InternalError(StrCat("socket: ", std::strerror(errno)));
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return absl::InvalidArgumentError(StrCat("http host \"", host, "\" is not an IPv4 address"));
  }
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 64) != 0) {
    Status s = absl::UnavailableError(StrCat("cannot listen on ", host, ":", port, ": ", std::strerror(errno)));
    ::close(listen_fd_);
    listen_fd_ = -1;
    return s;
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  for (int i = 0; i < std::max(1, options_.threads); ++i) workers_.emplace_back([this] { Work(); });
  acceptor_ = std::thread([this] { Accept(); });
  return absl::OkStatus();
}

void HttpServer::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (acceptor_.joinable()) acceptor_.join();
  for (auto& w : workers_) {
    if (w.joinable()) w.join();
  }
  workers_.clear();
  for (int fd : pending_) ::close(fd);
  pending_.clear();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

void HttpServer::Accept() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::unique_lock lock(mu_);
    if (static_cast<int>(pending_.size()) >= kQueueLimit) {
      lock.unlock();
      WriteAll(fd, Serialize(Text(503, "busy\n"), false));
      ::close(fd);
      continue;
    }
    pending_.push_back(fd);
    lock.unlock();
    cv_.notify_one();
  }
}

void HttpServer::Work() {
  for (;;) {
    int fd;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      if (stopping_) return;
      fd = pending_.front();
      pending_.pop_front();
    }
    Handle(fd);
    ::close(fd);
  }
}

HttpResponse HttpServer::Route(const HttpRequest& request) {
  if (request.path == "/metrics") {
    HttpResponse r = Text(200, metrics_->Render());
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  }
  if (request.path == "/healthz") {
    Status s = health_();
    return s.ok() ? Text(200, "ok\n") : Text(503, StrCat(s.message(), "\n"));
  }
  HttpHandler handler;
  {
    std::lock_guard lock(mu_);
    size_t best = 0;
    for (const auto& [prefix, h] : routes_) {
      const bool match = request.path == prefix ||
                         (absl::StartsWith(request.path, prefix) &&
                          (absl::EndsWith(prefix, "/") || request.path[prefix.size()] == '/'));
      if (match && prefix.size() >= best) {
        best = prefix.size();
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
  try {
    return handler(request);
  } catch (const std::exception& e) {
    log::Error("http handler failed", {{"path", request.path}, {"error", std::string(e.what())}});
    return Text(500, "internal error\n");
  }
}

void HttpServer::Handle(int fd) {
  timeval tv{2, 0};  // a slow or silent client cannot hold a worker for long
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string request;
  char buf[2048];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < kMaxRequestHead &&
         std::chrono::steady_clock::now() < deadline) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    request.append(buf, static_cast<size_t>(n));
  }
  if (request.empty()) return;  // a spare connection closed unused
  const std::string line = request.substr(0, request.find("\r\n"));
  // "GET /path?query HTTP/1.1"
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string::npos ? std::string::npos : line.find(' ', sp1 + 1);
  HttpRequest req;
  req.method = line.substr(0, sp1);
  const std::string target =
      sp1 == std::string::npos ? "" : line.substr(sp1 + 1, sp2 == std::string::npos ? std::string::npos : sp2 - sp1 - 1);
  if (req.method != "GET" && req.method != "HEAD") {
    WriteAll(fd, Serialize(Text(405, "only GET\n"), false));
    return;
  }
  if (target.empty() || target[0] != '/') {
    WriteAll(fd, Serialize(Text(400, "bad request line\n"), false));
    return;
  }
  const size_t q = target.find('?');
  req.path = PercentDecode(target.substr(0, q), false);
  if (q != std::string::npos) req.query = target.substr(q + 1);
  req.params = ParseQuery(req.query);
  WriteAll(fd, Serialize(Route(req), req.method == "HEAD"));
}

}  // namespace sales
