// The fault suite: the four real services under mixed load on a Kafka broker of the suite's own
// (so it can stop and freeze it without touching the other tests), while faults are injected one
// after another:
//   kill -9 of a service at a random moment (then restarted, as systemd would)
//   the broker stopped and started again
//   the broker frozen (SIGSTOP) for longer than the services' publish timeout, then resumed
//   a full disk under a service's store (RocksDB's file system refuses every write with "no
//     space" while a flag file exists: --test-disk-full-file), then space again
// The load is what a client does: every command is retried with its idempotency key until it is
// acknowledged. Afterwards:
//   - every command was acknowledged in the end, and every acknowledged one is in the log exactly
//     once (its idempotency key on exactly one event of its type), and no command is there twice;
//   - every projection reflects it: each lead found, each accepted offer accepted, reporting's
//     revenue the sum of the accepted offers, and each service's store the same, row for row, as
//     a store rebuilt from the log (so no event was applied twice or skipped);
//   - every service came back to serving by itself after each fault (the broker's too), and none
//     crashed (only the killed ones were restarted).
// SALES_FAULT_ROUNDS (default 8: each kind at least once) sets how many faults; `make faults` runs
// more. The figures go to stderr as a table (docs/RELIABILITY.md).
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/base/strings.h"
#include "common/events/envelope.h"
#include "common/testing/kafka_env.h"
#include "common/testing/own_broker.h"
#include "common/testing/reporting_reads.h"
#include "common/testing/sample_requests.h"
#include "common/testing/service_process.h"
#include "common/testing/store_rows.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "sales/api/v1/client_support.grpc.pb.h"
#include "sales/api/v1/first_offers.grpc.pb.h"
#include "sales/api/v1/lead_acquisition.grpc.pb.h"
#include "sales/api/v1/reporting.grpc.pb.h"
#include "services/client_support/projection/clients_projection.h"
#include "services/first_offers/projection/offers_projection.h"
#include "services/lead_acquisition/projection/lead_projection.h"
#include "services/reporting/projection/reporting_projection.h"

namespace sales {
namespace {

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

struct ServiceSpec {
  std::string name, binary;
};
const std::vector<ServiceSpec> kServices = {{"lead-acquisition", SALES_LEAD_ACQUISITION_BIN},
                                            {"first-offers", SALES_FIRST_OFFERS_BIN},
                                            {"client-support", SALES_CLIENT_SUPPORT_BIN},
                                            {"reporting", SALES_REPORTING_BIN}};
enum { kLeads = 0, kOffers = 1, kSupport = 2, kReporting = 3 };

bool Retryable(::grpc::StatusCode code) {
  switch (code) {
    case ::grpc::StatusCode::UNAVAILABLE:         // Kafka or the service is down: retry with the key
    case ::grpc::StatusCode::DEADLINE_EXCEEDED:   // the answer may have been lost: retry with the key
    case ::grpc::StatusCode::RESOURCE_EXHAUSTED:  // overloaded
    case ::grpc::StatusCode::CANCELLED:           // the service went away mid-call
    case ::grpc::StatusCode::NOT_FOUND:           // first offers has not seen the lead yet
    case ::grpc::StatusCode::FAILED_PRECONDITION:  // ... nor its qualification
    case ::grpc::StatusCode::ABORTED:             // a store switched under the command
    case ::grpc::StatusCode::UNKNOWN:             // the connection broke before a status
      return true;
    default:
      return false;
  }
}

class FaultIT : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<testing::OwnBroker>(dir_.File("kafka"));
    ASSERT_TRUE(broker_->Start(/*fresh=*/true));
    setenv("SALES_TEST_KAFKA_BOOTSTRAP", broker_->bootstrap().c_str(), 1);  // for ReadTopic
    prefix_ = testing::UniquePrefix();
    processes_.resize(kServices.size());
    channels_.resize(kServices.size());
    for (size_t i = 0; i < kServices.size(); ++i) {
      std::ofstream(DiskFullFlag(i) + ".unused") << "";
      ASSERT_TRUE(StartService(i, Store(i)));
    }
  }

  void TearDown() override {
    if (HasFailure()) {
      for (size_t i = 0; i < kServices.size(); ++i) {
        if (processes_[i]) std::cerr << kServices[i].name << " log tail:\n" << processes_[i]->LogTail(40);
      }
    }
    for (auto& p : processes_) p.reset();
    broker_.reset();
  }

  std::string Store(size_t i) const { return dir_.File(kServices[i].name + "-store"); }
  std::string DiskFullFlag(size_t i) const { return dir_.File(kServices[i].name + "-disk-full"); }

  std::vector<std::string> Args(size_t i, const std::string& store) const {
    return {"--kafka-bootstrap=" + broker_->bootstrap(), "--topic-prefix=" + prefix_, "--partitions=3",
            "--data-dir=" + store, "--publish-timeout-ms=3000", "--test-disk-full-file=" + DiskFullFlag(i)};
  }

  bool StartService(size_t i, const std::string& store, std::unique_ptr<testing::ServiceProcess>* out = nullptr) {
    testing::ServiceOptions o;
    o.binary = kServices[i].binary;
    o.args = Args(i, store);
    o.work_dir = store + "-work";
    o.ready_timeout = absl::Seconds(120);
    std::filesystem::create_directories(o.work_dir);
    auto started = testing::ServiceProcess::Start(o);
    EXPECT_TRUE(started.ok()) << kServices[i].name << ": " << started.status();
    if (!started.ok()) return false;
    if (out) {
      *out = std::move(*started);
      return true;
    }
    std::lock_guard lock(mu_);
    channels_[i] = (*started)->Channel();
    processes_[i] = std::move(*started);
    return true;
  }

  std::shared_ptr<::grpc::Channel> Channel(size_t i) {
    std::lock_guard lock(mu_);
    return channels_[i];
  }

  // Runs `call(channel, context)` until it answers OK (true), or a status no client would retry or
  // 3 minutes pass (false, recorded).
  template <typename Call>
  bool UntilAcknowledged(size_t service, const std::string& what, Call call) {
    const absl::Time give_up = absl::Now() + absl::Minutes(3);
    while (absl::Now() < give_up) {
      auto channel = Channel(service);
      ::grpc::ClientContext ctx;
      ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
      ctx.AddMetadata("x-actor", "fault-suite");
      const ::grpc::Status s = channel ? call(channel, &ctx)  // down (killed, not yet restarted):
                                       : ::grpc::Status(::grpc::StatusCode::UNAVAILABLE, "the service is down");
      if (s.ok()) return true;
      if (!Retryable(s.error_code())) {
        std::lock_guard lock(mu_);
        unexpected_.push_back(StrCat(what, ": ", s.error_code(), " ", s.error_message()));
        return false;
      }
      retries_.fetch_add(1);
      absl::SleepFor(absl::Milliseconds(100));
    }
    std::lock_guard lock(mu_);
    unexpected_.push_back(StrCat(what, ": never acknowledged"));
    return false;
  }

  // One client's work: leads captured one after another; every third one qualified and carried
  // through a first offer to its acceptance (lead acquisition, then first offers; client support
  // and reporting follow from the events).
  void Client(int worker) {
    for (int n = 0; !stop_load_.load(); ++n) {
      const std::string key = StrCat(prefix_, "w", worker, "-", n);
      api::v1::CaptureLeadRequest c;
      c.set_idempotency_key(key);
      c.set_name("Νίκος Αλεξίου");
      c.set_company(StrCat("Αλεξίου Ξυλεία ", worker, "-", n));
      c.set_email(StrCat(key, "@client.example.gr"));
      c.set_source(events::v1::LEAD_SOURCE_WEB_FORM);
      c.set_region("GR-MAC");
      c.add_product_interest("crm-pro");
      api::v1::CaptureLeadResponse captured;
      issued_.fetch_add(1);
      if (!UntilAcknowledged(kLeads, "CaptureLead " + key, [&](auto ch, auto* ctx) {
            return api::v1::LeadAcquisition::NewStub(ch)->CaptureLead(ctx, c, &captured);
          })) {
        continue;
      }
      Acknowledge("lead.captured", key, captured.lead_id());
      if (n % 3 != 0) continue;

      const api::v1::QualifyLeadRequest q = testing::SampleQualification(key + "-q", captured.lead_id());
      api::v1::LeadCommandResponse qualified;
      issued_.fetch_add(1);
      if (!UntilAcknowledged(kLeads, "QualifyLead " + key, [&](auto ch, auto* ctx) {
            return api::v1::LeadAcquisition::NewStub(ch)->QualifyLead(ctx, q, &qualified);
          })) {
        continue;
      }
      Acknowledge("lead.qualified", q.idempotency_key(), captured.lead_id());

      const api::v1::DraftOfferRequest d = testing::SampleOffer(key + "-d", captured.lead_id(), valid_until_);
      api::v1::OfferCommandResponse offer;
      issued_.fetch_add(1);
      if (!UntilAcknowledged(kOffers, "DraftOffer " + key, [&](auto ch, auto* ctx) {
            return api::v1::FirstOffers::NewStub(ch)->DraftOffer(ctx, d, &offer);
          })) {
        continue;
      }
      Acknowledge("offer.drafted", d.idempotency_key(), offer.offer_id());
      api::v1::SendOfferRequest s;
      s.set_idempotency_key(key + "-s");
      s.set_offer_id(offer.offer_id());
      issued_.fetch_add(1);
      if (!UntilAcknowledged(kOffers, "SendOffer " + key, [&](auto ch, auto* ctx) {
            return api::v1::FirstOffers::NewStub(ch)->SendOffer(ctx, s, &offer);
          })) {
        continue;
      }
      Acknowledge("offer.sent", s.idempotency_key(), offer.offer_id());
      api::v1::AcceptOfferRequest a;
      a.set_idempotency_key(key + "-a");
      a.set_offer_id(offer.offer_id());
      issued_.fetch_add(1);
      if (!UntilAcknowledged(kOffers, "AcceptOffer " + key, [&](auto ch, auto* ctx) {
            return api::v1::FirstOffers::NewStub(ch)->AcceptOffer(ctx, a, &offer);
          })) {
        continue;
      }
      Acknowledge("offer.accepted", a.idempotency_key(), offer.offer_id());
      std::lock_guard lock(mu_);
      accepted_offers_.push_back(offer.offer_id());
    }
  }

  void Acknowledge(const std::string& type, const std::string& key, const std::string& aggregate) {
    std::lock_guard lock(mu_);
    acknowledged_[{type, key}] = aggregate;
  }

  bool Serving(size_t i) {
    auto channel = Channel(i);
    if (!channel) return false;
    ::grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    ::grpc::health::v1::HealthCheckResponse r;
    return ::grpc::health::v1::Health::NewStub(channel)->Check(&ctx, {}, &r).ok() &&
           r.status() == ::grpc::health::v1::HealthCheckResponse::SERVING;
  }

  // Waits until all four serve again; the time it took, or nullopt (a failure) after 2 minutes.
  std::optional<absl::Duration> WaitAllServing(absl::Time since) {
    const absl::Time give_up = absl::Now() + absl::Minutes(2);
    while (absl::Now() < give_up) {
      bool all = true;
      for (size_t i = 0; i < kServices.size() && all; ++i) all = Serving(i);
      if (all) return absl::Now() - since;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return std::nullopt;
  }

  // One fault of `kind` on `service`; returns its name for the table.
  std::string Inject(int kind, size_t service, std::mt19937& random) {
    switch (kind) {
      case 0: {  // kill -9 at a random moment, restarted after a moment, as systemd would
        absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(0, 1500)(random)));
        {
          std::lock_guard lock(mu_);
          processes_[service]->Kill();
          channels_[service] = nullptr;
        }
        absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(200, 1500)(random)));
        EXPECT_TRUE(StartService(service, Store(service))) << "restarting " << kServices[service].name;
        return "kill -9 " + kServices[service].name;
      }
      case 1:  // the broker stopped (controlled shutdown) and started again on its log
        EXPECT_TRUE(broker_->Stop());
        absl::SleepFor(absl::Seconds(3));
        EXPECT_TRUE(broker_->Start(/*fresh=*/false));
        return "broker stop + start";
      case 2:  // frozen longer than the publish timeout (3 s)
        broker_->Freeze();
        absl::SleepFor(absl::Seconds(6));
        broker_->Resume();
        return "broker SIGSTOP 6 s";
      default: {  // the store's disk full for a while, then space again
        std::filesystem::rename(DiskFullFlag(service) + ".unused", DiskFullFlag(service));
        absl::SleepFor(absl::Seconds(4));
        std::filesystem::rename(DiskFullFlag(service), DiskFullFlag(service) + ".unused");
        return "disk full " + kServices[service].name;
      }
    }
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::OwnBroker> broker_;
  std::string prefix_;
  std::mutex mu_;
  std::vector<std::unique_ptr<testing::ServiceProcess>> processes_;
  std::vector<std::shared_ptr<::grpc::Channel>> channels_;
  std::atomic<bool> stop_load_{false};
  std::atomic<int64_t> issued_{0}, retries_{0};
  std::map<std::pair<std::string, std::string>, std::string> acknowledged_;  // (event type, key) -> aggregate
  std::vector<std::string> accepted_offers_;
  std::vector<std::string> unexpected_;
  const absl::Time valid_until_ = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) + 14 * 86400);
};

TEST_F(FaultIT, AcknowledgedCommandsSurviveKillsBrokerOutagesFreezesAndFullDisksExactlyOnce) {
  // The product every offer sells: 10 x 49.90 EUR = 499.00 EUR per accepted offer.
  {
    const api::v1::UpsertProductRequest p = testing::SampleProduct(prefix_ + "product");
    api::v1::ProductCommandResponse out;
    ASSERT_TRUE(UntilAcknowledged(kOffers, "UpsertProduct", [&](auto ch, auto* ctx) {
      return api::v1::FirstOffers::NewStub(ch)->UpsertProduct(ctx, p, &out);
    }));
    const api::v1::RegisterManagerRequest m =
        testing::SampleManager(prefix_ + "manager", prefix_ + "maria@sales.example.gr");
    api::v1::ManagerCommandResponse manager;
    ASSERT_TRUE(UntilAcknowledged(kLeads, "RegisterManager", [&](auto ch, auto* ctx) {
      return api::v1::LeadAcquisition::NewStub(ch)->RegisterManager(ctx, m, &manager);
    }));
  }

  const int rounds = EnvInt("SALES_FAULT_ROUNDS", 8);
  const int client_count = EnvInt("SALES_FAULT_CLIENTS", 4);
  std::vector<std::thread> load;
  for (int w = 0; w < client_count; ++w) load.emplace_back([this, w] { Client(w); });

  std::mt19937 random(std::random_device{}());
  struct Injected {
    std::string what;
    absl::Duration back_to_serving;
  };
  std::vector<Injected> injected;
  absl::SleepFor(absl::Seconds(2));
  for (int round = 0; round < rounds; ++round) {
    // Each kind in turn (kill, broker stop, freeze, disk full), on each service in turn.
    const int kind = round % 4;
    const size_t service = static_cast<size_t>((round / 4 + round) % kServices.size());
    const absl::Time at = absl::Now();
    const std::string what = Inject(kind, service, random);
    const auto back = WaitAllServing(at);
    EXPECT_TRUE(back.has_value()) << "not every service serves again after " << what;
    injected.push_back({what, back.value_or(absl::InfiniteDuration())});
    std::cerr << "fault " << round + 1 << "/" << rounds << ": " << what << ", all serving again after "
              << absl::FormatDuration(injected.back().back_to_serving) << "\n";
    absl::SleepFor(absl::Milliseconds(std::uniform_int_distribution<int>(1000, 3000)(random)));
  }
  stop_load_ = true;
  for (auto& t : load) t.join();  // each client finishes (acknowledges) what it started

  // No service crashed: the only restarts were the test's own after its kills.
  for (size_t i = 0; i < kServices.size(); ++i) {
    EXPECT_TRUE(processes_[i]->running()) << kServices[i].name;
  }
  EXPECT_THAT(unexpected_, ::testing::IsEmpty());

  // The log: every acknowledged command exactly once, no command twice, and no event twice. A
  // second copy of the same event (the same event id) would come from appending again the events
  // of an append that timed out; the decider waits for them instead (its publisher never gives a
  // message up), and appends again only after a fatal producer error, which these faults do not
  // cause. Copies are counted apart from "duplicated" (two different events of one command).
  std::map<std::pair<std::string, std::string>, std::set<std::string>> in_log;  // (type, key) -> event ids
  int64_t copies = 0;
  for (const char* topic : {"sales.leads", "sales.offers"}) {
    auto messages = testing::ReadTopic(prefix_ + topic, absl::Seconds(60));
    ASSERT_TRUE(messages.ok()) << messages.status();
    for (const auto& m : *messages) {
      auto e = events::Decode(m.value);
      ASSERT_TRUE(e.ok()) << e.status();
      if (e->idempotency_key().empty()) continue;
      if (!in_log[{e->event_type(), e->idempotency_key()}].insert(e->event_id()).second) {
        ++copies;
        ADD_FAILURE() << e->event_type() << " " << e->event_id() << " is in the log twice (" << topic << ")";
      }
    }
  }
  int64_t lost = 0, duplicated = 0;
  for (const auto& [command, aggregate] : acknowledged_) {
    auto it = in_log.find(command);
    if (it == in_log.end()) {
      ++lost;
      ADD_FAILURE() << command.first << " " << command.second << " was acknowledged but is not in the log";
    }
  }
  for (const auto& [command, ids] : in_log) {
    if (ids.size() > 1) {
      ++duplicated;
      ADD_FAILURE() << command.first << " " << command.second << " made " << ids.size() << " different events";
    }
  }
  const int64_t captured = std::count_if(acknowledged_.begin(), acknowledged_.end(),
                                         [](const auto& a) { return a.first.first == "lead.captured"; });
  EXPECT_GT(captured, 0);
  EXPECT_FALSE(accepted_offers_.empty());

  // Every projection: the leads and offers found as acknowledged, reporting's revenue the sum of
  // the accepted offers (once each).
  for (const auto& [command, aggregate] : acknowledged_) {
    if (command.first != "lead.captured") continue;
    api::v1::GetLeadRequest r;
    r.set_lead_id(aggregate);
    api::v1::Lead lead;
    EXPECT_TRUE(UntilAcknowledged(kLeads, "GetLead " + aggregate, [&](auto ch, auto* ctx) {
      return api::v1::LeadAcquisition::NewStub(ch)->GetLead(ctx, r, &lead);
    }));
  }
  for (const std::string& offer_id : accepted_offers_) {
    api::v1::GetOfferRequest r;
    r.set_offer_id(offer_id);
    api::v1::Offer offer;
    EXPECT_TRUE(UntilAcknowledged(kOffers, "GetOffer " + offer_id, [&](auto ch, auto* ctx) {
      return api::v1::FirstOffers::NewStub(ch)->GetOffer(ctx, r, &offer);
    }));
    EXPECT_EQ(offer.status(), api::v1::OFFER_STATUS_ACCEPTED) << offer_id;
  }
  const int64_t expected_revenue = testing::kSampleOfferCents * static_cast<int64_t>(accepted_offers_.size());
  int64_t revenue = -1;
  EXPECT_TRUE(testing::WaitUntil(
      [&] {
        auto channel = Channel(kReporting);
        StatusOr<int64_t> r = channel ? testing::RecentRevenueCents(channel) : absl::UnavailableError("down");
        revenue = r.ok() ? *r : -1;
        return revenue == expected_revenue;
      },
      absl::Seconds(60)))
      << "reporting's revenue " << revenue << " cents, the accepted offers' " << expected_revenue;

  // Each store the same as one rebuilt from the log: nothing applied twice, nothing skipped.
  lead_acquisition::LeadProjection leads;
  first_offers::OffersProjection offers;
  client_support::ClientsProjection clients;
  reporting::ReportingProjection reports;
  const std::vector<const projection::Projection*> projections = {&leads, &offers, &clients, &reports};
  for (size_t i = 0; i < kServices.size(); ++i) {
    SCOPED_TRACE(kServices[i].name);
    auto stopped = processes_[i]->Stop();
    ASSERT_TRUE(stopped.ok() && *stopped == 0) << kServices[i].name << " did not stop cleanly";
    std::unique_ptr<testing::ServiceProcess> rebuild;
    ASSERT_TRUE(StartService(i, Store(i) + "-rebuilt", &rebuild));  // ready = caught up with the log
    ASSERT_TRUE(rebuild->Stop().ok());
    testing::ExpectSameRows(testing::StoreRows(Store(i), *projections[i]),
                            testing::StoreRows(Store(i) + "-rebuilt", *projections[i]));
  }

  absl::Duration slowest;
  for (const auto& f : injected) slowest = std::max(slowest, f.back_to_serving);
  std::cerr << "\n| faults injected | commands issued | acknowledged | retries | lost | duplicated | copies of an "
               "event | slowest return to serving |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n"
            << "| " << injected.size() << " | " << issued_.load() << " | " << acknowledged_.size() << " | "
            << retries_.load() << " | " << lost << " | " << duplicated << " | " << copies << " | "
            << absl::FormatDuration(slowest) << " |\n";
  for (const auto& f : injected) std::cerr << "  " << f.what << ": " << absl::FormatDuration(f.back_to_serving) << "\n";
}

}  // namespace
}  // namespace sales
