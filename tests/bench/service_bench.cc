#include "tests/bench/service_bench.h"

#include <cstdlib>
#include <fstream>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "common/base/strings.h"
#include "common/kafka/kafka_publisher.h"
#include "sales/api/v1/admin.grpc.pb.h"
#include "sales/api/v1/lead_acquisition.grpc.pb.h"
#include "tests/bench/lead_data.h"
#include "tests/bench/stats.h"

namespace sales::bench {
namespace {

using api::v1::CaptureLeadRequest;
using api::v1::CaptureLeadResponse;

double Millis(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

// One CaptureLead in flight on a completion queue; the queue's tag is the call itself.
struct AsyncCapture {
  ::grpc::ClientContext context;
  CaptureLeadResponse response;
  ::grpc::Status status;
  absl::Time scheduled;
  std::unique_ptr<::grpc::ClientAsyncResponseReader<CaptureLeadResponse>> reader;
};

AsyncCapture* IssueCapture(api::v1::LeadAcquisition::Stub* stub, const CaptureLeadRequest& request,
                           absl::Time scheduled, ::grpc::CompletionQueue* cq) {
  auto* call = new AsyncCapture;
  call->scheduled = scheduled;
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  call->context.AddMetadata("x-actor", "sales-bench");
  call->reader = stub->PrepareAsyncCaptureLead(&call->context, request, cq);
  call->reader->StartCall();
  call->reader->Finish(&call->response, &call->status, call);
  return call;
}

// Peak resident set size of a process in MiB (VmHWM in /proc/<pid>/status).
StatusOr<double> PeakRssMb(pid_t pid) {
  std::ifstream in(StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;  // "VmHWM:  123 kB"
  }
  return absl::NotFoundError(StrCat("no VmHWM for pid ", pid));
}

}  // namespace

void Count(CallCounts* counts, bool ok, const ::grpc::Status& status) {
  if (ok && status.ok()) {
    ++counts->ok;
    return;
  }
  if (counts->failed++ == 0) {
    counts->first_error = ok ? StrCat("code ", static_cast<int>(status.error_code()), ": ", status.error_message())
                             : "completion queue reported failure";
  }
}

LatencySummary Summarise(const std::vector<double>& latencies_ms, CallCounts calls) {
  LatencySummary s;
  s.p50_ms = Percentile(latencies_ms, 0.50);
  s.p99_ms = Percentile(latencies_ms, 0.99);
  s.max_ms = Percentile(latencies_ms, 1.0);
  s.calls = std::move(calls);
  return s;
}

StatusOr<std::unique_ptr<testing::ServiceProcess>> StartServiceBinary(const ServiceSetup& setup,
                                                                      const std::string& binary,
                                                                      const std::string& prefix,
                                                                      const std::string& data_dir,
                                                                      absl::Duration ready_timeout) {
  testing::ServiceOptions o;
  o.binary = binary;
  o.args = {"--kafka-bootstrap=" + setup.bootstrap, "--topic-prefix=" + prefix, "--partitions=6",
            "--data-dir=" + data_dir,
            StrCat("--startup-timeout-s=", absl::ToInt64Seconds(ready_timeout) + 1)};
  o.work_dir = setup.work_dir;
  o.ready_timeout = ready_timeout;
  return testing::ServiceProcess::Start(std::move(o));
}

StatusOr<std::unique_ptr<testing::ServiceProcess>> StartLeadAcquisition(const ServiceSetup& setup,
                                                                        const std::string& prefix,
                                                                        const std::string& data_dir,
                                                                        absl::Duration ready_timeout) {
  return StartServiceBinary(setup, setup.binary, prefix, data_dir, ready_timeout);
}

StatusOr<LatencySummary> CaptureOpenLoop(const std::shared_ptr<::grpc::Channel>& channel, const std::string& run,
                                         int rate_per_s, absl::Duration duration) {
  auto stub = api::v1::LeadAcquisition::NewStub(channel);
  const int64_t n = static_cast<int64_t>(absl::ToDoubleSeconds(duration) * rate_per_s);
  std::vector<CaptureLeadRequest> requests;
  requests.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) requests.push_back(CaptureRequest(run, i));

  ::grpc::CompletionQueue cq;
  std::vector<double> latencies_ms;
  latencies_ms.reserve(static_cast<size_t>(n));
  CallCounts calls;
  std::thread completions([&] {
    void* tag;
    bool ok;
    while (cq.Next(&tag, &ok)) {
      std::unique_ptr<AsyncCapture> call(static_cast<AsyncCapture*>(tag));
      const absl::Time done = absl::Now();
      Count(&calls, ok, call->status);
      if (ok && call->status.ok()) latencies_ms.push_back(Millis(done - call->scheduled));
    }
  });
  const absl::Duration interval = absl::Seconds(1) / rate_per_s;
  const absl::Time start = absl::Now() + absl::Milliseconds(5);
  for (int64_t i = 0; i < n; ++i) {
    const absl::Time scheduled = start + interval * i;
    const absl::Duration wait = scheduled - absl::Now();
    if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
    IssueCapture(stub.get(), requests[static_cast<size_t>(i)], scheduled, &cq);
  }
  cq.Shutdown();  // the calls in flight still complete (each has a deadline), then Next() ends
  completions.join();
  if (calls.ok == 0) return absl::UnavailableError(StrCat("no CaptureLead succeeded: ", calls.first_error));
  return Summarise(latencies_ms, std::move(calls));
}

StatusOr<double> CaptureClosedLoop(const std::shared_ptr<::grpc::Channel>& channel, const std::string& run,
                                   int concurrency, absl::Duration duration, CallCounts* counts) {
  auto stub = api::v1::LeadAcquisition::NewStub(channel);
  ::grpc::CompletionQueue cq;
  CallCounts calls;
  int64_t issued = 0;
  int in_flight = 0;
  const absl::Time start = absl::Now();
  const absl::Time end = start + duration;
  absl::Time last = start;
  for (; in_flight < concurrency; ++in_flight) IssueCapture(stub.get(), CaptureRequest(run, issued++), start, &cq);
  void* tag;
  bool ok;
  while (in_flight > 0 && cq.Next(&tag, &ok)) {
    std::unique_ptr<AsyncCapture> call(static_cast<AsyncCapture*>(tag));
    --in_flight;
    last = absl::Now();
    Count(&calls, ok, call->status);
    if (last < end) {
      IssueCapture(stub.get(), CaptureRequest(run, issued++), last, &cq);
      ++in_flight;
    }
  }
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  *counts = calls;
  if (calls.ok == 0) return absl::UnavailableError(StrCat("no CaptureLead succeeded: ", calls.first_error));
  return static_cast<double>(calls.ok) / absl::ToDoubleSeconds(last - start);
}

StatusOr<LatencySummary> AppendToQuery(const std::string& bootstrap, const std::shared_ptr<::grpc::Channel>& channel,
                                       const std::string& topic, const std::string& run, int samples,
                                       int rate_per_s) {
  kafka::PublisherOptions options;
  options.client = {bootstrap, "sales-bench-append", {}};
  ASSIGN_OR_RETURN(auto publisher, kafka::KafkaPublisher::Create(options));
  auto stub = api::v1::LeadAcquisition::NewStub(channel);
  std::vector<kafka::OutgoingMessage> messages;
  for (int i = 0; i < samples; ++i) messages.push_back(CapturedMessage(topic, CaptureRequest(run, i)));

  std::vector<double> latencies_ms;
  CallCounts calls;
  const absl::Duration interval = absl::Seconds(1) / rate_per_s;
  const absl::Time start = absl::Now();
  for (int i = 0; i < samples; ++i) {
    const absl::Duration wait = start + interval * i - absl::Now();
    if (wait > absl::ZeroDuration()) absl::SleepFor(wait);
    const std::string lead_id = messages[static_cast<size_t>(i)].key;
    std::vector<kafka::OutgoingMessage> one = {std::move(messages[static_cast<size_t>(i)])};
    RETURN_IF_ERROR(kafka::AllDelivered(publisher->Publish(std::move(one), absl::Seconds(10))).status());
    const absl::Time acked = absl::Now();
    api::v1::GetLeadRequest get;
    get.set_lead_id(lead_id);
    ::grpc::Status status;
    while (true) {
      ::grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
      api::v1::Lead lead;
      status = stub->GetLead(&context, get, &lead);
      if (status.error_code() != ::grpc::StatusCode::NOT_FOUND || absl::Now() - acked > absl::Seconds(10)) break;
      absl::SleepFor(absl::Microseconds(500));
    }
    const absl::Time found = absl::Now();
    Count(&calls, true, status);
    if (status.ok()) latencies_ms.push_back(Millis(found - acked));
  }
  if (calls.ok == 0) return absl::UnavailableError(StrCat("GetLead never found a lead: ", calls.first_error));
  return Summarise(latencies_ms, std::move(calls));
}

StatusOr<StartupSample> StartToReady(const ServiceSetup& setup, const std::string& binary, const std::string& prefix,
                                     const std::string& data_dir, int64_t expected_events,
                                     absl::Duration ready_timeout, const CpuMeter& meter) {
  const CpuSnapshot before = meter.Take();
  ASSIGN_OR_RETURN(auto service, StartServiceBinary(setup, binary, prefix, data_dir, ready_timeout));
  const CpuSnapshot ready = meter.Take();
  StartupSample sample;
  sample.service_cpu_seconds = ProcessCpuSeconds(service->pid());
  sample.seconds_to_ready = absl::ToDoubleSeconds(ready.at - before.at);
  sample.cpu = Between(before, ready);

  api::v1::GetProjectionStatusResponse status;
  {
    // Closed again before Stop(): an open connection holds the service's shutdown for its grace period.
    auto admin = api::v1::Admin::NewStub(service->Channel());
    ::grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    if (auto s = admin->GetProjectionStatus(&context, {}, &status); !s.ok()) {
      return absl::UnavailableError(StrCat("GetProjectionStatus: ", s.error_message()));
    }
  }
  // Projections come first; consumers of other kinds (the intake) follow.
  if (status.projections_size() < 1 || status.projections(0).kind() == "intake" || !status.projections(0).caught_up()) {
    return absl::InternalError(StrCat("service ready but not caught up: ", status.ShortDebugString()));
  }
  sample.events_applied = status.projections(0).events_applied();
  if (sample.events_applied != expected_events) {
    return absl::InternalError(
        StrCat("service applied ", sample.events_applied, " events, expected ", expected_events));
  }
  ASSIGN_OR_RETURN(sample.peak_rss_mb, PeakRssMb(service->pid()));
  ASSIGN_OR_RETURN(int code, service->Stop());
  if (code != 0) return absl::InternalError(StrCat("service exited with ", code, "; log:\n", service->LogTail()));
  return sample;
}

StatusOr<double> ImportLeadsRate(const std::shared_ptr<::grpc::Channel>& channel, const std::string& run,
                                 int64_t leads) {
  auto stub = api::v1::LeadAcquisition::NewStub(channel);
  std::vector<api::v1::ImportLeadsRequest> records(static_cast<size_t>(leads));
  for (int64_t i = 0; i < leads; ++i) {
    auto& record = records[static_cast<size_t>(i)];
    *record.mutable_lead() = CaptureRequest(run, i);
    record.set_client_ref(StrCat("line ", i + 1));
  }
  ::grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Minutes(10)));
  context.AddMetadata("x-actor", "sales-bench");
  const absl::Time start = absl::Now();
  auto stream = stub->StreamingImportLeads(&context);
  // The records go out on their own thread; the answers (one response per decided chunk) come
  // back on this one.
  std::thread writer([&] {
    for (const auto& record : records) {
      if (!stream->Write(record)) break;  // the service ended the call; Finish() says why
    }
    stream->WritesDone();
  });
  api::v1::ImportLeadsResponse response, last;
  int64_t results = 0;
  while (stream->Read(&response)) {
    results += response.results_size();
    last = std::move(response);
  }
  writer.join();
  const ::grpc::Status status = stream->Finish();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (!status.ok()) return absl::UnavailableError(StrCat("StreamingImportLeads: ", status.error_message()));
  if (last.created() != leads || results != leads) {
    return absl::InternalError(StrCat("StreamingImportLeads created ", last.created(), " of ", leads, " leads (",
                                      last.duplicates(), " duplicates, ", last.linked(), " linked, ", last.rejected(),
                                      " rejected, ", results, " results)"));
  }
  return static_cast<double>(last.created()) / seconds;
}

}  // namespace sales::bench
