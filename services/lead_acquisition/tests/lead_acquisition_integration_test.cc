// The lead acquisition service as a user runs it: its real executable, the real Kafka broker of the
// test run, real RocksDB, called over real gRPC.
#include <grpcpp/grpcpp.h>
#include <httplib.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <thread>

#include "absl/time/clock.h"
#include "common/events/envelope.h"
#include "common/testing/certificates.h"
#include "common/testing/kafka_env.h"
#include "common/testing/service_process.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "sales/api/v1/admin.grpc.pb.h"
#include "sales/api/v1/lead_acquisition.grpc.pb.h"
#include "services/lead_acquisition/domain/lead.h"
#include "services/lead_acquisition/tests/lead_service_fixture.h"

namespace sales::lead_acquisition {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

TEST_F(LeadAcquisitionIT, CapturesAndServesALeadByteForByte) {
  api::v1::CaptureLeadResponse created;
  auto s = Capture(Request("it-1"), &created);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(created.version(), 1);
  EXPECT_FALSE(created.replayed());

  api::v1::Lead lead;
  ASSERT_TRUE(Get(created.lead_id(), &lead).ok());
  EXPECT_EQ(lead.name(), "Αικατερίνη Οικονόμου");
  EXPECT_EQ(lead.company(), "Θεσσαλική Εμπορική Ο.Ε.");
  EXPECT_EQ(lead.region(), "GR-THE");
  EXPECT_EQ(lead.status(), api::v1::LEAD_STATUS_NEW);

  auto events = EventsWithKey(created.lead_id());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].Header("event_type"), "lead.captured");
  auto e = events::Decode(events[0].value);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->correlation_id(), "it-corr");
  EXPECT_EQ(e->actor(), "integration-test");
  EXPECT_EQ(e->idempotency_key(), "it-1");

  // Operations endpoints: standard health checking, metrics, healthz.
  auto health = ::grpc::health::v1::Health::NewStub(service_->Channel());
  ::grpc::ClientContext hctx;
  ::grpc::health::v1::HealthCheckResponse hr;
  ASSERT_TRUE(health->Check(&hctx, {}, &hr).ok());
  EXPECT_EQ(hr.status(), ::grpc::health::v1::HealthCheckResponse::SERVING);
  auto metrics = testing::HttpGet(service_->http_port(), "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_THAT(*metrics, HasSubstr("sales_grpc_requests_total{code=\"OK\",method=\"CaptureLead\"} 1"));
  EXPECT_THAT(*metrics, HasSubstr("sales_projection_lag_events{"));
  auto healthz = testing::HttpGet(service_->http_port(), "/healthz");
  ASSERT_TRUE(healthz.ok());
  EXPECT_THAT(*healthz, StartsWith("HTTP/1.1 200"));
}

TEST_F(LeadAcquisitionIT, RetriesWithTheSameKeyAppendExactlyOneEvent) {
  api::v1::CaptureLeadResponse first;
  ASSERT_TRUE(Capture(Request("it-retry"), &first).ok());
  std::vector<std::thread> retries;
  std::atomic<int> replayed{0};
  for (int i = 0; i < 4; ++i) {
    retries.emplace_back([&] {
      api::v1::CaptureLeadResponse r;
      if (Capture(Request("it-retry"), &r).ok() && r.replayed() && r.lead_id() == first.lead_id()) ++replayed;
    });
  }
  for (auto& t : retries) t.join();
  EXPECT_EQ(replayed, 4);

  // Idempotency survives a restart: it lives in the store, rebuilt from the log.
  ASSERT_TRUE(service_->Stop().ok());
  Start();
  api::v1::CaptureLeadResponse after;
  ASSERT_TRUE(Capture(Request("it-retry"), &after).ok());
  EXPECT_TRUE(after.replayed());
  EXPECT_EQ(after.lead_id(), first.lead_id());
  EXPECT_EQ(EventsWithKey(first.lead_id()).size(), 1u);
  auto status = Status();
  EXPECT_EQ(status.events_applied(), 1);
  EXPECT_EQ(status.duplicates_skipped(), 0);
}

TEST_F(LeadAcquisitionIT, BadInputNamesTheFieldAndUnknownIdIsNotFound) {
  auto bad = Request("it-bad");
  bad.set_email("katerina(at)example.gr");
  api::v1::CaptureLeadResponse r;
  auto s = Capture(bad, &r);
  EXPECT_EQ(s.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("email: not a valid e-mail address"));
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(s.error_details()));
  google::rpc::BadRequest br;
  ASSERT_TRUE(details.details_size() == 1 && details.details(0).UnpackTo(&br));
  ASSERT_EQ(br.field_violations_size(), 1);
  EXPECT_EQ(br.field_violations(0).field(), "email");

  api::v1::Lead lead;
  EXPECT_EQ(Get("123e4567-e89b-12d3-a456-426614174000", &lead).error_code(), ::grpc::StatusCode::NOT_FOUND);
  auto malformed = Get("../etc/passwd", &lead);
  EXPECT_EQ(malformed.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(malformed.error_message(), HasSubstr("lead_id"));
  EXPECT_EQ(Status().events_applied(), 0);
}

// A string that is not UTF-8 never reaches the service's code: gRPC's parse refuses it, and the
// caller learns which field (not gRPC's empty INTERNAL); protobuf's complaint is a JSON log line.
TEST_F(LeadAcquisitionIT, InvalidUtf8IsInvalidArgumentNamingTheFieldAndTheLogStaysJson) {
  ASSERT_TRUE(service_->Stop().ok());
  Start({"--log-level=debug"});  // protobuf's complaint is logged at debug level
  auto bad = Request("it-utf8");
  bad.set_name("Ελένη \xff\xfe");
  api::v1::CaptureLeadResponse r;
  auto s = Capture(bad, &r);
  EXPECT_EQ(s.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "name: not valid UTF-8");
  google::rpc::Status details;
  google::rpc::BadRequest br;
  ASSERT_TRUE(details.ParseFromString(s.error_details()) && details.details_size() == 1 &&
              details.details(0).UnpackTo(&br) && br.field_violations_size() == 1);
  EXPECT_EQ(br.field_violations(0).field(), "name");

  // In an import stream, the records before the bad one are decided and answered; it ends there.
  // (Record 1's client_ref is too long to echo whole: that record is refused.)
  ::grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  auto stream = stub_->StreamingImportLeads(&ctx);
  for (int i = 0; i < 4; ++i) {
    api::v1::ImportLeadsRequest record;
    *record.mutable_lead() = Request("it-utf8-import-" + std::to_string(i));
    if (i == 1) record.set_client_ref("x" + std::string(100, 'x') + std::string(50, 'z') + "Ω");  // 153 bytes
    if (i == 2) record.mutable_lead()->set_company("\xc3\x28");
    if (!stream->Write(record)) break;
  }
  stream->WritesDone();
  std::vector<std::pair<int64_t, api::v1::CaptureOutcome>> answered;
  api::v1::ImportLeadsResponse response;
  while (stream->Read(&response)) {
    for (const auto& result : response.results()) {
      answered.emplace_back(result.index(), result.outcome());
      if (result.index() == 1) {
        EXPECT_EQ(result.reason(), "client_ref: at most 128 bytes");
        EXPECT_EQ(result.client_ref().size(), 128u);
      }
    }
  }
  const ::grpc::Status finished = stream->Finish();
  EXPECT_EQ(finished.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(finished.error_message(),
            "lead.company: not valid UTF-8 in message 2 of the stream (counting from 0); the stream ends there");
  EXPECT_EQ(answered, (std::vector<std::pair<int64_t, api::v1::CaptureOutcome>>{
                          {0, api::v1::CAPTURE_OUTCOME_CREATED}, {1, api::v1::CAPTURE_OUTCOME_REJECTED}}));
  api::v1::Lead lead;
  EXPECT_EQ(Get(LeadIdFor("it-utf8-import-3"), &lead).error_code(), ::grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Status().events_applied(), 1);

  ExpectLogIsJsonLines();
  const std::string log = service_->LogTail(1 << 20);
  EXPECT_THAT(log, HasSubstr("\"msg\":\"libprotobuf\""));
  EXPECT_THAT(log, Not(HasSubstr("[libprotobuf")));
}

TEST_F(LeadAcquisitionIT, MalformedMessageIsDeadLetteredAndTheProjectionGoesOn) {
  testing::RawProducer producer;
  auto bad = producer.Send(topic_, "junk-key", "{\"this\": \"is not an event\"}", {{"origin", "kcat"}});
  ASSERT_TRUE(bad.ok()) << bad.status();
  // A well-formed event behind it, on the same partition, written by someone other than the
  // service: only the projection runner can apply it.
  const std::string id = "6d1f3c8a-0000-4000-8000-00000000beef";
  ASSERT_TRUE(producer.Send(topic_, id, CapturedEvent(id, "Behind The Junk")).ok());

  // The two keys may sit in different partitions, so the good event can be applied before the
  // junk's batch has parked it: wait for both.
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        auto s = Status();
        return s.events_applied() == 1 && s.dead_lettered() == 1;
      },
      absl::Seconds(30)));
  api::v1::Lead lead;
  ASSERT_TRUE(Get(id, &lead).ok());
  EXPECT_EQ(lead.name(), "Behind The Junk");
  auto status = Status();
  EXPECT_EQ(status.dead_lettered(), 1);

  auto dead = testing::ReadTopic(topic_ + ".dlq");
  ASSERT_TRUE(dead.ok()) << dead.status();
  ASSERT_EQ(dead->size(), 1u);
  const auto& d = (*dead)[0];
  EXPECT_EQ(d.key, "junk-key");
  EXPECT_EQ(d.value, "{\"this\": \"is not an event\"}");
  EXPECT_EQ(d.Header("origin"), "kcat");
  EXPECT_THAT(d.Header("dlq.reason"), HasSubstr("not a valid sales.events.v1.EventEnvelope"));
  EXPECT_EQ(d.Header("dlq.source.topic"), topic_);
  EXPECT_EQ(d.Header("dlq.source.offset"), std::to_string(bad->offset));
  EXPECT_EQ(d.Header("dlq.consumer"), "leads");
  auto metrics = testing::HttpGet(service_->http_port(), "/metrics");
  EXPECT_THAT(*metrics, HasSubstr("sales_projection_events_total{outcome=\"dead_letter\",projection=\"leads\"} 1"));
}

// What a user with a standard tool sees: the APIs through server reflection, a command in JSON, a
// rich error with the offending field.
TEST_F(LeadAcquisitionIT, StandardToolsWorkThroughReflection) {
  const char* grpcurl = std::getenv("SALES_GRPCURL");
  ASSERT_TRUE(grpcurl && *grpcurl && std::string(grpcurl).find("NOTFOUND") == std::string::npos)
      << "grpcurl not found: run `make deps` (deploy/install-deps.sh builds it)";
  const std::string target = "127.0.0.1:" + std::to_string(service_->grpc_port());
  auto run = [&](const std::string& args) {
    std::string out;
    FILE* p = popen((std::string(grpcurl) + " -plaintext " + args + " 2>&1").c_str(), "r");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
    return out;
  };
  const std::string list = run(target + " list");
  EXPECT_THAT(list, HasSubstr("sales.api.v1.LeadAcquisition"));
  EXPECT_THAT(list, HasSubstr("sales.api.v1.Admin"));
  EXPECT_THAT(list, HasSubstr("grpc.health.v1.Health"));
  const std::string created = run(
      "-d '{\"idempotency_key\":\"cli-1\",\"name\":\"Σοφία Δημητρίου\",\"email\":\"sofia@example.gr\","
      "\"source\":\"LEAD_SOURCE_REFERRAL\"}' " + target + " sales.api.v1.LeadAcquisition/CaptureLead");
  EXPECT_THAT(created, HasSubstr(LeadIdFor("cli-1")));
  const std::string fetched =
      run("-d '{\"lead_id\":\"" + LeadIdFor("cli-1") + "\"}' " + target + " sales.api.v1.LeadAcquisition/GetLead");
  EXPECT_THAT(fetched, HasSubstr("Σοφία Δημητρίου"));
  const std::string refused = run("-d '{\"idempotency_key\":\"cli-2\",\"name\":\"X\",\"phone\":\"12\","
                                  "\"source\":\"LEAD_SOURCE_REFERRAL\"}' " + target +
                                  " sales.api.v1.LeadAcquisition/CaptureLead");
  EXPECT_THAT(refused, HasSubstr("Code: InvalidArgument"));
  EXPECT_THAT(refused, HasSubstr("\"field\": \"phone\""));
  EXPECT_THAT(run(target + " grpc.health.v1.Health/Check"), HasSubstr("SERVING"));
}

// kill -9 while the projection is applying a stream, restart, and every event is applied exactly
// once: the applied counter and the offsets are committed in the same RocksDB batch as the rows.
TEST_F(LeadAcquisitionIT, KillNineMidStreamAppliesEveryEventExactlyOnce) {
  constexpr int kRounds = 3;
  constexpr int kPerRound = 40000;
  std::vector<std::string> ids;
  testing::RawProducer producer;
  int kills = 0;
  for (int round = 0; round < kRounds; ++round) {
    std::vector<kafka::OutgoingMessage> messages;
    for (int i = 0; i < kPerRound; ++i) {
      char id[37];
      snprintf(id, sizeof id, "00000000-0000-4000-8000-%012zu", ids.size());
      messages.push_back({topic_, id, CapturedEvent(id, "Lead " + std::to_string(ids.size())), {}});
      ids.emplace_back(id);
    }
    const int64_t before = Status().events_applied();
    ASSERT_TRUE(producer.SendAll(messages).ok());
    // Kill as soon as the projection is part-way through this round's events.
    int64_t applied = 0;
    testing::WaitUntil(
        [&] {
          applied = Status().events_applied();
          return applied >= before + kPerRound / 5;
        },
        absl::Seconds(60));
    if (applied < before + kPerRound) {
      service_->Kill();
      ++kills;
      std::cerr << "round " << round << ": killed with " << applied - before << " of " << kPerRound
                << " applied\n";
    }
    Start();  // ready only once caught up with the whole topic
  }
  ASSERT_GE(kills, 1) << "the projection always finished before it could be killed; raise kPerRound";
  auto status = Status();
  EXPECT_EQ(Lag(status), 0);
  EXPECT_EQ(status.events_applied(), static_cast<int64_t>(ids.size()));
  EXPECT_EQ(status.duplicates_skipped(), 0) << "an event was seen again after its offset was committed";
  EXPECT_EQ(status.dead_lettered(), 0);
  std::mt19937 rng(7);
  for (int i = 0; i < 50; ++i) {
    const size_t n = rng() % ids.size();
    api::v1::Lead lead;
    ASSERT_TRUE(Get(ids[n], &lead).ok()) << ids[n];
    EXPECT_EQ(lead.name(), "Lead " + std::to_string(n));
    EXPECT_EQ(lead.version(), 1);
  }
}

// Commands in flight when the service is killed: every acknowledged lead survives, and retrying
// every key afterwards leaves exactly one event per key on the topic.
TEST_F(LeadAcquisitionIT, KillNineDuringCommandsThenRetriesLeaveOneEventPerKey) {
  constexpr int kKeys = 400;
  std::atomic<int> next{0};
  std::mutex mu;
  std::map<std::string, std::string> acknowledged;  // key -> lead id
  std::vector<std::thread> callers;
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&] {
      for (int i; (i = next++) < kKeys;) {
        const std::string key = "crash-" + std::to_string(i);
        api::v1::CaptureLeadResponse r;
        if (Capture(Request(key), &r, absl::Seconds(5)).ok()) {
          std::lock_guard lock(mu);
          acknowledged[key] = r.lead_id();
        }
      }
    });
  }
  testing::WaitUntil([&] { return next >= kKeys / 3; }, absl::Seconds(60));
  service_->Kill();
  for (auto& t : callers) t.join();
  ASSERT_LT(acknowledged.size(), static_cast<size_t>(kKeys)) << "nothing was in flight at the kill";

  Start();
  for (const auto& [key, id] : acknowledged) {
    api::v1::Lead lead;
    ASSERT_TRUE(Get(id, &lead).ok()) << "acknowledged lead lost: " << key;
  }
  for (int i = 0; i < kKeys; ++i) {
    const std::string key = "crash-" + std::to_string(i);
    api::v1::CaptureLeadResponse r;
    auto s = Capture(Request(key), &r);
    ASSERT_TRUE(s.ok()) << key << ": " << s.error_message();
    EXPECT_EQ(r.lead_id(), LeadIdFor(key));
    if (acknowledged.count(key)) {
      EXPECT_TRUE(r.replayed()) << key;
    }
  }
  auto all = testing::ReadTopic(topic_);
  ASSERT_TRUE(all.ok());
  std::map<std::string, int> per_key;
  for (const auto& m : *all) per_key[m.key]++;
  EXPECT_EQ(per_key.size(), static_cast<size_t>(kKeys));
  for (const auto& [key, n] : per_key) EXPECT_EQ(n, 1) << "lead " << key << " has " << n << " events";
  ASSERT_TRUE(testing::WaitUntil([&] { return Lag(Status()) == 0; }, absl::Seconds(60)));
  auto status = Status();
  EXPECT_EQ(status.events_applied(), kKeys);
  EXPECT_EQ(status.duplicates_skipped(), 0);
}

// The broker goes away: commands answer UNAVAILABLE (not a hang, not a half-written lead), and
// the service heals by itself when the broker is back.
TEST_F(LeadAcquisitionIT, BrokerDownAnswersUnavailableAndRecovers) {
  api::v1::CaptureLeadResponse r;
  ASSERT_TRUE(Capture(Request("before-outage"), &r).ok());
  ASSERT_TRUE(testing::StopBroker().ok());
  auto down = Capture(Request("during-outage"), &r, absl::Seconds(30));
  EXPECT_EQ(down.error_code(), ::grpc::StatusCode::UNAVAILABLE) << down.error_message();
  api::v1::Lead lead;
  EXPECT_EQ(Get(LeadIdFor("during-outage"), &lead).error_code(), ::grpc::StatusCode::NOT_FOUND);
  // Health tells the truth: the decider waits to resync with the log, so the service is not ready.
  std::string healthz;
  EXPECT_TRUE(testing::WaitUntil(
      [&] {
        auto h = testing::HttpGet(service_->http_port(), "/healthz");
        healthz = h.ok() ? *h : "";
        return healthz.find("503") != std::string::npos;
      },
      absl::Seconds(5)))
      << healthz;
  EXPECT_THAT(healthz, HasSubstr("resync"));
  ASSERT_TRUE(testing::StartBroker().ok());
  // ... and heals by itself, with no command to trigger it (a load balancer sends none meanwhile).
  EXPECT_TRUE(testing::WaitUntil(
      [&] {
        auto h = testing::HttpGet(service_->http_port(), "/healthz");
        return h.ok() && h->find("200") != std::string::npos;
      },
      absl::Seconds(60)))
      << "healthy again once resynced";

  ::grpc::Status healed;
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        healed = Capture(Request("during-outage"), &r, absl::Seconds(10));
        return healed.ok();
      },
      absl::Seconds(90)))
      << healed.error_message();
  // The capture that failed was settled: the decider appended its event again once the broker was
  // back, before deciding anything else, so the retry finds it recorded.
  EXPECT_TRUE(r.replayed());
  ASSERT_TRUE(Get(r.lead_id(), &lead).ok());
  EXPECT_EQ(EventsWithKey(r.lead_id()).size(), 1u);

  // The projection runner reconnected too: an event written by someone else is applied.
  const std::string id = "6d1f3c8a-0000-4000-8000-0000000fade0";
  testing::RawProducer producer;
  ASSERT_TRUE(producer.Send(topic_, id, CapturedEvent(id, "After The Outage")).ok());
  ASSERT_TRUE(testing::WaitUntil([&] { return Get(id, &lead).ok(); }, absl::Seconds(60)));
  ExpectLogIsJsonLines();  // also what the Kafka client library said while the broker was away
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// gRPC over TLS: a plaintext caller gets nothing, a caller that trusts the CA is served (salesctl
// too); with --tls-client-ca only callers presenting a certificate from that CA are; and a service
// refuses to start with plaintext gRPC or HTTP beyond loopback unless told explicitly, and with
// Kafka properties that are not about connecting or security.
TEST_F(LeadAcquisitionIT, TlsMutualTlsAndNoPlaintextBeyondLoopback) {
  testing::TempDir certs;
  ASSERT_TRUE(testing::MakeCertificates(certs).ok());
  const std::string ca = certs.File("ca.pem");
  ASSERT_TRUE(service_->Stop().ok());
  Start({"--tls-cert=" + certs.File("server.pem"), "--tls-key=" + certs.File("server.key")});
  const auto get = [&](std::shared_ptr<::grpc::ChannelCredentials> credentials, const std::string& id) {
    auto stub = api::v1::LeadAcquisition::NewStub(service_->Channel(credentials));
    ::grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    api::v1::GetLeadRequest r;
    r.set_lead_id(id);
    api::v1::Lead lead;
    return stub->GetLead(&ctx, r, &lead);
  };
  const std::string kUnknown = "00000000-0000-4000-8000-00000000dead";  // well-formed, never captured
  ::grpc::SslCredentialsOptions trust;
  trust.pem_root_certs = ReadText(ca);
  // NOT_FOUND: the call reached the service (an unknown lead), which is what is tested.
  EXPECT_EQ(get(::grpc::SslCredentials(trust), kUnknown).error_code(), ::grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(get(::grpc::InsecureChannelCredentials(), kUnknown).error_code(), ::grpc::StatusCode::UNAVAILABLE)
      << "a plaintext caller is not served";
  ::grpc::SslCredentialsOptions wrong_ca;
  wrong_ca.pem_root_certs = ReadText(certs.File("other.pem"));
  EXPECT_EQ(get(::grpc::SslCredentials(wrong_ca), kUnknown).error_code(), ::grpc::StatusCode::UNAVAILABLE)
      << "a certificate the caller does not trust";
  auto [code, out] = Salesctl("--tls-ca=" + ca + " history no-such-lead");
  EXPECT_EQ(code, 1) << out;
  EXPECT_THAT(out, ::testing::HasSubstr("NOT_FOUND"));
  std::tie(code, out) = Salesctl("--tls-ca=" + certs.File("missing.pem") + " history x");
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, ::testing::HasSubstr("tls-ca"));
  // The HTTP port speaks HTTPS with the same certificate, and nothing in plain HTTP.
  {
    httplib::SSLClient https("127.0.0.1", service_->http_port());
    https.set_ca_cert_path(ca.c_str());
    https.enable_server_certificate_verification(true);
    auto res = https.Get("/healthz");
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200);
    httplib::Client plain("127.0.0.1", service_->http_port());
    plain.set_read_timeout(2, 0);
    auto refused = plain.Get("/healthz");
    EXPECT_TRUE(!refused || refused->status != 200) << "plain HTTP is not served";
  }

  // Mutual TLS: the caller's certificate must come from --tls-client-ca.
  ASSERT_TRUE(service_->Stop().ok());
  Start({"--tls-cert=" + certs.File("server.pem"), "--tls-key=" + certs.File("server.key"), "--tls-client-ca=" + ca});
  EXPECT_EQ(get(::grpc::SslCredentials(trust), kUnknown).error_code(), ::grpc::StatusCode::UNAVAILABLE)
      << "no client certificate";
  ::grpc::SslCredentialsOptions with_cert = trust;
  with_cert.pem_cert_chain = ReadText(certs.File("client.pem"));
  with_cert.pem_private_key = ReadText(certs.File("client.key"));
  EXPECT_EQ(get(::grpc::SslCredentials(with_cert), kUnknown).error_code(), ::grpc::StatusCode::NOT_FOUND);
  {
    // --tls-client-ca is gRPC's: HTTPS still serves a browser without a client certificate.
    httplib::SSLClient https("127.0.0.1", service_->http_port());
    https.set_ca_cert_path(ca.c_str());
    auto res = https.Get("/healthz");
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200);
  }
  // The audit trail names the certificate's holder, not what the caller claims in x-actor.
  {
    auto stub = api::v1::LeadAcquisition::NewStub(service_->Channel(::grpc::SslCredentials(with_cert)));
    ::grpc::ClientContext ctx;
    ctx.AddMetadata("x-actor", "somebody-else");
    api::v1::CaptureLeadResponse captured;
    ASSERT_TRUE(stub->CaptureLead(&ctx, Request("tls-capture"), &captured).ok());
    const auto events = EventsWithKey(captured.lead_id());
    ASSERT_EQ(events.size(), 1u);
    auto e = events::Decode(events[0].value);
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_EQ(e->actor(), "integration-test");
  }
  ::grpc::SslCredentialsOptions foreign_cert = trust;
  foreign_cert.pem_cert_chain = ReadText(certs.File("other.pem"));
  foreign_cert.pem_private_key = ReadText(certs.File("other.key"));
  EXPECT_EQ(get(::grpc::SslCredentials(foreign_cert), kUnknown).error_code(), ::grpc::StatusCode::UNAVAILABLE)
      << "a client certificate from another CA";
  std::tie(code, out) = Salesctl(StrCat("--tls-ca=", ca, " --tls-cert=", certs.File("client.pem"),
                                        " --tls-key=", certs.File("client.key"), " history no-such-lead"));
  EXPECT_EQ(code, 1) << out;
  EXPECT_THAT(out, ::testing::HasSubstr("NOT_FOUND"));

  // Start-up refusals (usage errors, exit 2, before anything starts).
  const auto refused = [&](const std::string& flags) {
    const std::string log = certs.File("refused.log");
    const std::string cmd = StrCat(SALES_LEAD_ACQUISITION_BIN, " --kafka-bootstrap=", testing::TestBootstrap(),
                                   " --data-dir=", certs.File("refused-store"), " ", flags, " >", log, " 2>&1");
    const int status = std::system(cmd.c_str());
    return std::pair<int, std::string>{WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadText(log)};
  };
  auto [exit_code, message] = refused("--grpc-listen=0.0.0.0:0 --http-listen=127.0.0.1:0");
  EXPECT_EQ(exit_code, 2) << message;
  EXPECT_THAT(message, ::testing::HasSubstr("--grpc-listen=0.0.0.0:0 is beyond loopback"));
  std::tie(exit_code, message) = refused("--grpc-listen=127.0.0.1:0 --http-listen=0.0.0.0:0");
  EXPECT_EQ(exit_code, 2) << message;
  EXPECT_THAT(message, ::testing::HasSubstr("--http-plaintext-beyond-loopback"));
  std::tie(exit_code, message) = refused("--tls-cert=" + certs.File("server.pem") + " --tls-key=" +
                                         certs.File("server.key") + " --grpc-listen=127.0.0.1:0 --http-listen=0.0.0.0:0");
  EXPECT_EQ(exit_code, 2) << message;
  EXPECT_THAT(message, ::testing::HasSubstr("--http-anonymous-beyond-loopback"));
  std::tie(exit_code, message) = refused("--http-tls-client-ca=" + ca);
  EXPECT_EQ(exit_code, 2) << message;
  EXPECT_THAT(message, ::testing::HasSubstr("--http-tls-client-ca needs --tls-cert"));
  std::tie(exit_code, message) = refused("--tls-cert=" + certs.File("server.pem"));
  EXPECT_EQ(exit_code, 2) << message;
  EXPECT_THAT(message, ::testing::HasSubstr("--tls-key"));
  std::tie(exit_code, message) =
      refused("--tls-cert=" + certs.File("server.pem") + " --tls-key=" + certs.File("missing.key"));
  EXPECT_EQ(exit_code, 2) << message;
  EXPECT_THAT(message, ::testing::HasSubstr("missing.key"));
  {
    std::ofstream(certs.File("kafka.properties")) << "security.protocol=PLAINTEXT\nacks=1\n";
  }
  std::tie(exit_code, message) = refused("--kafka-properties=" + certs.File("kafka.properties"));
  EXPECT_EQ(exit_code, 2) << message;
  EXPECT_THAT(message, ::testing::HasSubstr("kafka.properties:2: acks is not a connection or security property"));
}

}  // namespace
}  // namespace sales::lead_acquisition
