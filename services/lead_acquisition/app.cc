#include "services/lead_acquisition/app.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/numbers.h"
#include "common/base/strings.h"
#include "absl/time/clock.h"
#include "common/base/config.h"
#include "common/base/log.h"
#include "common/grpc/admin_service.h"
#include "common/grpc/server.h"
#include "common/kafka/admin.h"
#include "common/kafka/kafka_publisher.h"
#include "common/observability/http_server.h"
#include "common/projection/runner.h"
#include "services/lead_acquisition/grpc_service.h"
#include "services/lead_acquisition/intake.h"
#include "services/lead_acquisition/lead_projection.h"

namespace sales::lead_acquisition {
namespace {

constexpr char kService[] = "lead-acquisition";

struct Settings {
  std::string kafka_bootstrap;
  std::string topic_prefix;
  int64_t partitions = 6;
  int64_t replication_factor = 1;
  std::string data_dir;
  std::string grpc_listen;
  std::string http_listen;
  int64_t publish_timeout_ms = 5000;
  int64_t startup_timeout_s = 120;
  std::string ready_file;
  std::string log_level;
};

Config Declare(Settings& s) {
  Config c(kService);
  c.AddString("kafka-bootstrap", "SALES_KAFKA_BOOTSTRAP", "127.0.0.1:19092", "Kafka bootstrap servers, host:port[,...]",
              &s.kafka_bootstrap, true);
  c.AddString("topic-prefix", "SALES_TOPIC_PREFIX", "", "prefix of every topic name (tenants, tests)", &s.topic_prefix);
  c.AddInt("partitions", "SALES_PARTITIONS", 6, 1, 1024, "partitions of topics this service creates", &s.partitions);
  c.AddInt("replication-factor", "SALES_REPLICATION_FACTOR", 1, 1, 16, "replication factor of topics it creates",
           &s.replication_factor);
  c.AddString("data-dir", "SALES_DATA_DIR", "./data/lead-acquisition", "folder of the RocksDB store", &s.data_dir, true);
  c.AddString("grpc-listen", "SALES_GRPC_LISTEN", "127.0.0.1:50051", "gRPC address host:port (port 0: any free)",
              &s.grpc_listen, true);
  c.AddString("http-listen", "SALES_HTTP_LISTEN", "127.0.0.1:9101",
              "HTTP /metrics and /healthz address, IPv4 host:port (port 0: any free)", &s.http_listen, true);
  c.AddInt("publish-timeout-ms", "SALES_PUBLISH_TIMEOUT_MS", 5000, 100, 120000,
           "longest wait for Kafka to acknowledge an event; a command answers UNAVAILABLE after it",
           &s.publish_timeout_ms);
  c.AddInt("startup-timeout-s", "SALES_STARTUP_TIMEOUT_S", 120, 1, 86400,
           "how long to wait for Kafka and catch-up at start-up", &s.startup_timeout_s);
  c.AddString("ready-file", "SALES_READY_FILE", "",
              "when set, written with the bound ports once the service serves (for scripts and tests)",
              &s.ready_file);
  c.AddString("log-level", "SALES_LOG_LEVEL", "info", "debug, info, warn or error", &s.log_level);
  return c;
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

// Retries `step` until it succeeds or the deadline passes (Kafka may still be starting).
Status Retry(const std::string& what, absl::Time deadline, const std::function<Status()>& step) {
  for (int attempt = 1;; ++attempt) {
    Status s = step();
    if (s.ok() || s.code() == absl::StatusCode::kInvalidArgument || absl::Now() >= deadline) return s;
    if (attempt == 1 || attempt % 10 == 0) log::Warn("waiting for Kafka", {{"step", what}, {"error", s.ToString()}});
    absl::SleepFor(absl::Seconds(1));
  }
}

Status Serve(const Settings& s) {
  std::string http_host;
  int http_port = 0;
  {
    std::string grpc_host;
    int grpc_port;
    RETURN_IF_ERROR(SplitHostPort("grpc-listen", s.grpc_listen, &grpc_host, &grpc_port));
  }
  RETURN_IF_ERROR(SplitHostPort("http-listen", s.http_listen, &http_host, &http_port));
  const absl::Time deadline = absl::Now() + absl::Seconds(s.startup_timeout_s);
  const kafka::ClientSettings client{s.kafka_bootstrap, kService, {}};
  const std::string topic = kafka::Topic(s.topic_prefix, "sales.leads");
  const std::string intake_topic = kafka::Topic(s.topic_prefix, "marketing.leads.inbound");

  MetricsRegistry metrics;
  LeadProjection projection;
  log::Info("opening store", {{"path", s.data_dir}});
  if (std::error_code ec; !std::filesystem::create_directories(s.data_dir, ec) && ec) {
    return absl::InvalidArgumentError(StrCat("--data-dir: cannot create \"", s.data_dir, "\": ", ec.message()));
  }
  ASSIGN_OR_RETURN(auto store, Store::Open({.path = s.data_dir, .column_families = projection.column_families()}));
  projection::Applier applier(store.get(), &projection);

  std::atomic<bool> ready{false};
  HttpServer http(&metrics, [&ready]() -> Status {
    return ready ? absl::OkStatus() : absl::UnavailableError("starting: catching up the event log");
  });
  RETURN_IF_ERROR(http.Start(http_host, http_port));
  log::Info("http endpoint up", {{"port", http.port()}});

  log::Info("connecting to kafka", {{"bootstrap", s.kafka_bootstrap}});
  ASSIGN_OR_RETURN(auto admin, kafka::Admin::Create(client));
  for (const std::string& t :
       {topic, kafka::DeadLetterTopic(topic), intake_topic, kafka::DeadLetterTopic(intake_topic)}) {
    kafka::TopicSpec spec{t, static_cast<int>(s.partitions), static_cast<int>(s.replication_factor)};
    RETURN_IF_ERROR(Retry("create topic " + t, deadline, [&] { return admin->EnsureTopic(spec, absl::Seconds(10)); }));
  }
  // No linger: the decider appends a whole chunk at once and then waits for it, so lingering would
  // only add its delay to every chunk (docs/PERFORMANCE.md).
  ASSIGN_OR_RETURN(auto publisher,
                   kafka::KafkaPublisher::Create({client, absl::Milliseconds(s.publish_timeout_ms), /*linger_ms=*/0}));

  projection::ProjectionRunner runner({.client = client, .topics = {topic}}, &applier, publisher.get(), admin.get(),
                                      &metrics);
  RETURN_IF_ERROR(Retry("start projection", deadline, [&] { return runner.Start(); }));
  log::Info("catching up the event log before accepting commands", {{"topic", topic}});
  RETURN_IF_ERROR(runner.WaitCaughtUp(std::max(absl::Seconds(1), deadline - absl::Now())));

  // After a failed append, the decider waits until the projection has applied the whole topic.
  auto resync = [&](absl::Duration timeout) -> Status {
    ASSIGN_OR_RETURN(int partitions, admin->PartitionCount(topic, timeout));
    for (int32_t p = 0; p < partitions; ++p) {
      ASSIGN_OR_RETURN(kafka::Watermarks w, admin->QueryWatermarks(topic, p, timeout));
      if (w.high == 0) continue;
      if (Status s = runner.WaitApplied(topic, p, w.high - 1, timeout); !s.ok()) {
        return absl::UnavailableError(StrCat("the projection has not caught up yet: ", s.message()));
      }
    }
    return absl::OkStatus();
  };
  // The command waits a little longer than librdkafka's message timeout, so that its answer rests
  // on the final delivery report.
  LeadCommands commands({.topic = topic,
                         .producer = kService,
                         .publish_timeout = absl::Milliseconds(s.publish_timeout_ms) + absl::Seconds(1),
                         .resync = resync},
                        publisher.get(), &applier, &SystemClock(), &metrics);
  RETURN_IF_ERROR(commands.Start());
  log::Info("starting marketing intake", {{"topic", intake_topic}});
  IntakeConsumer intake({.client = client, .topic = intake_topic}, &commands, store.get(), publisher.get(),
                        admin.get(), &metrics);
  RETURN_IF_ERROR(Retry("start intake", deadline, [&] { return intake.Start(); }));
  LeadQueries queries(store.get());
  LeadAcquisitionService service(&commands, &queries, &metrics);
  grpc_util::AdminService admin_service({{&runner, store.get()}}, {&intake}, &metrics);
  ASSIGN_OR_RETURN(auto server, grpc_util::GrpcServer::Start(s.grpc_listen, {&service, &admin_service}));
  server->SetServing(true);
  ready = true;
  log::Info("serving", {{"grpc_port", server->port()}, {"http_port", http.port()}, {"topic", topic}});
  if (!s.ready_file.empty()) RETURN_IF_ERROR(WriteReadyFile(s.ready_file, server->port(), http.port()));

  const int sig = grpc_util::WaitForShutdownSignal();
  log::Info("shutting down", {{"signal", sig}});
  ready = false;
  server->Shutdown(absl::Seconds(5));
  intake.Stop();
  http.Stop();
  runner.Stop();
  log::Info("stopped");
  return absl::OkStatus();
}

}  // namespace

int RunService(int argc, char** argv) {
  grpc_util::BlockShutdownSignals();  // before any thread starts, so only sigwait sees them
  Settings settings;
  Config config = Declare(settings);
  if (Status s = config.Parse(argc, argv); !s.ok()) {
    std::cerr << kService << ": " << s.message() << "\n\n" << config.Usage();
    return 2;
  }
  if (config.help_requested()) {
    std::cout << config.Usage();
    return 0;
  }
  log::Level level;
  if (!log::ParseLevel(settings.log_level, &level)) {
    std::cerr << kService << ": --log-level: \"" << settings.log_level << "\" is not debug, info, warn or error\n";
    return 2;
  }
  log::Init(kService, level);
  if (Status s = Serve(settings); !s.ok()) {
    log::Error("service failed", {{"error", s.ToString()}});
    return s.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
  }
  return 0;
}

}  // namespace sales::lead_acquisition
