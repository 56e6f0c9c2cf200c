// The service kit: start-up to shutdown of any service of the platform, from a small Spec and a
// composition root that only wires the service's own parts.
//
// What every service gets, built in dependency order (each step logged):
//   configuration   the common flags and environment variables (Settings), plus the service's own
//                   (Spec::declare), all validated before anything starts; a bad one exits with 2
//   store           the RocksDB store with the column families of the service's projection
//   HTTP            /metrics and /healthz (503 with the reason until ready, and whenever a health
//                   check fails: stalled projection, decider waiting to resync, ...), and the
//                   routes the service adds (Kit::AddHttpRoute: e.g. reporting's dashboard)
//   Kafka           the topics it owns (own topic, inbound topics and their dead-letter topics)
//                   created or checked (partitions, retention: a mismatch is a clear error), the
//                   topics of other services it reads created if missing (start order is free),
//                   two idempotent acks=all publishers: the decider's, which never gives a
//                   message up (so the log holds each event once), and one for dead letters
//   projection      one runner over the own topic and the topics it reads, caught up to the end
//                   of the log before anything else (a crash between append and apply heals here)
//   wiring          the service's composition root (Wire): decider, intake, schedulers, handlers
//   gRPC            its services + health + reflection + the Admin API; health SERVING only while
//                   every health check passes (a watchdog re-checks every 500 ms)
//   shutdown        on SIGINT/SIGTERM, in reverse order; the process exits 0
//
// Scaling out later (an instance per subset of partitions) changes only this file and the runner:
// the decider and the domain code never name partitions.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "common/base/clock.h"
#include "common/base/config.h"
#include "common/base/status.h"
#include "common/command/decider.h"
#include "common/grpc/admin_service.h"
#include "common/kafka/admin.h"
#include "common/kafka/client_config.h"
#include "common/kafka/publisher.h"
#include "common/observability/http_server.h"
#include "common/observability/metrics.h"
#include "common/projection/projection.h"
#include "common/projection/runner.h"
#include "common/store/store.h"

namespace sales::service {

// The platform's topics, by logical name; the prefix (--topic-prefix) is added by Kit::Topic.
// Each event topic has exactly one writer: the service named beside it.
namespace topics {
inline constexpr char kLeads[] = "sales.leads";      // lead acquisition
inline constexpr char kOffers[] = "sales.offers";    // first offers
inline constexpr char kClients[] = "sales.clients";  // client support
inline constexpr char kPlans[] = "sales.plans";      // reporting
// Inbound from outside systems (JSON), read by the service beside it.
inline constexpr char kMarketingLeadsInbound[] = "marketing.leads.inbound";  // lead acquisition
inline constexpr char kTelephonyCallsInbound[] = "telephony.calls.inbound";  // client support
}  // namespace topics

struct Spec {
  std::string name;                         // e.g. "first-offers": logs, client id, default data dir
  int grpc_port = 0;                        // default listen ports on 127.0.0.1
  int http_port = 0;
  std::string own_topic;                    // logical name of the topic only this service writes
  std::vector<std::string> read_topics;     // other services' topics its projection reads
  std::vector<std::string> inbound_topics;  // topics from outside systems it consumes
  std::vector<std::string> feed_topics;     // other services' topics whose events become its
                                            // commands (command::CommandFeed), not projected
  // Default of --projection-prefetch-kbytes: how far the consumer reads ahead of the projection
  // (measured per service: docs/PERFORMANCE.md).
  int64_t projection_prefetch_kbytes = 8192;
  std::function<void(Config&)> declare;     // the service's own flags (optional)
  std::function<Status()> configure;        // checks them once parsed, before anything starts
                                            // (optional; an error is a usage error, exit 2)
};

// The common settings, from flags and environment (see Declare in service.cc for the names).
struct Settings {
  std::string kafka_bootstrap;
  std::string kafka_properties;                         // a file of security properties (SASL/SSL)
  std::map<std::string, std::string> kafka_overrides;  // read from it at start-up
  std::string topic_prefix;
  int64_t partitions = 6;
  int64_t replication_factor = 1;
  std::string data_dir;
  std::string grpc_listen;
  std::string http_listen;
  int64_t publish_timeout_ms = 5000;
  int64_t startup_timeout_s = 120;
  int64_t max_queued_commands = 100000;
  int64_t grpc_max_threads = 512;
  int64_t projection_write_every = 500;  // projection::RunnerOptions::write_every
  int64_t projection_prefetch_kbytes = 8192;  // projection::RunnerOptions::prefetch_kbytes
  std::string ready_file;
  std::string restore_from;  // a snapshot folder to start from when the data dir has no store
  std::string tls_cert;       // PEM files of the gRPC server's certificate chain and key (TLS)
  std::string tls_key;
  std::string tls_client_ca;  // when set, callers must present a certificate it signed (mTLS)
  bool grpc_plaintext_beyond_loopback = false;  // allow gRPC without TLS on a non-loopback address
  std::string http_tls_client_ca;  // when set, HTTPS callers must present a certificate it signed
  bool http_plaintext_beyond_loopback = false;  // allow plain HTTP on a non-loopback address
  bool http_anonymous_beyond_loopback = false;  // allow the HTTP port without tokens on a non-loopback address
  std::string auth_jwt_key;       // when set, every gRPC call needs a bearer token verified with it (auth.h)
  std::string auth_jwt_alg = "RS256";
  std::string auth_jwt_issuer;
  std::string auth_jwt_audience;
  bool grpc_anonymous_beyond_loopback = false;  // allow gRPC without tokens on a non-loopback address
  std::string log_level;
  std::string test_clock_offset_file;  // TEST ONLY (TestOffsetClock)
  std::string test_disk_full_file;     // TEST ONLY: store writes fail while this file exists
};

// What start-up built, for the composition root to wire the service's parts on. Everything here
// lives until the service has shut down.
class Kit {
 public:
  virtual ~Kit() = default;

  virtual const Spec& spec() const = 0;
  virtual const Settings& settings() const = 0;
  virtual const Clock& clock() const = 0;
  // The topic's name under the configured prefix.
  virtual std::string Topic(std::string_view logical) const = 0;
  virtual const kafka::ClientSettings& client() const = 0;
  virtual MetricsRegistry& metrics() = 0;
  virtual Store& store() = 0;
  virtual projection::Applier& applier() = 0;
  virtual projection::ProjectionRunner& runner() = 0;
  // For the service's command::Decider only: its messages are retried until Kafka has them.
  virtual kafka::EventPublisher& publisher() = 0;
  // For records parked on a dead-letter topic (intakes): a message fails after the publish timeout.
  virtual kafka::EventPublisher& dead_letter_publisher() = 0;
  virtual kafka::Admin& admin() = 0;

  // Options for the service's command::Decider on its own topic: producer, timeouts, queue bound
  // and the resync (wait until the runner has applied the whole own topic) wired.
  virtual command::DeciderOptions DeciderOptions() const = 0;

  // The service serves (gRPC health SERVING, /healthz 200) only while every check passes; a
  // failing check's message is the reason shown.
  virtual void AddHealthCheck(std::function<Status()> check) = 0;
  // A consumer other than the projection (an intake, a command feed) to list in the Admin status
  // beside it. Must live until shutdown.
  virtual void AddConsumerStatus(const grpc_util::ConsumerStatusSource* source) = 0;
  // Serves GET `prefix` and the paths under it on the service's HTTP port, beside /metrics and
  // /healthz (HttpServer::AddRoute: longest prefix wins). Served as soon as it is added, also
  // while unhealthy; stopped before the service's parts go. The handler runs on the HTTP server's
  // threads, concurrently: it must be thread-safe. With tokens (--auth-jwt-key), a caller needs a
  // bearer token with one of `roles` (take them from the rpc that reads the same data:
  // auth::AllowedRoles); no roles: open to anyone (static files).
  virtual void AddHttpRoute(std::string prefix, std::vector<api::v1::Role> roles, HttpHandler handler) = 0;
  // Stopped at shutdown, in reverse order of registration, after gRPC stopped serving and before
  // the projection and the store close (intake consumers, schedulers).
  virtual void OnShutdown(std::function<void()> stop) = 0;

  // Keeps `object` alive until the service has shut down (destroyed in reverse order of Own).
  template <typename T>
  T* Own(std::unique_ptr<T> object) {
    T* raw = object.get();
    Keep(std::shared_ptr<void>(std::move(object)));
    return raw;
  }

 protected:
  virtual void Keep(std::shared_ptr<void> object) = 0;
};

// The service's part, built by its composition root: the gRPC services it serves (besides health,
// reflection and Admin, which the kit adds).
struct Parts {
  std::vector<::grpc::Service*> services;
};

using Wire = std::function<StatusOr<Parts>(Kit& kit)>;

// Runs a service from main(): parses the configuration, starts everything in order, serves until
// SIGINT/SIGTERM, shuts down. `projection` is the service's projection (its column families make
// the store; it runs over the own and read topics). Returns the process exit code: 0 clean stop,
// 2 bad configuration, 1 failure.
int Main(int argc, char** argv, Spec spec, projection::Projection* projection, Wire wire);

}  // namespace sales::service
