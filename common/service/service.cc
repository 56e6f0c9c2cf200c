#include "common/service/service.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <mutex>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/base/log.h"
#include "common/base/strings.h"
#include "common/auth/tokens.h"
#include "common/grpc/admin_service.h"
#include "common/grpc/call.h"
#include "common/grpc/server.h"
#include "common/kafka/kafka_publisher.h"
#include "common/observability/http_server.h"
#include "common/service/as_of.h"
#include "common/service/rebuild.h"

namespace sales::service {
namespace {

Config Declare(const Spec& spec, Settings& s) {
  Config c(spec.name);
  c.AddString("kafka-bootstrap", "SALES_KAFKA_BOOTSTRAP", "127.0.0.1:19092", "Kafka bootstrap servers, host:port[,...]",
              &s.kafka_bootstrap, true);
  c.AddString("kafka-properties", "SALES_KAFKA_PROPERTIES", "",
              "file of librdkafka security and connection properties (key=value: security.protocol, sasl.*, ssl.*) "
              "for a secured or managed Kafka cluster",
              &s.kafka_properties);
  c.AddString("topic-prefix", "SALES_TOPIC_PREFIX", "", "prefix of every topic name (tenants, tests)", &s.topic_prefix);
  c.AddInt("partitions", "SALES_PARTITIONS", 6, 1, 1024, "partitions of topics this service creates", &s.partitions);
  c.AddInt("replication-factor", "SALES_REPLICATION_FACTOR", 1, 1, 16, "replication factor of topics it creates",
           &s.replication_factor);
  c.AddString("data-dir", "SALES_DATA_DIR", "./data/" + spec.name, "folder of the RocksDB store", &s.data_dir, true);
  c.AddString("grpc-listen", "SALES_GRPC_LISTEN", StrCat("127.0.0.1:", spec.grpc_port),
              "gRPC address host:port (port 0: any free)", &s.grpc_listen, true);
  c.AddString("http-listen", "SALES_HTTP_LISTEN", StrCat("127.0.0.1:", spec.http_port),
              "HTTP /metrics and /healthz address, IPv4 host:port (port 0: any free)", &s.http_listen, true);
  c.AddInt("publish-timeout-ms", "SALES_PUBLISH_TIMEOUT_MS", 5000, 100, 120000,
           "longest wait for Kafka to acknowledge an event; a command answers UNAVAILABLE after it",
           &s.publish_timeout_ms);
  c.AddInt("startup-timeout-s", "SALES_STARTUP_TIMEOUT_S", 120, 1, 86400,
           "how long to wait for Kafka and catch-up at start-up", &s.startup_timeout_s);
  // At least two of the largest batches the service submits at once (imports and feeds: 1,000;
  // a chunk: 2,000), so that a batch always fits once the queue drains.
  c.AddInt("max-queued-commands", "SALES_MAX_QUEUED_COMMANDS", 100000, 4000, 10000000,
           "commands waiting to be decided; beyond, commands answer RESOURCE_EXHAUSTED", &s.max_queued_commands);
  c.AddInt("projection-write-every", "SALES_PROJECTION_WRITE_EVERY", 500, 1, 1000000,
           "events per store write when the projection reads many at once (a catch-up, a rebuild): each write "
           "goes on while the next events are applied; 2000 or more writes each poll of the log at once",
           &s.projection_write_every);
  c.AddInt("projection-prefetch-kbytes", "SALES_PROJECTION_PREFETCH_KBYTES", spec.projection_prefetch_kbytes, 1024,
           2097151,
           "KiB of events the projection's consumer fetches ahead of it; in a catch-up or rebuild the queue stays "
           "full: more memory, fewer pauses waiting for the broker",
           &s.projection_prefetch_kbytes);
  c.AddInt("grpc-max-threads", "SALES_GRPC_MAX_THREADS", 512, 8, 65536,
           "threads serving gRPC calls; beyond, calls answer RESOURCE_EXHAUSTED", &s.grpc_max_threads);
  c.AddString("ready-file", "SALES_READY_FILE", "",
              "when set, written with the bound ports once the service serves (for scripts and tests)",
              &s.ready_file);
  c.AddString("restore-from", "SALES_RESTORE_FROM", "",
              "a snapshot folder (Admin.CreateSnapshot) to start from when --data-dir holds no store yet; the "
              "service then catches up from the snapshot's offsets",
              &s.restore_from);
  c.AddString("tls-cert", "SALES_TLS_CERT", "",
              "PEM certificate chain of the service: serve gRPC and HTTP over TLS", &s.tls_cert);
  c.AddString("tls-key", "SALES_TLS_KEY", "", "PEM private key of --tls-cert", &s.tls_key);
  c.AddString("tls-client-ca", "SALES_TLS_CLIENT_CA", "",
              "PEM CA certificate(s): every gRPC caller must present a certificate they signed (mutual TLS)",
              &s.tls_client_ca);
  c.AddBool("grpc-plaintext-beyond-loopback", "SALES_GRPC_PLAINTEXT_BEYOND_LOOPBACK", false,
            "serve gRPC without TLS on a non-loopback --grpc-listen (behind a TLS proxy or on a trusted network); "
            "refused otherwise",
            &s.grpc_plaintext_beyond_loopback);
  c.AddString("http-tls-client-ca", "SALES_HTTP_TLS_CLIENT_CA", "",
              "PEM CA certificate(s): every HTTPS caller must present a certificate they signed (mutual TLS; "
              "--tls-client-ca applies to gRPC only, so that browsers can open the dashboard)",
              &s.http_tls_client_ca);
  c.AddBool("http-plaintext-beyond-loopback", "SALES_HTTP_PLAINTEXT_BEYOND_LOOPBACK", false,
            "serve plain HTTP (no --tls-cert) on a non-loopback --http-listen (behind a TLS proxy or on a trusted "
            "network); refused otherwise",
            &s.http_plaintext_beyond_loopback);
  c.AddBool("http-anonymous-beyond-loopback", "SALES_HTTP_ANONYMOUS_BEYOND_LOOPBACK", false,
            "serve the HTTP port on a non-loopback --http-listen without --auth-jwt-key (anyone may read "
            "/metrics and the routes' data); refused otherwise",
            &s.http_anonymous_beyond_loopback);
  c.AddString("auth-jwt-key", "SALES_AUTH_JWT_KEY", "",
              "the PEM public key (RS*, ES*) or the secret file (HS*) bearer tokens are verified with: every gRPC "
              "call then needs a token with one of its method's roles (docs/SECURITY.md)",
              &s.auth_jwt_key);
  c.AddString("auth-jwt-alg", "SALES_AUTH_JWT_ALG", "RS256",
              "the one algorithm tokens are signed with: RS256, RS384, RS512, ES256, ES384, ES512, HS256, HS384 or HS512",
              &s.auth_jwt_alg);
  c.AddString("auth-jwt-issuer", "SALES_AUTH_JWT_ISSUER", "", "when set, a token's \"iss\" must be this",
              &s.auth_jwt_issuer);
  c.AddString("auth-jwt-audience", "SALES_AUTH_JWT_AUDIENCE", "", "when set, a token's \"aud\" must be or hold this",
              &s.auth_jwt_audience);
  c.AddBool("grpc-anonymous-beyond-loopback", "SALES_GRPC_ANONYMOUS_BEYOND_LOOPBACK", false,
            "serve gRPC on a non-loopback --grpc-listen without --auth-jwt-key (any caller may call any method); "
            "refused otherwise",
            &s.grpc_anonymous_beyond_loopback);
  c.AddString("log-level", "SALES_LOG_LEVEL", "info", "debug, info, warn or error", &s.log_level);
  c.AddString("test-clock-offset-file", "SALES_TEST_CLOCK_OFFSET_FILE", "",
              "TEST ONLY: shift the service's clock by the seconds written in this file", &s.test_clock_offset_file);
  c.AddString("test-disk-full-file", "SALES_TEST_DISK_FULL_FILE", "",
              "TEST ONLY: while this file exists, every write to the store fails as on a full disk (the fault suite)",
              &s.test_disk_full_file);
  if (spec.declare) spec.declare(c);
  return c;
}

Status SplitHostPort(const std::string& flag, const std::string& address, std::string* host, int* port);

// The verifier of bearer tokens --auth-jwt-key asks for; null when tokens are not checked.
StatusOr<std::shared_ptr<const auth::TokenVerifier>> LoadTokenVerifier(const Settings& s) {
  if (s.auth_jwt_key.empty()) return std::shared_ptr<const auth::TokenVerifier>();
  ASSIGN_OR_RETURN(std::unique_ptr<auth::TokenVerifier> verifier,
                   auth::TokenVerifier::Create({.key_file = s.auth_jwt_key,
                                                     .algorithm = s.auth_jwt_alg,
                                                     .issuer = s.auth_jwt_issuer,
                                                     .audience = s.auth_jwt_audience}));
  return std::shared_ptr<const auth::TokenVerifier>(std::move(verifier));
}

// What the listen addresses, TLS files and token key allow, checked before anything starts:
// plaintext and calls without tokens only on loopback unless told explicitly (a usage error
// otherwise, exit 2).
struct Listening {
  grpc_util::ServerTls tls;
  std::optional<HttpTls> http_tls;  // the same certificate; client certificates only with --http-tls-client-ca
  std::shared_ptr<const auth::TokenVerifier> tokens;  // null: tokens are not checked
};
StatusOr<Listening> CheckListening(const Settings& s) {
  std::string grpc_host, http_host;
  int grpc_port = 0, http_port = 0;
  RETURN_IF_ERROR(SplitHostPort("grpc-listen", s.grpc_listen, &grpc_host, &grpc_port));
  RETURN_IF_ERROR(SplitHostPort("http-listen", s.http_listen, &http_host, &http_port));
  ASSIGN_OR_RETURN(grpc_util::ServerTls tls, grpc_util::LoadServerTls(s.tls_cert, s.tls_key, s.tls_client_ca));
  if (!tls.enabled() && !grpc_util::IsLoopbackHost(grpc_host) && !s.grpc_plaintext_beyond_loopback) {
    return absl::InvalidArgumentError(StrCat("--grpc-listen=", s.grpc_listen,
                                             " is beyond loopback and gRPC would be plaintext: give --tls-cert and "
                                             "--tls-key, or --grpc-plaintext-beyond-loopback to accept that"));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const auth::TokenVerifier> tokens, LoadTokenVerifier(s));
  if (!tokens && !grpc_util::IsLoopbackHost(grpc_host) && !s.grpc_anonymous_beyond_loopback) {
    return absl::InvalidArgumentError(StrCat("--grpc-listen=", s.grpc_listen,
                                             " is beyond loopback and callers would not need tokens: give "
                                             "--auth-jwt-key, or --grpc-anonymous-beyond-loopback to accept that"));
  }
  if (!s.http_tls_client_ca.empty() && !tls.enabled()) {
    return absl::InvalidArgumentError("--http-tls-client-ca needs --tls-cert and --tls-key (client certificates need HTTPS)");
  }
  if (!tls.enabled() && !grpc_util::IsLoopbackHost(http_host) && !s.http_plaintext_beyond_loopback) {
    return absl::InvalidArgumentError(StrCat("--http-listen=", s.http_listen,
                                             " is beyond loopback and HTTP would be plaintext: give --tls-cert and "
                                             "--tls-key, or --http-plaintext-beyond-loopback to accept that"));
  }
  if (!tokens && !grpc_util::IsLoopbackHost(http_host) && !s.http_anonymous_beyond_loopback) {
    return absl::InvalidArgumentError(StrCat("--http-listen=", s.http_listen,
                                             " is beyond loopback and its readers would not need tokens: give "
                                             "--auth-jwt-key, or --http-anonymous-beyond-loopback to accept that"));
  }
  std::optional<HttpTls> http_tls;
  if (tls.enabled()) {
    http_tls = HttpTls{tls.cert_chain, tls.private_key, ""};
    if (!s.http_tls_client_ca.empty()) {
      ASSIGN_OR_RETURN(http_tls->client_ca_pem, ReadPemFile("http-tls-client-ca", s.http_tls_client_ca));
    }
  }
  return Listening{std::move(tls), std::move(http_tls), std::move(tokens)};
}

Status SplitHostPort(const std::string& flag, const std::string& address, std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  int64_t p;
  if (colon == std::string::npos || colon == 0 || !absl::SimpleAtoi(address.substr(colon + 1), &p) || p < 0 ||
      p > 65535) {
    return absl::InvalidArgumentError(StrCat("--", flag, ": \"", address, "\" is not host:port"));
  }
  *host = address.substr(0, colon);
  *port = static_cast<int>(p);
  return absl::OkStatus();
}

Status WriteReadyFile(const std::string& path, int grpc_port, int http_port) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << "{\"grpc_port\":" << grpc_port << ",\"http_port\":" << http_port << ",\"pid\":" << getpid() << "}\n";
    if (!out) return absl::UnavailableError(StrCat("cannot write ", tmp));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return absl::UnavailableError(StrCat("cannot write ", path, ": ", ec.message()));
  return absl::OkStatus();
}

// Snapshots of a store go beside it, never inside it (the store's folder is RocksDB's).
std::string SnapshotDir(const std::string& data_dir) {
  std::string dir = data_dir;
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  return dir + ".snapshots";
}

// Copies a snapshot into an empty data dir. A data dir that already holds a store is left alone
// (the flag may stay in a unit file after the restore): the store wins, and the log says so.
Status RestoreSnapshot(const std::string& snapshot, const std::string& data_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(fs::path(data_dir) / "CURRENT", ec)) {
    log::Warn("--restore-from ignored: the data dir already holds a store", {{"data_dir", data_dir},
                                                                           {"snapshot", snapshot}});
    return absl::OkStatus();
  }
  if (!fs::exists(fs::path(snapshot) / "CURRENT", ec)) {
    return absl::InvalidArgumentError(StrCat("--restore-from: \"", snapshot, "\" is not a snapshot (no CURRENT file)"));
  }
  // Copy into a sibling folder and rename, so a crash mid-copy never leaves a half store behind.
  const fs::path tmp = fs::path(data_dir).string() + ".restoring";
  fs::remove_all(tmp, ec);
  fs::copy(snapshot, tmp, fs::copy_options::recursive, ec);
  if (ec) return absl::UnavailableError(StrCat("--restore-from: copying ", snapshot, ": ", ec.message()));
  fs::remove(tmp / "SNAPSHOT.json", ec);
  fs::remove_all(data_dir, ec);  // empty or absent (no CURRENT): nothing of value
  fs::rename(tmp, data_dir, ec);
  if (ec) return absl::UnavailableError(StrCat("--restore-from: ", ec.message()));
  log::Info("store restored from a snapshot; catching up from its offsets", {{"snapshot", snapshot},
                                                                             {"data_dir", data_dir}});
  return absl::OkStatus();
}

// Retries `step` until it succeeds or the deadline passes (Kafka may still be starting).
using Deadline = std::chrono::steady_clock::time_point;  // a wall-clock step must not move it

absl::Duration Left(Deadline deadline) {
  return absl::FromChrono(deadline - std::chrono::steady_clock::now());
}

Status Retry(const std::string& what, Deadline deadline, const std::function<Status()>& step) {
  for (int attempt = 1;; ++attempt) {
    Status s = step();
    if (s.ok() || s.code() == absl::StatusCode::kInvalidArgument || Left(deadline) <= absl::ZeroDuration()) return s;
    if (attempt == 1 || attempt % 10 == 0) log::Warn("waiting for Kafka", {{"step", what}, {"error", s.ToString()}});
    absl::SleepFor(absl::Seconds(1));
  }
}

class KitImpl final : public Kit {
 public:
  KitImpl(const Spec& spec, const Settings& settings) : spec_(spec), settings_(settings) {
    if (!settings.test_clock_offset_file.empty()) {
      test_clock_ = std::make_unique<TestOffsetClock>(settings.test_clock_offset_file);
    }
    client_ = {settings.kafka_bootstrap, spec.name, settings.kafka_overrides};
  }

  ~KitImpl() override {
    if (http_) http_->Stop();  // its routes may use what the service wired
    // Reverse order of construction: what the service wired, then the kit's own parts.
    while (!owned_.empty()) owned_.pop_back();
  }

  const Spec& spec() const override { return spec_; }
  const Settings& settings() const override { return settings_; }
  const Clock& clock() const override { return test_clock_ ? *test_clock_ : SystemClock(); }
  std::string Topic(std::string_view logical) const override {
    return kafka::Topic(settings_.topic_prefix, std::string(logical));
  }
  const kafka::ClientSettings& client() const override { return client_; }
  MetricsRegistry& metrics() override { return metrics_; }
  Store& store() override { return *store_; }
  projection::Applier& applier() override { return *applier_; }
  projection::ProjectionRunner& runner() override { return *runner_; }
  kafka::EventPublisher& publisher() override { return *publisher_; }
  kafka::EventPublisher& dead_letter_publisher() override { return *dead_letters_; }
  kafka::Admin& admin() override { return *admin_; }

  command::DeciderOptions DeciderOptions() const override {
    const std::string topic = Topic(spec_.own_topic);
    command::DeciderOptions o;
    o.topic = topic;
    o.producer = spec_.name;
    // The command waits a little longer than librdkafka's message timeout, so that its answer
    // rests on the final delivery report.
    o.publish_timeout = absl::Milliseconds(settings_.publish_timeout_ms) + absl::Seconds(1);
    o.max_queue = static_cast<size_t>(settings_.max_queued_commands);
    kafka::Admin* admin = admin_.get();
    projection::ProjectionRunner* runner = runner_.get();
    o.resync = [admin, runner, topic](absl::Duration timeout) -> Status {
      // One deadline for the whole resync, however many partitions.
      const Deadline deadline = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout);
      ASSIGN_OR_RETURN(int partitions, admin->PartitionCount(topic, timeout));
      for (int32_t p = 0; p < partitions; ++p) {
        const absl::Duration left = std::max(absl::Milliseconds(1), Left(deadline));
        ASSIGN_OR_RETURN(kafka::Watermarks w, admin->QueryWatermarks(topic, p, left));
        if (w.high == 0) continue;
        if (Status s = runner->WaitApplied(topic, p, w.high - 1, std::max(absl::Milliseconds(1), Left(deadline)));
            !s.ok()) {
          return absl::UnavailableError(StrCat("the projection has not caught up yet: ", s.message()));
        }
      }
      return absl::OkStatus();
    };
    return o;
  }

  void AddHealthCheck(std::function<Status()> check) override {
    std::lock_guard lock(mu_);
    checks_.push_back(std::move(check));
  }
  void OnShutdown(std::function<void()> stop) override { stops_.push_back(std::move(stop)); }
  void AddConsumerStatus(const grpc_util::ConsumerStatusSource* source) override { consumers_.push_back(source); }
  void AddHttpRoute(std::string prefix, std::vector<api::v1::Role> roles, HttpHandler handler) override {
    {
      std::lock_guard lock(mu_);
      http_roles_[prefix] = std::move(roles);
    }
    http_->AddRoute(std::move(prefix), std::move(handler));
  }

  // With tokens, a request for a route with roles needs "authorization: Bearer <token>" holding
  // one of them: 401 without a valid token, 403 with the wrong roles (JSON, as the routes answer).
  std::optional<HttpResponse> GuardHttp(const HttpRequest& request, const std::string& route) {
    const auth::TokenVerifier* verifier = auth::CurrentTokenVerifier();
    if (verifier == nullptr) return std::nullopt;
    std::vector<api::v1::Role> roles;
    if (route == "/metrics") {
      roles = {api::v1::ROLE_OPS, api::v1::ROLE_READONLY};
    } else {
      std::lock_guard lock(mu_);
      auto it = http_roles_.find(route);
      if (it != http_roles_.end()) roles = it->second;
    }
    if (roles.empty()) return std::nullopt;
    StatusOr<auth::Identity> identity = auth::Authenticate(*verifier, request.Header("authorization"), absl::Now());
    Status refused = identity.ok() ? auth::CheckRoles(identity->roles, roles, request.path, identity->subject)
                                   : identity.status();
    if (refused.ok()) return std::nullopt;
    HttpResponse r = JsonResponse(identity.ok() ? 403 : 401, ErrorJson(refused));
    if (!identity.ok()) r.headers.push_back({"WWW-Authenticate", "Bearer"});
    r.headers.push_back({"Access-Control-Allow-Origin", "*"});
    return r;
  }

  // OK when ready and every check passes.
  Status Health() {
    if (!ready_) return absl::UnavailableError("starting: catching up the event log");
    std::vector<std::function<Status()>> checks;
    {
      std::lock_guard lock(mu_);
      checks = checks_;
    }
    for (const auto& check : checks) RETURN_IF_ERROR(check());
    return absl::OkStatus();
  }

  Status Serve(projection::Projection* projection, const Wire& wire);

 protected:
  void Keep(std::shared_ptr<void> object) override { owned_.push_back(std::move(object)); }

 private:
  // Sets gRPC health from Health() every 500 ms until `stop_watchdog_`; logs each change.
  void Watchdog(grpc_util::GrpcServer* server);

  const Spec& spec_;
  const Settings& settings_;
  std::unique_ptr<TestOffsetClock> test_clock_;
  kafka::ClientSettings client_;
  MetricsRegistry metrics_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<projection::Applier> applier_;
  std::unique_ptr<kafka::Admin> admin_;
  std::unique_ptr<kafka::KafkaPublisher> publisher_;     // the decider's
  std::unique_ptr<kafka::KafkaPublisher> dead_letters_;  // everything else
  std::unique_ptr<projection::ProjectionRunner> runner_;
  std::unique_ptr<HttpServer> http_;
  std::map<std::string, std::vector<api::v1::Role>> http_roles_;  // by route prefix; guarded by mu_
  std::unique_ptr<Rebuilder> rebuilder_;
  std::unique_ptr<AsOfStores> as_of_;
  std::vector<std::shared_ptr<void>> owned_;
  std::vector<std::function<void()>> stops_;
  std::vector<const grpc_util::ConsumerStatusSource*> consumers_;
  std::mutex mu_;
  std::vector<std::function<Status()>> checks_;  // guarded by mu_
  std::atomic<bool> ready_{false};
  std::mutex watchdog_mu_;
  std::condition_variable watchdog_cv_;
  bool stop_watchdog_ = false;  // guarded by watchdog_mu_
};

void KitImpl::Watchdog(grpc_util::GrpcServer* server) {
  bool serving = true;
  std::unique_lock lock(watchdog_mu_);
  while (!stop_watchdog_) {
    lock.unlock();
    Status health = Health();
    lock.lock();
    if (stop_watchdog_) break;
    if (health.ok() != serving) {
      serving = health.ok();
      server->SetServing(serving);
      if (serving) {
        log::Info("healthy again: serving");
      } else {
        log::Warn("unhealthy: not serving", {{"reason", std::string(health.message())}});
      }
    }
    watchdog_cv_.wait_for(lock, std::chrono::milliseconds(500));
  }
}

Status KitImpl::Serve(projection::Projection* projection, const Wire& wire) {
  std::string http_host, grpc_host;
  int http_port = 0, grpc_port = 0;
  RETURN_IF_ERROR(SplitHostPort("grpc-listen", settings_.grpc_listen, &grpc_host, &grpc_port));
  RETURN_IF_ERROR(SplitHostPort("http-listen", settings_.http_listen, &http_host, &http_port));
  ASSIGN_OR_RETURN(const Listening listening, CheckListening(settings_));
  const grpc_util::ServerTls& tls = listening.tls;
  auth::SetTokenVerifier(listening.tokens);
  const Deadline deadline = std::chrono::steady_clock::now() + std::chrono::seconds(settings_.startup_timeout_s);

  log::Info("opening store", {{"path", settings_.data_dir}});
  // After a rebuild's switch-over the store served is a generation beside --data-dir (rebuild.h).
  const std::string store_path = ServingStorePath(settings_.data_dir);
  if (!settings_.restore_from.empty()) RETURN_IF_ERROR(RestoreSnapshot(settings_.restore_from, store_path));
  if (std::error_code ec; !std::filesystem::create_directories(store_path, ec) && ec) {
    return absl::InvalidArgumentError(StrCat("--data-dir: cannot create \"", store_path, "\": ", ec.message()));
  }
  ASSIGN_OR_RETURN(store_, Store::Open({.path = store_path,
                                        .column_families = projection->column_families(),
                                        .test_disk_full_file = settings_.test_disk_full_file}));
  RETURN_IF_ERROR(projection->Open(*store_));
  applier_ = std::make_unique<projection::Applier>(store_.get(), projection);

  http_ = std::make_unique<HttpServer>(&metrics_, [this] { return Health(); },
                                       HttpServerOptions{.tls = listening.http_tls});
  http_->SetGuard([this](const HttpRequest& request, const std::string& route) { return GuardHttp(request, route); });
  RETURN_IF_ERROR(http_->Start(http_host, http_port));
  log::Info("http endpoint up", {{"port", http_->port()}});

  log::Info("connecting to kafka", {{"bootstrap", settings_.kafka_bootstrap}});
  ASSIGN_OR_RETURN(admin_, kafka::Admin::Create(client_));
  const auto spec_of = [&](const std::string& topic) {
    return kafka::TopicSpec{topic, static_cast<int>(settings_.partitions), static_cast<int>(settings_.replication_factor)};
  };
  std::vector<std::string> owned = {Topic(spec_.own_topic)};
  for (const auto& t : spec_.inbound_topics) owned.push_back(Topic(t));
  for (const std::string& t : std::vector<std::string>(owned)) owned.push_back(kafka::DeadLetterTopic(t));
  for (const std::string& t : owned) {
    RETURN_IF_ERROR(Retry("create topic " + t, deadline,
                          [&] { return admin_->EnsureTopicAsSpecified(spec_of(t), absl::Seconds(10)); }));
  }
  // Other services' topics: created if that service has not started yet (it checks them when it
  // does); only their existence matters here.
  std::vector<std::string> others = spec_.read_topics;
  others.insert(others.end(), spec_.feed_topics.begin(), spec_.feed_topics.end());
  for (const auto& logical : others) {
    const std::string t = Topic(logical);
    RETURN_IF_ERROR(Retry("create topic " + t, deadline, [&] { return admin_->EnsureTopic(spec_of(t), absl::Seconds(10)); }));
  }
  // No linger: the decider appends a whole chunk at once and then waits for it, so lingering would
  // only add its delay to every chunk (docs/PERFORMANCE.md).
  // The decider's messages are never given up: one not acknowledged when the decider stops waiting
  // is retried unchanged until the broker has it, and the decider waits for it before deciding
  // again (common/command/decider.h), so that a broker outage leaves no copy in the log.
  ASSIGN_OR_RETURN(publisher_, kafka::KafkaPublisher::Create({client_, absl::InfiniteDuration(), /*linger_ms=*/0}));
  ASSIGN_OR_RETURN(dead_letters_, kafka::KafkaPublisher::Create(
                                      {client_, absl::Milliseconds(settings_.publish_timeout_ms), /*linger_ms=*/0}));
  AddHealthCheck([p = publisher_.get()] { return p->Health(); });
  AddHealthCheck([p = dead_letters_.get()] { return p->Health(); });

  std::vector<std::string> projected = {Topic(spec_.own_topic)};
  for (const auto& t : spec_.read_topics) projected.push_back(Topic(t));
  const projection::RunnerOptions runner_options{
      .client = client_,
      .topics = projected,
      .write_every = static_cast<int>(settings_.projection_write_every),
      .prefetch_kbytes = static_cast<int>(settings_.projection_prefetch_kbytes),
      .own_dead_letter_topic = kafka::DeadLetterTopic(Topic(spec_.own_topic))};
  runner_ = std::make_unique<projection::ProjectionRunner>(runner_options, applier_.get(), dead_letters_.get(),
                                                           admin_.get(), &metrics_);
  RETURN_IF_ERROR(Retry("start projection", deadline, [&] { return runner_->Start(); }));
  log::Info("catching up the event log before accepting commands", {{"topics", absl::StrJoin(projected, ",")}});
  RETURN_IF_ERROR(runner_->WaitCaughtUp(std::max(absl::Seconds(1), Left(deadline))));
  AddHealthCheck([r = runner_.get()] { return r->Health(); });

  // A rebuild a previous process left unfinished goes on where it was.
  rebuilder_ = std::make_unique<Rebuilder>(
      RebuildOptions{.data_dir = settings_.data_dir, .runner = runner_options, .dead_letters = dead_letters_.get(),
                     .admin = admin_.get()},
      store_.get(), applier_.get(), runner_.get(), projection);
  RETURN_IF_ERROR(rebuilder_->ResumeIfAny());
  // As-of stores kept by a previous process are reopened; queries may name them from now on.
  as_of_ = std::make_unique<AsOfStores>(
      AsOfOptions{.data_dir = settings_.data_dir, .runner = runner_options, .admin = admin_.get()}, store_.get(),
      projection);
  RETURN_IF_ERROR(as_of_->ResumeAll());
  grpc_util::SetAsOfRedirector([a = as_of_.get()](const std::string& name) { return a->Redirect(name); });

  log::Info("wiring the service");
  ASSIGN_OR_RETURN(Parts parts, wire(*this));
  grpc_util::AdminService admin_service({.service = spec_.name,
                                         .topic_prefix = settings_.topic_prefix,
                                         .client = client_,
                                         .admin = admin_.get(),
                                         .publisher = dead_letters_.get(),
                                         .store = store_.get(),
                                         .snapshot_dir = SnapshotDir(settings_.data_dir),
                                         .metrics = &metrics_,
                                         .rebuild = rebuilder_.get(),
                                         .as_of = as_of_.get()},
                                        {{runner_.get(), applier_.get()}}, consumers_);
  parts.services.push_back(&admin_service);
  ASSIGN_OR_RETURN(auto server,
                   grpc_util::GrpcServer::Start(settings_.grpc_listen, parts.services,
                                                static_cast<int>(settings_.grpc_max_threads), tls));
  ready_ = true;
  server->SetServing(Health().ok());
  std::thread watchdog([&] { Watchdog(server.get()); });
  log::Info("serving", {{"grpc_port", server->port()},
                        {"http_port", http_->port()},
                        {"topic", Topic(spec_.own_topic)},
                        {"grpc_tls", !tls.enabled() ? "off" : tls.client_ca.empty() ? "on" : "mutual"},
                        {"http_tls", !listening.http_tls                       ? "off"
                                     : listening.http_tls->client_ca_pem.empty() ? "on"
                                                                                 : "mutual"},
                        {"bearer_tokens", listening.tokens ? settings_.auth_jwt_alg : "not checked"}});
  Status status = absl::OkStatus();
  if (!settings_.ready_file.empty()) status = WriteReadyFile(settings_.ready_file, server->port(), http_->port());

  if (status.ok()) {
    const int sig = grpc_util::WaitForShutdownSignal();
    log::Info("shutting down", {{"signal", sig}});
  }
  ready_ = false;
  {
    std::lock_guard lock(watchdog_mu_);
    stop_watchdog_ = true;
  }
  watchdog_cv_.notify_all();
  watchdog.join();
  server->Shutdown(absl::Seconds(5));
  for (auto it = stops_.rbegin(); it != stops_.rend(); ++it) (*it)();
  http_->Stop();
  rebuilder_.reset();  // an unfinished rebuild resumes at the next start
  grpc_util::SetAsOfRedirector({});
  auth::SetTokenVerifier(nullptr);
  as_of_.reset();  // reopened at the next start
  runner_->Stop();
  // The service's parts go before the projection, publisher and store, in reverse order of Own.
  while (!owned_.empty()) owned_.pop_back();
  log::Info("stopped");
  return status;
}

}  // namespace

int Main(int argc, char** argv, Spec spec, projection::Projection* projection, Wire wire) {
  grpc_util::BlockShutdownSignals();  // before any thread starts, so only sigwait sees them
  Settings settings;
  Config config = Declare(spec, settings);
  if (Status s = config.Parse(argc, argv); !s.ok()) {
    std::cerr << spec.name << ": " << s.message() << "\n\n" << config.Usage();
    return 2;
  }
  if (config.help_requested()) {
    std::cout << config.Usage();
    return 0;
  }
  if (StatusOr<Listening> listening = CheckListening(settings); !listening.ok()) {
    std::cerr << spec.name << ": " << listening.status().message() << "\n";
    return 2;
  }
  if (!settings.kafka_properties.empty()) {
    StatusOr<std::map<std::string, std::string>> properties = kafka::LoadKafkaProperties(settings.kafka_properties);
    if (!properties.ok()) {
      std::cerr << spec.name << ": " << properties.status().message() << "\n";
      return 2;
    }
    settings.kafka_overrides = std::move(*properties);
  }
  if (spec.configure) {
    if (Status s = spec.configure(); !s.ok()) {
      std::cerr << spec.name << ": " << s.message() << "\n";
      return 2;
    }
  }
  log::Level level;
  if (!log::ParseLevel(settings.log_level, &level)) {
    std::cerr << spec.name << ": --log-level: \"" << settings.log_level << "\" is not debug, info, warn or error\n";
    return 2;
  }
  log::Init(spec.name, level);
  Status s;
  {
    KitImpl kit(spec, settings);
    s = kit.Serve(projection, wire);
  }
  if (!s.ok()) {
    log::Error("service failed", {{"error", s.ToString()}});
    return s.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}

}  // namespace sales::service
