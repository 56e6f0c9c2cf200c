// The service figures: the real lead-acquisition executable (started with
// common/testing/service_process.h on a topic prefix of its own and a fresh store) driven over
// gRPC or through its topic, the way its users and the projection runner see it; and what the
// first offers and client support figures share with them: starting a service, start-up to ready.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "absl/time/time.h"
#include "common/base/status.h"
#include "common/testing/service_process.h"
#include "tests/bench/cpu.h"

namespace sales::bench {

struct ServiceSetup {
  std::string binary;         // the lead-acquisition executable
  std::string offers_binary;  // the first-offers executable
  std::string support_binary;  // the client-support executable
  std::string reporting_binary;  // the reporting executable
  std::string bootstrap;      // Kafka
  std::string work_dir;       // service logs, ready files and stores go below it
};

// Starts the service `binary` on `prefix` (6 partitions) with the store in `data_dir`, and waits
// until it serves, i.e. until it has caught up the topics it reads.
StatusOr<std::unique_ptr<testing::ServiceProcess>> StartServiceBinary(const ServiceSetup& setup,
                                                                      const std::string& binary,
                                                                      const std::string& prefix,
                                                                      const std::string& data_dir,
                                                                      absl::Duration ready_timeout);

// Starts lead acquisition on `prefix` (6 partitions) with the store in `data_dir`, and waits until
// it serves, i.e. until it has caught up its topic.
StatusOr<std::unique_ptr<testing::ServiceProcess>> StartLeadAcquisition(const ServiceSetup& setup,
                                                                        const std::string& prefix,
                                                                        const std::string& data_dir,
                                                                        absl::Duration ready_timeout);

struct CallCounts {
  int64_t ok = 0;
  int64_t failed = 0;
  std::string first_error;  // of the first failed call, if any
};

struct LatencySummary {
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  CallCounts calls;
};

// Counts one finished call (`ok`: what the completion queue said).
void Count(CallCounts* counts, bool ok, const ::grpc::Status& status);
LatencySummary Summarise(const std::vector<double>& latencies_ms, CallCounts calls);

// CaptureLead at a fixed `rate_per_s` for `duration`, open loop: call i is issued at
// start + i/rate whatever happened to the calls before it (asynchronous client, one completion
// queue), and its latency runs from that scheduled time to its completion, so a stalled service
// cannot hide its stall by slowing the client down (no coordinated omission).
StatusOr<LatencySummary> CaptureOpenLoop(const std::shared_ptr<::grpc::Channel>& channel, const std::string& run,
                                         int rate_per_s, absl::Duration duration);

// CaptureLead with `concurrency` calls always in flight (closed loop) for `duration`; returns
// successful calls per second.
StatusOr<double> CaptureClosedLoop(const std::shared_ptr<::grpc::Channel>& channel, const std::string& run,
                                   int concurrency, absl::Duration duration, CallCounts* counts);

// `samples` LeadCaptured events written straight to `topic` (the service's own) by a raw
// producer, one every 1/rate_per_s; each sample is the time from the producer's acknowledgement
// until GetLead on the service finds the lead (polled every 0.5 ms).
StatusOr<LatencySummary> AppendToQuery(const std::string& bootstrap, const std::shared_ptr<::grpc::Channel>& channel,
                                       const std::string& topic, const std::string& run, int samples,
                                       int rate_per_s);

// One start of the service on a topic prefix with a fresh store.
struct StartupSample {
  double seconds_to_ready = 0;  // process start to ready file (catch-up included)
  double peak_rss_mb = 0;       // VmHWM of the process, read once it is ready, just before stopping it
  int64_t events_applied = 0;   // as GetProjectionStatus reports it
  double service_cpu_seconds = 0;  // CPU the service used from its start until it was ready
  CpuUse cpu;                      // the meter's processes over the same window
};

// Starts the service `binary` on `prefix` with an empty store in `data_dir`, checks that its one
// projection applied `expected_events` (of every topic it reads), and stops it. `meter` watches
// the other processes meanwhile.
StatusOr<StartupSample> StartToReady(const ServiceSetup& setup, const std::string& binary, const std::string& prefix,
                                     const std::string& data_dir, int64_t expected_events,
                                     absl::Duration ready_timeout, const CpuMeter& meter);

// StreamingImportLeads (streaming bulk intake): `leads` new leads built with CaptureRequest(run, i) written on
// one stream (the service takes up to 100,000 per call) while the answers stream back. Returns the
// leads created per second, from opening the stream to the last answer; an error unless every
// lead was created and answered.
StatusOr<double> ImportLeadsRate(const std::shared_ptr<::grpc::Channel>& channel, const std::string& run,
                                 int64_t leads);

}  // namespace sales::bench
