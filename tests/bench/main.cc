// sales_bench: the platform's performance figures on this machine (issue 4, `make bench`).
//
// Needs a running Kafka broker (--kafka-bootstrap; tests/bench/run-bench.sh starts one of its own)
// and the lead-acquisition, first-offers and client-support executables. Prints a table (figure, median of the repeats, target,
// pass/miss) and writes the same figures as JSON (--out). --quick runs every measurement once
// with small counts, as `make test` does to check that the benchmark still works; its figures mean
// nothing. docs/PERFORMANCE.md describes the method of each figure.
//
// Exit code: 0 when every measurement ran (targets missed or not), 1 when one failed, 2 on bad flags.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/base/config.h"
#include "common/base/ids.h"
#include "common/base/strings.h"
#include "common/events/envelope.h"
#include "common/kafka/client_config.h"
#include "common/kafka/kafka_publisher.h"
#include "common/store/store.h"
#include "common/testing/temp_dir.h"
#include "sales/api/v1/admin.grpc.pb.h"
#include "sales/api/v1/client_support.grpc.pb.h"
#include "sales/api/v1/reporting.grpc.pb.h"
#include "tests/bench/cpu.h"
#include "tests/bench/kafka_bench.h"
#include "tests/bench/lead_data.h"
#include "tests/bench/offer_data.h"
#include "tests/bench/offers_bench.h"
#include "tests/bench/report.h"
#include "tests/bench/service_bench.h"
#include "tests/bench/stats.h"
#include "tests/bench/store_bench.h"
#include "tests/bench/support_data.h"

namespace sales::bench {
namespace {

// How much each measurement does.
struct Plan {
  int repeats = 3;
  int64_t raw_records = 500000;
  int64_t store_rows = 1000000;
  int store_batch = 2000;
  int capture_rate = 1000;
  absl::Duration capture_duration = absl::Seconds(10);
  absl::Duration warm_up = absl::Seconds(2);
  int peak_concurrency = 64;
  absl::Duration peak_duration = absl::Seconds(10);
  int append_samples = 500;
  int append_rate = 50;
  int lag_rate = 1000;  // lead and offer events a second while the append-to-report samples are taken
  int64_t rebuild_events = 1000000;
  int64_t import_leads = 100000;  // the most one StreamingImportLeads call takes
  int offer_rate = 500;  // DraftOffer + SendOffer pairs per second
  absl::Duration offer_duration = absl::Seconds(10);
  int64_t offer_rebuild_events = 1000000;  // offer events in the rebuild topic (plus their leads')
  int64_t support_rebuild_events = 1000000;  // client support events (plus their managers' and the product)
  int report_calls = 300;                    // GetPlanVsActual calls per repeat
  int64_t pbx_clients = 10000;               // clients known before the PBX records arrive
  int64_t pbx_records = 50000;               // PBX call records per repeat

  static Plan Quick() {
    Plan p;
    p.repeats = 1;
    p.raw_records = 5000;
    p.store_rows = 20000;
    p.capture_duration = absl::Seconds(1);
    p.warm_up = absl::Milliseconds(200);
    p.peak_duration = absl::Seconds(1);
    p.append_samples = 20;
    p.lag_rate = 200;
    p.rebuild_events = 20000;
    p.import_leads = 2000;
    p.offer_duration = absl::Seconds(1);
    p.offer_rebuild_events = 20000;
    p.support_rebuild_events = 20000;
    p.report_calls = 50;
    p.pbx_clients = 500;
    p.pbx_records = 2000;
    return p;
  }
};

// The topics of the offers rebuild (sales.leads and sales.offers), written once per run and read
// by the first offers and the reporting rebuilds.
struct OffersTopics {
  std::string full_prefix, empty_prefix;
  int64_t lead_events = 0, offer_events = 0;  // offer_events includes the one product event
};

struct Bench {
  Plan plan;
  std::optional<OffersTopics> offers_topics;
  ServiceSetup setup;
  std::string run;  // unique per invocation: topic prefixes and idempotency keys
  Report report;
  CpuMeter cpu;     // the broker (when its pid is known), this program, and the service under test
  // --reporting-store / --offers-prefix: for working on the report queries (a profiler on the
  // service) without writing the topics and rebuilding each time. Empty: not asked.
  std::string reporting_store, offers_prefix;
  std::set<std::string> reports;  // --reports: the report queries to time (empty: all)

  std::string Prefix(const std::string& measurement) const { return StrCat("bench-", run, "-", measurement, "."); }
  std::string Dir(const std::string& name) const { return StrCat(setup.work_dir, "/", name); }
  void Log(const std::string& line) const { std::cerr << "sales_bench: " << line << std::endl; }
};

constexpr char kLeadsTopic[] = "sales.leads";
constexpr char kOffersTopic[] = "sales.offers";
constexpr char kClientsTopic[] = "sales.clients";
constexpr char kCallsTopic[] = "telephony.calls.inbound";

// `count` lead events for `topic`, in chunks of at most 20,000 (one Publish() each).
std::vector<std::vector<kafka::OutgoingMessage>> LeadEvents(const std::string& topic, const std::string& run,
                                                            int64_t first, int64_t count) {
  std::vector<std::vector<kafka::OutgoingMessage>> chunks;
  for (int64_t i = first; i < first + count; ++i) {
    if (chunks.empty() || chunks.back().size() == 20000) chunks.emplace_back().reserve(20000);
    chunks.back().push_back(CapturedMessage(topic, CaptureRequest(run, i)));
  }
  return chunks;
}

Status RemoveAll(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return absl::UnavailableError(StrCat("cannot remove ", path, ": ", ec.message()));
  return absl::OkStatus();
}

// Stops the service gracefully; a non-zero exit is a failure of the measurement.
Status StopService(Bench& b, std::unique_ptr<testing::ServiceProcess> service) {
  b.cpu.Watch("service", 0);
  ASSIGN_OR_RETURN(int code, service->Stop());
  if (code != 0) return absl::InternalError(StrCat("service exited with ", code, "; log:\n", service->LogTail()));
  return absl::OkStatus();
}

StatusOr<std::unique_ptr<testing::ServiceProcess>> StartService(Bench& b, const std::string& prefix,
                                                                const std::string& data_dir,
                                                                const std::string& binary = "") {
  ASSIGN_OR_RETURN(auto service, StartServiceBinary(b.setup, binary.empty() ? b.setup.binary : binary, prefix,
                                                    data_dir, absl::Minutes(2)));
  b.cpu.Watch("service", service->pid());
  return service;
}

void AddCpu(Bench& b, const std::string& measurement, const std::string& unit, const CpuTally& tally) {
  if (tally.wall_seconds() <= 0) return;
  b.report.AddCpu({measurement, unit, tally.operations() / tally.wall_seconds(), tally.Average()});
}

Status MeasureRawKafka(Bench& b) {
  auto& produce = b.report.Get("raw_produce_per_s");
  auto& consume = b.report.Get("raw_consume_per_s");
  CpuTally produce_cpu(&b.cpu), consume_cpu(&b.cpu);
  // Built once (it takes longer than writing them), then each repeat writes a copy to its topic.
  const auto events = LeadEvents("", StrCat(b.run, "-raw"), 0, b.plan.raw_records);
  for (int r = 1; r <= b.plan.repeats; ++r) {
    const std::string topic = kafka::Topic(b.Prefix(StrCat("raw-r", r)), kLeadsTopic);
    RETURN_IF_ERROR(CreateEventTopics(b.setup.bootstrap, topic, 6));
    auto chunks = events;
    for (auto& chunk : chunks) {
      for (auto& m : chunk) m.topic = topic;
    }
    produce_cpu.Begin();
    ASSIGN_OR_RETURN(double produced, ProduceAll(b.setup.bootstrap, std::move(chunks)));
    produce_cpu.End(static_cast<double>(b.plan.raw_records));
    produce.repeats.push_back(produced);
    consume_cpu.Begin();
    ASSIGN_OR_RETURN(double consumed, ConsumeAll(b.setup.bootstrap, topic));
    consume_cpu.End(static_cast<double>(b.plan.raw_records));
    consume.repeats.push_back(consumed);
    b.Log(StrCat("raw kafka ", r, "/", b.plan.repeats, ": produce ", static_cast<int64_t>(produced),
                 "/s, consume ", static_cast<int64_t>(consumed), "/s"));
  }
  AddCpu(b, "raw produce", "record", produce_cpu);
  AddCpu(b, "raw consume", "record", consume_cpu);
  return absl::OkStatus();
}

Status WarmBroker(Bench& b) {
  const std::string topic = kafka::Topic(b.Prefix("warm"), kLeadsTopic);
  RETURN_IF_ERROR(CreateEventTopics(b.setup.bootstrap, topic, 6));
  b.Log("warming the broker up (500,000 records written and read, not measured)");
  RETURN_IF_ERROR(ProduceAll(b.setup.bootstrap, LeadEvents(topic, StrCat(b.run, "-warm"), 0, 500000)).status());
  return ConsumeAll(b.setup.bootstrap, topic).status();
}

Status MeasureStore(Bench& b) {
  // Projection rows of real lead events; 2,000 distinct ones, cycled.
  std::vector<std::string> rows;
  for (int i = 0; i < 2000; ++i) rows.push_back(LeadRow(CapturedMessage("t", CaptureRequest(b.run, i))));
  auto& figure = b.report.Get("rocksdb_batch_rows_per_s");
  CpuTally cpu(&b.cpu);
  for (int r = 1; r <= b.plan.repeats; ++r) {
    const std::string dir = b.Dir(StrCat("store-r", r));
    RETURN_IF_ERROR(RemoveAll(dir));
    std::vector<std::string> keys;  // lead ids: UUIDs, spread uniformly like these
    for (int64_t i = 0; i < b.plan.store_rows; ++i) keys.push_back(NewUuid());
    cpu.Begin();
    ASSIGN_OR_RETURN(double rate, StoreBatchRate(dir, keys, rows, b.plan.store_batch));
    cpu.End(static_cast<double>(b.plan.store_rows));
    RETURN_IF_ERROR(RemoveAll(dir));
    figure.repeats.push_back(rate);
    b.Log(StrCat("rocksdb ", r, "/", b.plan.repeats, ": ", static_cast<int64_t>(rate), " rows/s"));
  }
  AddCpu(b, "rocksdb batches", "row", cpu);
  return absl::OkStatus();
}

std::string FailureNote(const CallCounts& calls) {
  if (calls.failed == 0) return "";
  return StrCat(calls.failed, " of ", calls.ok + calls.failed, " calls failed, first: ", calls.first_error);
}

Status MeasureCapture(Bench& b) {
  ASSIGN_OR_RETURN(auto service, StartService(b, b.Prefix("capture"), b.Dir("capture-store")));
  auto channel = service->Channel();
  RETURN_IF_ERROR(
      CaptureOpenLoop(channel, StrCat(b.run, "-capture-warm"), b.plan.capture_rate, b.plan.warm_up).status());
  auto& p50 = b.report.Get("capture_p50_ms_at_1k");
  auto& p99 = b.report.Get("capture_p99_ms_at_1k");
  CpuTally cpu(&b.cpu);
  for (int r = 1; r <= b.plan.repeats; ++r) {
    cpu.Begin();
    ASSIGN_OR_RETURN(auto s, CaptureOpenLoop(channel, StrCat(b.run, "-capture-r", r), b.plan.capture_rate,
                                             b.plan.capture_duration));
    cpu.End(static_cast<double>(s.calls.ok));
    p50.repeats.push_back(s.p50_ms);
    p99.repeats.push_back(s.p99_ms);
    if (s.calls.failed) p99.note = FailureNote(s.calls);
    b.Log(StrCat("capture at ", b.plan.capture_rate, "/s ", r, "/", b.plan.repeats, ": p50 ", s.p50_ms, " ms, p99 ",
                 s.p99_ms, " ms, max ", s.max_ms, " ms, ", s.calls.ok, " ok, ", s.calls.failed, " failed"));
  }
  AddCpu(b, "capture at 1k/s", "command", cpu);
  channel.reset();  // an open connection would hold the service's graceful shutdown for its grace period
  RETURN_IF_ERROR(StopService(b, std::move(service)));
  return RemoveAll(b.Dir("capture-store"));
}

Status MeasurePeak(Bench& b) {
  ASSIGN_OR_RETURN(auto service, StartService(b, b.Prefix("peak"), b.Dir("peak-store")));
  auto channel = service->Channel();
  CallCounts calls;
  RETURN_IF_ERROR(
      CaptureClosedLoop(channel, StrCat(b.run, "-peak-warm"), b.plan.peak_concurrency, b.plan.warm_up, &calls)
          .status());
  auto& figure = b.report.Get("peak_commands_per_s");
  CpuTally cpu(&b.cpu);
  for (int r = 1; r <= b.plan.repeats; ++r) {
    cpu.Begin();
    ASSIGN_OR_RETURN(double rate, CaptureClosedLoop(channel, StrCat(b.run, "-peak-r", r), b.plan.peak_concurrency,
                                                    b.plan.peak_duration, &calls));
    cpu.End(static_cast<double>(calls.ok));
    figure.repeats.push_back(rate);
    if (calls.failed) figure.note = FailureNote(calls);
    b.Log(StrCat("capture with ", b.plan.peak_concurrency, " callers ", r, "/", b.plan.repeats, ": ",
                 static_cast<int64_t>(rate), "/s, ", calls.ok, " ok, ", calls.failed, " failed"));
  }
  AddCpu(b, "capture, 64 callers", "command", cpu);
  channel.reset();
  RETURN_IF_ERROR(StopService(b, std::move(service)));
  return RemoveAll(b.Dir("peak-store"));
}

Status MeasureAppendToQuery(Bench& b) {
  const std::string prefix = b.Prefix("append");
  ASSIGN_OR_RETURN(auto service, StartService(b, prefix, b.Dir("append-store")));
  auto channel = service->Channel();
  const std::string topic = kafka::Topic(prefix, kLeadsTopic);
  // Warm-up, not counted: for up to a second after the service created its topics its consumer
  // does not fetch yet, so the first event waits that long (a start-up effect, not the steady state).
  RETURN_IF_ERROR(AppendToQuery(b.setup.bootstrap, channel, topic, StrCat(b.run, "-append-warm"), 5, 5).status());
  auto& p50 = b.report.Get("append_to_query_p50_ms");
  auto& p99 = b.report.Get("append_to_query_p99_ms");
  for (int r = 1; r <= b.plan.repeats; ++r) {
    ASSIGN_OR_RETURN(auto s, AppendToQuery(b.setup.bootstrap, channel, topic, StrCat(b.run, "-append-r", r),
                                           b.plan.append_samples, b.plan.append_rate));
    p50.repeats.push_back(s.p50_ms);
    p99.repeats.push_back(s.p99_ms);
    if (s.calls.failed) p99.note = FailureNote(s.calls);
    b.Log(StrCat("append-to-query ", r, "/", b.plan.repeats, ": p50 ", s.p50_ms, " ms, p99 ", s.p99_ms, " ms, max ",
                 s.max_ms, " ms over ", s.calls.ok, " samples"));
  }
  channel.reset();
  RETURN_IF_ERROR(StopService(b, std::move(service)));
  return RemoveAll(b.Dir("append-store"));
}

// Where one rebuild measurement puts its figures.
struct RebuildFigures {
  const char* name;       // in logs, store folders and the CPU table
  const char* rate;       // events/s
  const char* peak_rss;   // MiB
  const char* ready;      // s, start to ready on the full topics
  const char* empty;      // s, start to ready on empty topics
};

// The repeats of a rebuild: each starts `binary` twice with an empty store, on `empty_prefix`
// (topics there but empty) and on `full_prefix`, whose topics hold `events` events that its
// projection must all apply; rate = events / (full start - empty start). With `kept_store`, the
// last repeat's store is kept there (for measurements on the rebuilt store) instead of removed.
Status RebuildRepeats(Bench& b, const std::string& binary, const std::string& full_prefix,
                      const std::string& empty_prefix, int64_t events, const RebuildFigures& f,
                      std::string* kept_store = nullptr) {
  const int64_t n = events;
  auto& rate = b.report.Get(f.rate);
  auto& rss = b.report.Get(f.peak_rss);
  auto& ready = b.report.Get(f.ready);
  auto& empty = b.report.Get(f.empty);
  CpuTally cpu(&b.cpu);
  const absl::Duration timeout = absl::Minutes(30);
  for (int r = 1; r <= b.plan.repeats; ++r) {
    const std::string dir = b.Dir(StrCat(f.name, "-store-r", r));
    ASSIGN_OR_RETURN(StartupSample baseline,
                     StartToReady(b.setup, binary, empty_prefix, dir + "-empty", 0, timeout, b.cpu));
    ASSIGN_OR_RETURN(StartupSample full, StartToReady(b.setup, binary, full_prefix, dir, n, timeout, b.cpu));
    RETURN_IF_ERROR(RemoveAll(dir + "-empty"));
    const int64_t store_bytes = DirectoryBytes(dir);  // once the service stopped: how the store grows
    if (kept_store != nullptr && r == b.plan.repeats) {
      *kept_store = dir;
    } else {
      RETURN_IF_ERROR(RemoveAll(dir));
    }
    const double catch_up = full.seconds_to_ready - baseline.seconds_to_ready;
    if (catch_up <= 0) {
      return absl::InternalError(StrCat(f.name, " start (", full.seconds_to_ready,
                                        " s) not slower than an empty start (", baseline.seconds_to_ready,
                                        " s): too few events to measure"));
    }
    rate.repeats.push_back(static_cast<double>(n) / catch_up);
    rss.repeats.push_back(full.peak_rss_mb);
    ready.repeats.push_back(full.seconds_to_ready);
    empty.repeats.push_back(baseline.seconds_to_ready);
    // The service's CPU for the catch-up alone: its CPU at ready minus that of an empty start.
    CpuUse use = full.cpu;
    use.process_cores["service"] =
        std::max(0.0, full.service_cpu_seconds - baseline.service_cpu_seconds) / full.seconds_to_ready;
    cpu.Add(use, static_cast<double>(n));
    b.Log(StrCat(f.name, " ", r, "/", b.plan.repeats, ": ready after ", full.seconds_to_ready, " s (empty topics: ",
                 baseline.seconds_to_ready, " s) -> ", static_cast<int64_t>(n / catch_up), " events/s, peak RSS ",
                 full.peak_rss_mb, " MiB, service CPU ", full.service_cpu_seconds, " s, store ",
                 store_bytes >> 20, " MiB"));
  }
  AddCpu(b, f.name, "event", cpu);
  return absl::OkStatus();
}

Status MeasureRebuild(Bench& b) {
  const int64_t n = b.plan.rebuild_events;
  const std::string full_prefix = b.Prefix("rebuild"), empty_prefix = b.Prefix("empty");
  const std::string topic = kafka::Topic(full_prefix, kLeadsTopic);
  RETURN_IF_ERROR(CreateEventTopics(b.setup.bootstrap, topic, 6));
  RETURN_IF_ERROR(CreateEventTopics(b.setup.bootstrap, kafka::Topic(empty_prefix, kLeadsTopic), 6));
  b.Log(StrCat("rebuild: writing ", n, " lead events to ", topic));
  const std::string run = StrCat(b.run, "-rebuild");
  int64_t built = 0;
  RETURN_IF_ERROR(ProduceInOrder(b.setup.bootstrap, [&]() -> std::optional<std::vector<kafka::OutgoingMessage>> {
                    if (built >= n) return std::nullopt;
                    const int64_t count = std::min<int64_t>(20000, n - built);  // one chunk
                    auto chunks = LeadEvents(topic, run, built, count);
                    built += count;
                    return std::move(chunks.front());
                  }).status());
  return RebuildRepeats(b, b.setup.binary, full_prefix, empty_prefix, n,
                        {"rebuild", "rebuild_events_per_s", "rebuild_peak_rss_mb", "rebuild_ready_s", "startup_empty_s"});
}

Status MeasureImport(Bench& b) {
  ASSIGN_OR_RETURN(auto service, StartService(b, b.Prefix("import"), b.Dir("import-store")));
  // Default channel settings, as any client has them: the answer streams back in chunks.
  auto channel =
      ::grpc::CreateChannel(StrCat("127.0.0.1:", service->grpc_port()), ::grpc::InsecureChannelCredentials());
  RETURN_IF_ERROR(ImportLeadsRate(channel, StrCat(b.run, "-import-warm"), 1000).status());
  auto& figure = b.report.Get("import_leads_per_s");
  CpuTally cpu(&b.cpu);
  for (int r = 1; r <= b.plan.repeats; ++r) {
    cpu.Begin();
    ASSIGN_OR_RETURN(double rate, ImportLeadsRate(channel, StrCat(b.run, "-import-r", r), b.plan.import_leads));
    cpu.End(static_cast<double>(b.plan.import_leads));
    figure.repeats.push_back(rate);
    b.Log(StrCat("import ", r, "/", b.plan.repeats, ": ", b.plan.import_leads, " leads at ",
                 static_cast<int64_t>(rate), "/s"));
  }
  AddCpu(b, "ImportLeads", "lead", cpu);

  // Integration pipelines import side by side: four streams of a quarter each. Their chunks queue
  // up behind one another, so the decider decides the next during a chunk's round trip.
  constexpr int kStreams = 4;
  const int64_t per_stream = b.plan.import_leads / kStreams;
  auto& streams = b.report.Get("import_4_streams_leads_per_s");
  CpuTally streams_cpu(&b.cpu);
  for (int r = 1; r <= b.plan.repeats; ++r) {
    streams_cpu.Begin();
    const absl::Time start = absl::Now();
    std::vector<std::future<StatusOr<double>>> calls;
    for (int k = 0; k < kStreams; ++k) {
      calls.push_back(std::async(std::launch::async, [&, k] {
        return ImportLeadsRate(channel, StrCat(b.run, "-import-s", r, "-", k), per_stream);
      }));
    }
    for (auto& call : calls) RETURN_IF_ERROR(call.get().status());
    const double leads = static_cast<double>(per_stream * kStreams);
    const double rate = leads / absl::ToDoubleSeconds(absl::Now() - start);
    streams_cpu.End(leads);
    streams.repeats.push_back(rate);
    b.Log(StrCat("import in ", kStreams, " streams ", r, "/", b.plan.repeats, ": ", per_stream * kStreams,
                 " leads at ", static_cast<int64_t>(rate), "/s"));
  }
  AddCpu(b, "ImportLeads, 4 streams", "lead", streams_cpu);
  channel.reset();
  RETURN_IF_ERROR(StopService(b, std::move(service)));
  return RemoveAll(b.Dir("import-store"));
}

Status MeasureOffers(Bench& b) {
  const std::string prefix = b.Prefix("offers");
  const std::string leads_topic = kafka::Topic(prefix, kLeadsTopic);
  RETURN_IF_ERROR(CreateEventTopics(b.setup.bootstrap, leads_topic, 6));
  const auto pairs_in = [&](absl::Duration d) {
    return static_cast<int64_t>(absl::ToDoubleSeconds(d) * b.plan.offer_rate);
  };
  const int64_t warm = pairs_in(b.plan.warm_up), each = pairs_in(b.plan.offer_duration);
  const int64_t leads = warm + each * b.plan.repeats;  // an offer per lead
  OfferData data(StrCat(b.run, "-offers"));
  std::vector<std::string> lead_ids;
  b.Log(StrCat("offers: writing ", leads, " qualified leads (", 2 * leads, " events) to ", leads_topic));
  RETURN_IF_ERROR(ProduceInOrder(b.setup.bootstrap, [&]() -> std::optional<std::vector<kafka::OutgoingMessage>> {
                    if (static_cast<int64_t>(lead_ids.size()) >= leads) return std::nullopt;
                    std::vector<kafka::OutgoingMessage> chunk;
                    for (int64_t i = static_cast<int64_t>(lead_ids.size()); i < leads && chunk.size() < 20000; ++i) {
                      lead_ids.push_back(data.QualifiedLead(leads_topic, i, &chunk));
                    }
                    return chunk;
                  }).status());

  ASSIGN_OR_RETURN(auto service, StartService(b, prefix, b.Dir("offers-store"), b.setup.offers_binary));
  auto channel = service->Channel();
  // Ready means caught up with the topics as they were at its start, which already held every
  // lead; checked anyway: the last lead must be an open opportunity.
  RETURN_IF_ERROR(WaitForOpportunity(channel, lead_ids.back(), absl::Minutes(1)));
  RETURN_IF_ERROR(UpsertBenchProduct(channel, b.run));
  const auto slice = [&](int64_t first, int64_t count) {
    return std::vector<std::string>(lead_ids.begin() + first, lead_ids.begin() + first + count);
  };
  RETURN_IF_ERROR(DraftSendOpenLoop(channel, StrCat(b.run, "-offers-warm"), slice(0, warm), b.plan.offer_rate,
                                    b.plan.warm_up)
                      .status());
  auto& p50 = b.report.Get("offer_draft_send_p50_ms_at_500");
  auto& p99 = b.report.Get("offer_draft_send_p99_ms_at_500");
  CpuTally cpu(&b.cpu);
  for (int r = 1; r <= b.plan.repeats; ++r) {
    const std::vector<std::string> ids = slice(warm + (r - 1) * each, each);
    cpu.Begin();
    ASSIGN_OR_RETURN(auto s, DraftSendOpenLoop(channel, StrCat(b.run, "-offers-r", r), ids, b.plan.offer_rate,
                                               b.plan.offer_duration));
    cpu.End(static_cast<double>(s.calls.ok));
    p50.repeats.push_back(s.p50_ms);
    p99.repeats.push_back(s.p99_ms);
    if (s.calls.failed) p99.note = FailureNote(s.calls);
    b.Log(StrCat("offers draft+send at ", b.plan.offer_rate, "/s ", r, "/", b.plan.repeats, ": p50 ", s.p50_ms,
                 " ms, p99 ", s.p99_ms, " ms, max ", s.max_ms, " ms, ", s.calls.ok, " pairs ok, ", s.calls.failed,
                 " failed"));
  }
  AddCpu(b, "offers draft+send at 500/s", "pair", cpu);
  channel.reset();
  RETURN_IF_ERROR(StopService(b, std::move(service)));
  return RemoveAll(b.Dir("offers-store"));
}

// The offers rebuild's topics: per qualified lead (2 events on sales.leads, assigned in turn to one
// of kBenchManagers managers) 8 offer events on sales.offers, after the product they are priced
// from. The leads are captured evenly over the 365 days before the run, a lead's offers at the same
// moment: a lead of the last 30 days has four offers, one accepted (it converts the lead), two sent
// and one drafted, all three still open; an older lead's offers are decided: one accepted, one
// rejected, one withdrawn as a draft. So reports over it read a year of days, a team of rows and a
// month's open pipeline. Written in the order built (ProduceInOrder): an offer's events follow
// each other.
StatusOr<OffersTopics> WriteOffersTopics(Bench& b) {
  if (b.offers_topics) return *b.offers_topics;
  constexpr int kOfferEventsPerLead = 8;
  const int64_t leads = std::max<int64_t>(1, b.plan.offer_rebuild_events / kOfferEventsPerLead);
  const std::string full_prefix = b.Prefix("offers-rebuild"), empty_prefix = b.Prefix("offers-empty");
  for (const std::string& prefix : {full_prefix, empty_prefix}) {
    for (const char* topic : {kLeadsTopic, kOffersTopic}) {
      RETURN_IF_ERROR(CreateEventTopics(b.setup.bootstrap, kafka::Topic(prefix, topic), 6));
    }
  }
  const std::string leads_topic = kafka::Topic(full_prefix, kLeadsTopic);
  const std::string offers_topic = kafka::Topic(full_prefix, kOffersTopic);
  constexpr int kBenchManagers = 20;
  const absl::Time first_day = absl::Now() - absl::Hours(24 * 365);
  OfferData data(StrCat(b.run, "-offers-rebuild"), first_day);
  int64_t lead_events = 0, offer_events = 0, lead = 0, offer = 0;
  b.Log(StrCat("offers rebuild: writing ", leads, " qualified leads and ", leads * kOfferEventsPerLead,
               " offer events to ", leads_topic, " and ", offers_topic));
  const absl::Time start = absl::Now();
  RETURN_IF_ERROR(ProduceInOrder(b.setup.bootstrap, [&]() -> std::optional<std::vector<kafka::OutgoingMessage>> {
                    if (lead >= leads) return std::nullopt;
                    std::vector<kafka::OutgoingMessage> chunk;
                    chunk.reserve(20010);
                    if (lead == 0) {
                      chunk.push_back(data.ProductUpserted(offers_topic));
                      offer_events += 1;
                    }
                    for (; lead < leads && chunk.size() < 20000; ++lead) {
                      data.MoveTo(first_day + absl::Hours(24 * 365) * (static_cast<double>(lead) / leads));
                      data.AssignTo(StrCat("bench-manager-", lead % kBenchManagers));
                      data.QualifiedLead(leads_topic, lead, &chunk);
                      lead_events += 2;
                      // Older than an offer's 30 days: decided, one way or another.
                      const bool decided = lead < leads - leads * 30 / 365;
                      using End = OfferData::OfferEnd;
                      for (End end : decided ? std::vector<End>{End::kAccepted, End::kRejected, End::kWithdrawn}
                                             : std::vector<End>{End::kAccepted, End::kSent, End::kSent, End::kDrafted}) {
                        offer_events += data.Offer(offers_topic, offer++, end, &chunk);
                      }
                    }
                    return chunk;
                  }).status());
  b.Log(StrCat("offers rebuild: ", offer_events, " offer events (product included) and ", lead_events,
               " lead events written in ", absl::ToInt64Seconds(absl::Now() - start), " s"));
  b.offers_topics = OffersTopics{full_prefix, empty_prefix, lead_events, offer_events};
  return *b.offers_topics;
}

Status MeasureOffersRebuild(Bench& b) {
  ASSIGN_OR_RETURN(OffersTopics t, WriteOffersTopics(b));
  return RebuildRepeats(b, b.setup.offers_binary, t.full_prefix, t.empty_prefix, t.offer_events + t.lead_events,
                        {"offers-rebuild", "offers_rebuild_events_per_s", "offers_rebuild_peak_rss_mb",
                         "offers_rebuild_ready_s", "offers_startup_empty_s"});
}

// The time from an event's append until a report reflects it (issue 11's lag: consumer,
// projection and roll-ups of reporting, end to end), at `lag_rate` events a second on sales.leads
// and sales.offers together. A load thread appends qualified leads (LeadCaptured, LeadQualified,
// as lead acquisition appends them) to make up the rate; among them, `append_rate` samples a
// second, one at a time, alternate between two kinds, each timed from its acknowledgement until a
// report read every millisecond shows it:
// - a lead: a LeadCaptured in a region of its own (kProbeRegion), until GetFunnel of the day
//   filtered on that region counts one more captured lead;
// - a sale: a qualified lead and its drafted and sent offer first, untimed; then the acceptance,
//   until GetPlanVsActual of revenue for the day counts one more sale line.
// The service holds the whole offers rebuild's store.
constexpr char kProbeRegion[] = "ZZ-LAG";

Status MeasureAppendToReport(Bench& b, const OffersTopics& t, api::v1::Reporting::Stub& stub) {
  const std::string leads = kafka::Topic(t.full_prefix, kLeadsTopic);
  const std::string offers = kafka::Topic(t.full_prefix, kOffersTopic);
  const auto publisher = [&](const char* name) {
    kafka::PublisherOptions options;
    options.client = {b.setup.bootstrap, name, {}};
    return kafka::KafkaPublisher::Create(options);
  };
  ASSIGN_OR_RETURN(auto sample_publisher, publisher("sales-bench-append-report"));
  ASSIGN_OR_RETURN(auto load_publisher, publisher("sales-bench-append-load"));
  const auto today = [] { return absl::FormatTime("%Y-%m-%d", absl::Now(), absl::UTCTimeZone()); };
  const auto deadline = [](::grpc::ClientContext& ctx) {
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  };
  // What each kind's report counts now.
  const auto leads_counted = [&]() -> StatusOr<int64_t> {
    api::v1::FunnelRequest request;
    request.set_period(today());
    request.mutable_filters()->set_region(kProbeRegion);
    api::v1::FunnelResponse response;
    ::grpc::ClientContext ctx;
    deadline(ctx);
    ::grpc::Status s = stub.GetFunnel(&ctx, request, &response);
    if (!s.ok()) return absl::InternalError(StrCat("GetFunnel: ", s.error_message()));
    return response.total().rows().empty() ? 0 : response.total().rows(0).cohort().captured();
  };
  const auto sales_counted = [&]() -> StatusOr<int64_t> {
    api::v1::PlanVsActualRequest request;
    request.set_period(today());
    request.set_metric(events::v1::PLAN_METRIC_REVENUE);
    api::v1::PlanVsActualResponse response;
    ::grpc::ClientContext ctx;
    deadline(ctx);
    ::grpc::Status s = stub.GetPlanVsActual(&ctx, request, &response);
    if (!s.ok()) return absl::InternalError(StrCat("GetPlanVsActual: ", s.error_message()));
    return response.total().facts();
  };
  auto& lead_p50 = b.report.Get("lead_to_report_p50_ms");
  auto& lead_p99 = b.report.Get("lead_to_report_p99_ms");
  auto& sale_p50 = b.report.Get("append_to_report_p50_ms");
  auto& sale_p99 = b.report.Get("append_to_report_p99_ms");
  auto& rate = b.report.Get("lag_events_per_s");
  CpuTally cpu(&b.cpu);
  for (int r = 0; r <= b.plan.repeats; ++r) {  // r = 0: warm-up, not counted
    const std::string run = StrCat(b.run, "-append-report-r", r);
    cpu.Begin();
    std::atomic<int64_t> appended = 0;  // by both threads: the load makes up the rate
    std::atomic<bool> done = false;
    Status load_status;
    const absl::Time start = absl::Now();
    std::thread load([&] {
      OfferData data(StrCat(run, "-load"));
      for (int64_t lead = 0; !done.load();) {
        const auto due = static_cast<int64_t>(absl::ToDoubleSeconds(absl::Now() - start) * b.plan.lag_rate);
        std::vector<kafka::OutgoingMessage> chunk;
        while (appended.load() + static_cast<int64_t>(chunk.size()) + 2 <= due) data.QualifiedLead(leads, lead++, &chunk);
        if (chunk.empty()) {
          absl::SleepFor(absl::Milliseconds(2));
          continue;
        }
        appended += static_cast<int64_t>(chunk.size());
        if (Status s = kafka::AllDelivered(load_publisher->Publish(std::move(chunk), absl::Seconds(10))).status();
            !s.ok()) {
          load_status = s;
          return;
        }
      }
    });
    std::vector<double> lead_ms, sale_ms;
    Status sampled = [&]() -> Status {
      OfferData data(run);
      const int samples = r == 0 ? 10 : b.plan.append_samples;
      const absl::Duration interval = absl::Seconds(1) / b.plan.append_rate;
      for (int i = 0; i < samples; ++i) {
        const absl::Duration wait = start + interval * i - absl::Now();
        if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
        const bool sale = i % 2 == 1;
        std::vector<kafka::OutgoingMessage> before, timed;
        if (sale) {
          std::vector<kafka::OutgoingMessage> offer;
          data.QualifiedLead(leads, i, &before);
          data.Offer(offers, i, OfferData::OfferEnd::kAccepted, &offer);
          timed.push_back(std::move(offer.back()));
          offer.pop_back();
          for (auto& m : offer) before.push_back(std::move(m));
          appended += static_cast<int64_t>(before.size());
          RETURN_IF_ERROR(kafka::AllDelivered(sample_publisher->Publish(std::move(before), absl::Seconds(10))).status());
        } else {
          api::v1::CaptureLeadRequest request = CaptureRequest(StrCat(run, "-probe"), i);
          request.set_region(kProbeRegion);
          timed.push_back(CapturedMessage(leads, request));
        }
        const auto counted = sale ? std::function(sales_counted) : std::function(leads_counted);
        ASSIGN_OR_RETURN(const int64_t counted_before, counted());
        appended += 1;
        RETURN_IF_ERROR(kafka::AllDelivered(sample_publisher->Publish(std::move(timed), absl::Seconds(10))).status());
        const absl::Time acked = absl::Now();
        while (true) {
          ASSIGN_OR_RETURN(const int64_t now_counted, counted());
          if (now_counted > counted_before) break;
          if (absl::Now() - acked > absl::Seconds(10)) {
            return absl::DeadlineExceededError(StrCat(sale ? "a sale" : "a lead", " never reached the report"));
          }
          absl::SleepFor(absl::Milliseconds(1));
        }
        std::vector<double>& ms = sale ? sale_ms : lead_ms;
        ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - acked));
        if (ms.back() > 100) {  // (a tail sample: when it came, to match with the service's logs)
          b.Log(StrCat("append to report ", r, ": ", sale ? "sale" : "lead", " sample ", i, " took ", ms.back(),
                       " ms, acknowledged at ", absl::FormatTime("%H:%M:%E3S", acked, absl::UTCTimeZone())));
        }
      }
      return absl::OkStatus();
    }();
    done = true;
    load.join();
    const double events_per_s = static_cast<double>(appended.load()) / absl::ToDoubleSeconds(absl::Now() - start);
    RETURN_IF_ERROR(sampled);
    RETURN_IF_ERROR(load_status);
    if (r == 0) continue;
    cpu.End(static_cast<double>(appended.load()));
    const double lead_median = Percentile(lead_ms, 0.50), lead_tail = Percentile(lead_ms, 0.99);
    const double sale_median = Percentile(sale_ms, 0.50), sale_tail = Percentile(sale_ms, 0.99);
    lead_p50.repeats.push_back(lead_median);
    lead_p99.repeats.push_back(lead_tail);
    sale_p50.repeats.push_back(sale_median);
    sale_p99.repeats.push_back(sale_tail);
    rate.repeats.push_back(events_per_s);
    b.Log(StrCat("append to report ", r, "/", b.plan.repeats, " at ", static_cast<int64_t>(events_per_s),
                 " events/s: lead p50 ", lead_median, " ms, p99 ", lead_tail, " ms over ", lead_ms.size(),
                 " leads; sale p50 ", sale_median, " ms, p99 ", sale_tail, " ms over ", sale_ms.size(), " sales"));
    for (auto* ms : {&lead_ms, &sale_ms}) {
      std::sort(ms->rbegin(), ms->rend());
      ms->resize(std::min<size_t>(ms->size(), 8));
    }
    b.Log(StrCat("append to report ", r, ": slowest leads ", absl::StrJoin(lead_ms, ", "), " ms; slowest sales ",
                 absl::StrJoin(sale_ms, ", "), " ms"));
  }
  AddCpu(b, "lead and offer events at the lag rate", "event", cpu);
  return absl::OkStatus();
}

// The reports other than plan against actual, each as a table (GetReportTable, what salesctl and
// the dashboard call) for the current year in months, by manager where the report takes a
// dimension, `report_calls / 3` calls one after another per repeat; latency from the client's side.
struct ReportQuery {
  const char* key;  // report_<key>_p50_ms, report_<key>_p99_ms
  api::v1::ReportRequest request;
};

std::vector<ReportQuery> ReportQueries() {
  const std::string year = absl::FormatTime("%Y", absl::Now(), absl::UTCTimeZone());
  constexpr auto kMonth = api::v1::BUCKET_MONTH;
  constexpr auto kManager = events::v1::PLAN_DIMENSION_MANAGER;
  std::vector<ReportQuery> q(9);
  const auto with = [&](int i, const char* key, auto* r) {
    q[i].key = key;
    r->set_period(year);
    r->set_dynamics(kMonth);
    return r;
  };
  with(0, "funnel", q[0].request.mutable_funnel())->set_by(kManager);
  with(1, "cycle_times", q[1].request.mutable_cycle_times())->set_by(kManager);
  with(2, "lost_reasons", q[2].request.mutable_lost_reasons());
  with(3, "scorecards", q[3].request.mutable_scorecards());
  with(4, "products", q[4].request.mutable_products());
  with(5, "client_revenue", q[5].request.mutable_client_revenue())->set_by(kManager);
  with(6, "concentration", q[6].request.mutable_concentration());
  with(7, "inbound_calls", q[7].request.mutable_inbound_calls());
  with(8, "pipeline", q[8].request.mutable_pipeline())->set_by(kManager);
  return q;
}

// Calls `call` (it times itself) `calls` times one after another per repeat, after 3 untimed ones,
// or fewer when they take more than 20 s in all (at least 5: a slow query shows as slow without
// holding the run for an hour). Each repeat's p50 and p99 go to the figures `<key>_p50_ms` and
// `<key>_p99_ms`, the CPU to a row named `what`.
Status TimeQueries(Bench& b, const std::string& what, const std::string& key, int calls,
                   const std::function<Status(absl::Duration*)>& call) {
  auto& p50 = b.report.Get(StrCat(key, "_p50_ms"));
  auto& p99 = b.report.Get(StrCat(key, "_p99_ms"));
  absl::Duration took;
  for (int i = 0; i < 3; ++i) RETURN_IF_ERROR(call(&took));  // warm-up: caches, connections
  CpuTally cpu(&b.cpu);
  int64_t made = 0;
  for (int r = 1; r <= b.plan.repeats; ++r) {
    std::vector<double> ms;
    cpu.Begin();
    const absl::Time began = absl::Now();
    for (int i = 0; i < calls && (i < 5 || absl::Now() - began < absl::Seconds(20)); ++i) {
      RETURN_IF_ERROR(call(&took));
      ms.push_back(absl::ToDoubleMilliseconds(took));
    }
    cpu.End(static_cast<double>(ms.size()));
    made += static_cast<int64_t>(ms.size());
    const double median = Percentile(ms, 0.50), tail = Percentile(ms, 0.99);
    p50.repeats.push_back(median);
    p99.repeats.push_back(tail);
    b.Log(StrCat(what, " ", r, "/", b.plan.repeats, ": p50 ", median, " ms, p99 ", tail, " ms over ", ms.size(),
                 " calls"));
  }
  AddCpu(b, what, "call", cpu);
  if (made < static_cast<int64_t>(calls) * b.plan.repeats) p99.note = StrCat("over ", made, " calls (20 s a repeat)");
  return absl::OkStatus();
}

Status MeasureReportQueries(Bench& b, api::v1::Reporting::Stub& stub) {
  for (const ReportQuery& q : ReportQueries()) {
    if (!b.reports.empty() && !b.reports.count(q.key)) continue;
    const auto call = [&](absl::Duration* took) -> Status {
      api::v1::ReportTable table;
      ::grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
      const absl::Time start = absl::Now();
      ::grpc::Status s = stub.GetReportTable(&ctx, q.request, &table);
      *took = absl::Now() - start;
      if (!s.ok()) return absl::InternalError(StrCat("GetReportTable ", q.key, ": ", s.error_message()));
      if (table.rows().empty()) return absl::InternalError(StrCat("GetReportTable ", q.key, ": no rows"));
      return absl::OkStatus();
    };
    RETURN_IF_ERROR(TimeQueries(b, StrCat("report ", q.key, " year by month"), StrCat("report_", q.key),
                                std::max(1, b.plan.report_calls / 3), call));
  }
  return absl::OkStatus();
}

// Reporting over the offers rebuild's topics: its rebuild (every lead and offer event applied; the
// product event is not used) and then, on the store it built, GetPlanVsActual of revenue for the
// current year in months by manager (the facts: one accepted offer per qualified lead), called one
// after another; latency per call from the client's side.
Status MeasureReporting(Bench& b) {
  const bool reuse = !b.reporting_store.empty() && std::filesystem::exists(b.reporting_store);
  if (reuse) {
    if (b.offers_prefix.empty()) return absl::InvalidArgumentError("--reporting-store of an earlier run needs --offers-prefix");
    b.offers_topics = OffersTopics{b.offers_prefix, "", 0, 0};
    b.Log(StrCat("reporting: the queries on ", b.reporting_store, " (no rebuild), topics ", b.offers_prefix, "*"));
  }
  ASSIGN_OR_RETURN(OffersTopics t, WriteOffersTopics(b));
  std::string store = b.reporting_store;  // the last rebuild's: the queries run on it (no second rebuild)
  if (!reuse) {
    RETURN_IF_ERROR(RebuildRepeats(b, b.setup.reporting_binary, t.full_prefix, t.empty_prefix,
                                   t.offer_events - 1 + t.lead_events,
                                   {"reporting-rebuild", "reporting_rebuild_events_per_s",
                                    "reporting_rebuild_peak_rss_mb", "reporting_rebuild_ready_s",
                                    "reporting_startup_empty_s"},
                                   &store));
  }
  if (!reuse && !b.reporting_store.empty()) {
    std::filesystem::rename(store, b.reporting_store);
    store = b.reporting_store;
    b.Log(StrCat("reporting: store kept in ", store, "; again with --reporting-store=", store,
                 " --offers-prefix=", t.full_prefix));
  }
  ASSIGN_OR_RETURN(auto service, StartService(b, t.full_prefix, store, b.setup.reporting_binary));
  auto stub = api::v1::Reporting::NewStub(service->Channel());
  api::v1::PlanVsActualRequest request;
  request.set_period(absl::FormatTime("%Y", absl::Now(), absl::UTCTimeZone()));
  request.set_metric(events::v1::PLAN_METRIC_REVENUE);
  request.set_by(events::v1::PLAN_DIMENSION_MANAGER);
  request.set_dynamics(api::v1::BUCKET_MONTH);
  const auto call = [&](absl::Duration* took) -> Status {
    api::v1::PlanVsActualResponse response;
    ::grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    const absl::Time start = absl::Now();
    ::grpc::Status s = stub->GetPlanVsActual(&ctx, request, &response);
    *took = absl::Now() - start;
    if (!s.ok()) return absl::InternalError(StrCat("GetPlanVsActual: ", s.error_message()));
    if (response.total().facts() == 0) return absl::InternalError("GetPlanVsActual counted no facts: nothing measured");
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(TimeQueries(b, "report year by month", "report_year_by_month", b.plan.report_calls, call));
  RETURN_IF_ERROR(MeasureReportQueries(b, *stub));
  if (!b.reporting_store.empty()) {
    // The lag samples change the store: they run on a checkpoint of the kept one.
    stub.reset();
    RETURN_IF_ERROR(StopService(b, std::move(service)));
    store = b.Dir("append-report-store");
    RETURN_IF_ERROR(RemoveAll(store));
    {
      ASSIGN_OR_RETURN(auto kept, Store::Open({.path = b.reporting_store}));
      RETURN_IF_ERROR(kept->Checkpoint(store));
    }
    ASSIGN_OR_RETURN(service, StartService(b, t.full_prefix, store, b.setup.reporting_binary));
    stub = api::v1::Reporting::NewStub(service->Channel());
  }
  RETURN_IF_ERROR(MeasureAppendToReport(b, t, *stub));
  stub.reset();
  RETURN_IF_ERROR(StopService(b, std::move(service)));
  return RemoveAll(store);
}
// Client support's topics for `clients` clients: the product they order on sales.offers, a manager
// per kClientsPerManager clients on sales.leads (registered with an extension; every other one
// moved away and back), each client's kSupportEventsPerClient events on sales.clients. Written in
// the order built. Returns the events written.
StatusOr<int64_t> WriteSupportTopics(Bench& b, const std::string& prefix, const std::string& run, int64_t clients) {
  for (const char* topic : {kLeadsTopic, kOffersTopic, kClientsTopic}) {
    RETURN_IF_ERROR(CreateEventTopics(b.setup.bootstrap, kafka::Topic(prefix, topic), 6));
  }
  const std::string leads_topic = kafka::Topic(prefix, kLeadsTopic);
  const std::string offers_topic = kafka::Topic(prefix, kOffersTopic);
  const std::string clients_topic = kafka::Topic(prefix, kClientsTopic);
  SupportData data(run);
  const OfferData catalogue(run);
  int64_t client = 0, events = 0;
  RETURN_IF_ERROR(ProduceInOrder(b.setup.bootstrap, [&]() -> std::optional<std::vector<kafka::OutgoingMessage>> {
                    if (client >= clients) return std::nullopt;
                    std::vector<kafka::OutgoingMessage> chunk;
                    chunk.reserve(20020);
                    if (client == 0) chunk.push_back(catalogue.ProductUpserted(offers_topic));
                    for (; client < clients && chunk.size() < 20000; ++client) {
                      if (client % kClientsPerManager == 0) data.Manager(leads_topic, client / kClientsPerManager, &chunk);
                      data.Client(clients_topic, client, &chunk);
                    }
                    events += static_cast<int64_t>(chunk.size());
                    return chunk;
                  }).status());
  return events;
}

// The client support rebuild: WriteSupportTopics on one prefix, nothing on another; each repeat
// starts client-support twice with an empty store, as for the other rebuilds. Every event written
// is one the projection applies (no lead or offer events it would step over).
Status MeasureSupportRebuild(Bench& b) {
  const int64_t clients = std::max<int64_t>(1, b.plan.support_rebuild_events / kSupportEventsPerClient);
  const std::string full_prefix = b.Prefix("support-rebuild"), empty_prefix = b.Prefix("support-empty");
  for (const char* topic : {kLeadsTopic, kOffersTopic, kClientsTopic}) {
    RETURN_IF_ERROR(CreateEventTopics(b.setup.bootstrap, kafka::Topic(empty_prefix, topic), 6));
  }
  b.Log(StrCat("support rebuild: writing ", clients, " clients (", clients * kSupportEventsPerClient,
               " events), their managers and the product"));
  const absl::Time start = absl::Now();
  ASSIGN_OR_RETURN(int64_t events, WriteSupportTopics(b, full_prefix, StrCat(b.run, "-support-rebuild"), clients));
  b.Log(StrCat("support rebuild: ", events, " events written in ", absl::ToInt64Seconds(absl::Now() - start), " s"));
  return RebuildRepeats(b, b.setup.support_binary, full_prefix, empty_prefix, events,
                        {"support-rebuild", "support_rebuild_events_per_s", "support_rebuild_peak_rss_mb",
                         "support_rebuild_ready_s", "support_startup_empty_s"});
}

// What client support's Admin status says of its feed "pbx-intake": records that became an event.
StatusOr<int64_t> PbxApplied(api::v1::Admin::Stub* admin) {
  api::v1::GetProjectionStatusResponse status;
  ::grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  if (auto s = admin->GetProjectionStatus(&context, {}, &status); !s.ok()) {
    return absl::UnavailableError(StrCat("GetProjectionStatus: ", s.error_message()));
  }
  for (const auto& p : status.projections()) {
    if (p.name() != "pbx-intake") continue;
    if (p.dead_lettered() > 0) return absl::InternalError(StrCat("PBX records dead-lettered: ", p.ShortDebugString()));
    return p.events_applied();
  }
  return absl::NotFoundError(StrCat("no pbx-intake feed in the status: ", status.ShortDebugString()));
}

// PBX intake: `pbx_clients` clients (WriteSupportTopics) caught up before client support serves;
// then per repeat `pbx_records` call records from their numbers (client i % pbx_clients, on its
// manager's extension), built before the clock starts, written to telephony.calls.inbound by the
// raw producer (ProduceInOrder, 20,000 per Publish()). Timed from the start of writing until the
// feed's Admin status (polled every 20 ms) counts every record of the repeat as an event appended
// and applied (the feed counts a record once its command is answered, i.e. the interaction is in
// the store and the offsets moved past it). Rate = records / that time.
Status MeasurePbxIntake(Bench& b) {
  const std::string prefix = b.Prefix("pbx");
  const std::string run = StrCat(b.run, "-pbx");
  b.Log(StrCat("pbx intake: writing ", b.plan.pbx_clients, " clients first"));
  RETURN_IF_ERROR(WriteSupportTopics(b, prefix, run, b.plan.pbx_clients).status());
  ASSIGN_OR_RETURN(auto service, StartService(b, prefix, b.Dir("pbx-store"), b.setup.support_binary));
  auto channel = service->Channel();
  auto admin = api::v1::Admin::NewStub(channel);
  const std::string topic = kafka::Topic(prefix, kCallsTopic);
  SupportData data(run);
  int64_t next_call = 0;
  // Writes `count` records and waits until the feed applied them; the seconds it took.
  auto records = [&](int64_t count) -> StatusOr<double> {
    std::vector<std::vector<kafka::OutgoingMessage>> chunks;
    for (int64_t k = 0; k < count; ++k, ++next_call) {
      if (chunks.empty() || chunks.back().size() == 20000) chunks.emplace_back().reserve(20000);
      const std::string call_id = StrCat("bench-", run, "-pbx-", next_call);
      chunks.back().push_back({topic, call_id, data.CallRecord(next_call, next_call % b.plan.pbx_clients), {}});
    }
    ASSIGN_OR_RETURN(int64_t before, PbxApplied(admin.get()));
    size_t chunk = 0;
    const absl::Time start = absl::Now();
    RETURN_IF_ERROR(ProduceInOrder(b.setup.bootstrap, [&]() -> std::optional<std::vector<kafka::OutgoingMessage>> {
                      if (chunk == chunks.size()) return std::nullopt;
                      return std::move(chunks[chunk++]);
                    }).status());
    const absl::Time deadline = start + absl::Minutes(10);
    for (;;) {
      ASSIGN_OR_RETURN(int64_t applied, PbxApplied(admin.get()));
      if (applied >= before + count) break;
      if (absl::Now() > deadline) {
        return absl::DeadlineExceededError(StrCat("PBX intake applied ", applied - before, " of ", count, " records"));
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return absl::ToDoubleSeconds(absl::Now() - start);
  };
  RETURN_IF_ERROR(records(std::max<int64_t>(50, b.plan.pbx_records / 20)).status());  // warm-up
  auto& figure = b.report.Get("pbx_intake_records_per_s");
  CpuTally cpu(&b.cpu);
  for (int r = 1; r <= b.plan.repeats; ++r) {
    cpu.Begin();
    ASSIGN_OR_RETURN(double seconds, records(b.plan.pbx_records));
    cpu.End(static_cast<double>(b.plan.pbx_records));
    figure.repeats.push_back(static_cast<double>(b.plan.pbx_records) / seconds);
    b.Log(StrCat("pbx intake ", r, "/", b.plan.repeats, ": ", b.plan.pbx_records, " records in ", seconds, " s -> ",
                 static_cast<int64_t>(b.plan.pbx_records / seconds), "/s"));
  }
  AddCpu(b, "PBX intake", "record", cpu);
  // The records matched clients: the last client called has the last call on its timeline.
  {
    auto support = api::v1::ClientSupport::NewStub(channel);
    api::v1::GetClientRequest get;
    get.set_lead_id(StrCat("bench-", run, "-lead-", (next_call - 1) % b.plan.pbx_clients));
    api::v1::Client client;
    ::grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    if (auto s = support->GetClient(&context, get, &client); !s.ok()) {
      return absl::InternalError(StrCat("GetClient of the last caller: ", s.error_message()));
    }
    if (!client.has_last_contact_at() ||
        events::FromProto(client.last_contact_at()) < absl::Now() - absl::Minutes(30)) {
      return absl::InternalError(StrCat("the PBX calls did not reach client ", client.client_id()));
    }
  }
  admin.reset();
  channel.reset();  // an open connection would hold the service's graceful shutdown for its grace period
  RETURN_IF_ERROR(StopService(b, std::move(service)));
  return RemoveAll(b.Dir("pbx-store"));
}

void AddFigures(Report& r) {
  r.Add("raw_produce_per_s", "raw produce (records/s)", 0);
  r.Add("raw_consume_per_s", "raw consume (records/s)", 0);
  r.Add("rocksdb_batch_rows_per_s", "RocksDB batch writes (rows/s)", 0);
  r.Add("capture_p50_ms_at_1k", "CaptureLead p50 at 1k/s (ms)", 2);
  r.Add("capture_p99_ms_at_1k", "CaptureLead p99 at 1k/s (ms)", 2, Goal::kAtMost, 10);
  r.Add("peak_commands_per_s", "CaptureLead, 64 callers (commands/s)", 0, Goal::kAtLeast, 10000);
  r.Add("import_leads_per_s", "ImportLeads (leads/s)", 0, Goal::kAtLeast, 50000);
  r.Add("import_4_streams_leads_per_s", "ImportLeads, 4 streams at once (leads/s)", 0);
  r.Add("append_to_query_p50_ms", "append-to-query p50 (ms)", 2);
  r.Add("append_to_query_p99_ms", "append-to-query p99 (ms)", 2);
  r.Add("startup_empty_s", "start-up, empty topic (s)", 2);
  r.Add("rebuild_ready_s", "start-up, rebuild topic (s)", 2);
  r.Add("rebuild_events_per_s", "rebuild (events/s)", 0);
  r.Add("rebuild_vs_raw_consume", "rebuild / raw consume", 2, Goal::kAtLeast, 0.5);
  r.Add("rebuild_peak_rss_mb", "rebuild peak RSS (MiB)", 0, Goal::kAtMost, 300);
  r.Add("offer_draft_send_p50_ms_at_500", "DraftOffer+SendOffer p50 at 500 pairs/s (ms)", 2);
  r.Add("offer_draft_send_p99_ms_at_500", "DraftOffer+SendOffer p99 at 500 pairs/s (ms)", 2);
  r.Add("offers_startup_empty_s", "offers start-up, empty topics (s)", 2);
  r.Add("offers_rebuild_ready_s", "offers start-up, rebuild topics (s)", 2);
  r.Add("offers_rebuild_events_per_s", "offers rebuild (events/s)", 0);
  r.Add("offers_rebuild_vs_raw_consume", "offers rebuild / raw consume", 2, Goal::kAtLeast, 0.5);
  r.Add("offers_rebuild_peak_rss_mb", "offers rebuild peak RSS (MiB)", 0);
  r.Add("support_startup_empty_s", "client support start-up, empty topics (s)", 2);
  r.Add("support_rebuild_ready_s", "client support start-up, rebuild topics (s)", 2);
  r.Add("support_rebuild_events_per_s", "client support rebuild (events/s)", 0);
  r.Add("support_rebuild_vs_raw_consume", "client support rebuild / raw consume", 2, Goal::kAtLeast, 0.5);
  r.Add("support_rebuild_peak_rss_mb", "client support rebuild peak RSS (MiB)", 0);
  r.Add("pbx_intake_records_per_s", "PBX intake, records to interactions (records/s)", 0);
  r.Add("reporting_startup_empty_s", "reporting start-up, empty topics (s)", 2);
  r.Add("reporting_rebuild_ready_s", "reporting start-up, offers rebuild topics (s)", 2);
  r.Add("reporting_rebuild_events_per_s", "reporting rebuild (events/s)", 0);
  r.Add("reporting_rebuild_vs_raw_consume", "reporting rebuild / raw consume", 2, Goal::kAtLeast, 0.5);
  r.Add("reporting_rebuild_peak_rss_mb", "reporting rebuild peak RSS (MiB)", 0);
  r.Add("report_year_by_month_p50_ms", "plan vs actual, year by month, p50 (ms)", 2);
  r.Add("report_year_by_month_p99_ms", "plan vs actual, year by month, p99 (ms)", 2, Goal::kAtMost, 20);
  for (const ReportQuery& q : ReportQueries()) {
    r.Add(StrCat("report_", q.key, "_p50_ms"), StrCat(q.key, " as a table, year by month, p50 (ms)"), 2);
    r.Add(StrCat("report_", q.key, "_p99_ms"), StrCat(q.key, " as a table, year by month, p99 (ms)"), 2,
          Goal::kAtMost, 20);
  }
  r.Add("lag_events_per_s", "lead and offer events appended during the lag samples (events/s)", 0);
  r.Add("lead_to_report_p50_ms", "lead appended -> in a report, p50 (ms)", 2);
  r.Add("lead_to_report_p99_ms", "lead appended -> in a report, p99 (ms)", 2, Goal::kAtMost, 50);
  r.Add("append_to_report_p50_ms", "sale appended -> in a report, p50 (ms)", 2);
  r.Add("append_to_report_p99_ms", "sale appended -> in a report, p99 (ms)", 2);
}

std::string Machine(std::map<std::string, std::string>* meta) {
  std::string cpu = "unknown", mem = "unknown";
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  }
  std::ifstream meminfo("/proc/meminfo");
  for (std::string line; std::getline(meminfo, line);) {
    if (line.rfind("MemTotal:", 0) == 0) {
      mem = StrCat(static_cast<int64_t>(std::atof(line.c_str() + 9) / 1024 / 1024 + 0.5), " GiB");
      break;
    }
  }
  const std::string cores = StrCat(std::thread::hardware_concurrency());
  (*meta)["nproc"] = cores;
  (*meta)["cpu"] = cpu;
  (*meta)["memory"] = mem;
  return StrCat(cores, " cores, ", cpu, ", ", mem);
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return StrCat(one, " ", five, " ", fifteen);
}

int Main(int argc, char** argv) {
  std::string bootstrap, out, work_dir, binary, offers_binary, support_binary, reporting_binary, only,
      broker_pid_file, b_reporting_store, b_offers_prefix, b_reports;
  bool quick = false;
  int64_t repeats = 0, rebuild_events = 0, offer_rebuild_events = 0, support_rebuild_events = 0;
  Config config("sales_bench");
  config.AddString("kafka-bootstrap", "SALES_TEST_KAFKA_BOOTSTRAP", "127.0.0.1:19092", "the broker to measure against",
                   &bootstrap);
  config.AddString("out", "", "bench/results.json", "where to write the figures as JSON", &out);
  config.AddString("work-dir", "", "", "stores and service logs (default: a temporary folder, removed at exit)",
                   &work_dir);
  config.AddString("service-bin", "", SALES_LEAD_ACQUISITION_BIN, "the lead-acquisition executable", &binary);
  config.AddString("offers-bin", "", SALES_FIRST_OFFERS_BIN, "the first-offers executable", &offers_binary);
  config.AddString("support-bin", "", SALES_CLIENT_SUPPORT_BIN, "the client-support executable", &support_binary);
  config.AddString("reporting-bin", "", SALES_REPORTING_BIN, "the reporting executable", &reporting_binary);
  config.AddBool("quick", "", false, "every measurement once with small counts (a smoke test: figures mean nothing)",
                 &quick);
  config.AddInt("repeats", "", 0, 0, 100, "repeats per figure (0: 3, or 1 with --quick)", &repeats);
  config.AddInt("rebuild-events", "", 0, 0, 100000000, "events in the rebuild topic (0: 1,000,000, or 20,000 quick)",
                &rebuild_events);
  config.AddInt("offer-rebuild-events", "", 0, 0, 100000000,
                "offer events in the offers rebuild topics, besides their leads' (0: 1,000,000, or 20,000 quick)",
                &offer_rebuild_events);
  config.AddInt("support-rebuild-events", "", 0, 0, 100000000,
                "client events in the client support rebuild topics, besides managers and product (0: 1,000,000, or "
                "20,000 quick)",
                &support_rebuild_events);
  config.AddString("reporting-store", "", "",
                   "keep the reporting store the rebuild makes here, or when it exists query it with no rebuild "
                   "(then --offers-prefix too; the append-to-report samples run on a copy of it)",
                   &b_reporting_store);
  config.AddString("offers-prefix", "", "", "the topic prefix of the run that made --reporting-store", &b_offers_prefix);
  config.AddString("reports", "", "",
                   "comma-separated report queries to time besides plan vs actual (default all): funnel,cycle_times,"
                   "lost_reasons,scorecards,products,client_revenue,concentration,inbound_calls,pipeline",
                   &b_reports);
  config.AddString("broker-pid-file", "", "",
                   "pid file of the broker, to show its CPU use (default: $KAFKA_DIR/broker.pid if it exists)",
                   &broker_pid_file);
  config.AddString("only", "", "", "comma-separated subset of: kafka,store,capture,peak,append,rebuild,import,offers,offers-rebuild,"
                   "support-rebuild,pbx,reporting",
                   &only);
  if (Status s = config.Parse(argc, argv); !s.ok()) {
    std::cerr << "sales_bench: " << s.message() << "\n\n" << config.Usage();
    return 2;
  }
  if (config.help_requested()) {
    std::cout << config.Usage();
    return 0;
  }

  Bench b;
  b.plan = quick ? Plan::Quick() : Plan();
  if (repeats) b.plan.repeats = static_cast<int>(repeats);
  if (rebuild_events) b.plan.rebuild_events = rebuild_events;
  if (offer_rebuild_events) b.plan.offer_rebuild_events = offer_rebuild_events;
  if (support_rebuild_events) b.plan.support_rebuild_events = support_rebuild_events;
  b.reporting_store = b_reporting_store;
  b.offers_prefix = b_offers_prefix;
  for (absl::string_view name : absl::StrSplit(b_reports, ',', absl::SkipEmpty())) b.reports.emplace(name);
  std::unique_ptr<testing::TempDir> temp;
  if (work_dir.empty()) {
    temp = std::make_unique<testing::TempDir>();
    work_dir = temp->path();
  }
  std::filesystem::create_directories(work_dir);
  b.setup = {binary, offers_binary, support_binary, reporting_binary, bootstrap,
             std::filesystem::absolute(work_dir).string()};
  b.run = StrCat(getpid(), "-", absl::ToUnixSeconds(absl::Now()));
  AddFigures(b.report);
  if (const char* kafka_dir = std::getenv("KAFKA_DIR"); broker_pid_file.empty() && kafka_dir) {
    broker_pid_file = StrCat(kafka_dir, "/broker.pid");
  }
  if (!broker_pid_file.empty()) {
    std::ifstream in(broker_pid_file);
    pid_t broker = 0;
    if (in >> broker) b.cpu.Watch("broker", broker);
  }
  b.cpu.Watch("sales_bench", getpid());

  std::map<std::string, std::string> meta;
  const std::string machine = Machine(&meta);
  meta["mode"] = quick ? "quick" : "full";
  meta["repeats"] = StrCat(b.plan.repeats);
  meta["bootstrap"] = bootstrap;
  meta["started_at"] = absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone());
  meta["loadavg_at_start"] = LoadAverage();
  b.Log(StrCat(quick ? "quick run" : "full run", " against ", bootstrap, " on ", machine, "; work dir ", work_dir));

  const std::vector<std::pair<std::string, std::function<Status(Bench&)>>> measurements = {
      {"kafka", MeasureRawKafka}, {"store", MeasureStore},   {"capture", MeasureCapture}, {"peak", MeasurePeak},
      {"append", MeasureAppendToQuery}, {"rebuild", MeasureRebuild}, {"import", MeasureImport},
      {"offers", MeasureOffers}, {"offers-rebuild", MeasureOffersRebuild},
      {"support-rebuild", MeasureSupportRebuild}, {"pbx", MeasurePbxIntake}, {"reporting", MeasureReporting}};
  std::vector<std::string> selected = absl::StrSplit(only, ',', absl::SkipEmpty());
  int failures = 0;
  if (!quick && !selected.empty() && std::find(selected.begin(), selected.end(), "kafka") == selected.end()) {
    // A fresh broker's JVM is still compiling its hot paths for the first ~half a million records
    // and would slow whatever runs first; a full run warms it with the raw Kafka measurement.
    if (Status s = WarmBroker(b); !s.ok()) b.Log(StrCat("warming the broker failed: ", s.ToString()));
  }
  for (const auto& [name, measure] : measurements) {
    if (!selected.empty() && std::find(selected.begin(), selected.end(), name) == selected.end()) continue;
    const absl::Time start = absl::Now();
    b.Log(StrCat(name, ": start"));
    if (Status s = measure(b); !s.ok()) {
      ++failures;
      b.Log(StrCat(name, ": FAILED: ", s.ToString()));
      meta[StrCat("error_", name)] = std::string(s.message().substr(0, 500));
    } else {
      b.Log(StrCat(name, ": done in ", absl::ToInt64Seconds(absl::Now() - start), " s"));
    }
  }
  meta["loadavg_at_end"] = LoadAverage();
  b.report.TakeMedians();
  const auto& consume = b.report.Get("raw_consume_per_s").value;
  for (const auto& [rebuild, ratio] : {std::pair{"rebuild_events_per_s", "rebuild_vs_raw_consume"},
                                       std::pair{"offers_rebuild_events_per_s", "offers_rebuild_vs_raw_consume"},
                                       std::pair{"support_rebuild_events_per_s", "support_rebuild_vs_raw_consume"},
                                       std::pair{"reporting_rebuild_events_per_s", "reporting_rebuild_vs_raw_consume"}}) {
    const auto& rate = b.report.Get(rebuild).value;
    if (rate && consume && *consume > 0) b.report.Get(ratio).value = *rate / *consume;
  }

  std::cout << "\nsales_bench (" << meta["mode"] << ", median of " << b.plan.repeats << ") on " << machine << "\n\n";
  b.report.PrintTable(std::cout);
  if (Status s = b.report.WriteJson(out, meta); !s.ok()) {
    std::cerr << "sales_bench: " << s.message() << "\n";
    return 1;
  }
  std::cout << "\nfigures written to " << out << "\n";
  if (failures) std::cout << failures << " measurement(s) failed; see the messages above\n";
  return failures ? 1 : 0;
}

}  // namespace
}  // namespace sales::bench

int main(int argc, char** argv) { return sales::bench::Main(argc, argv); }
