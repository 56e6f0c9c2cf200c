// The fixture of the lead acquisition integration tests: the real service executable, the real
// Kafka broker of the test run (a unique topic prefix per test), a temp folder for its store.
#pragma once

#include <grpcpp/grpcpp.h>

#include <sys/wait.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/base/clock.h"
#include "common/base/text.h"
#include "common/events/envelope.h"
#include "common/testing/kafka_env.h"
#include "common/testing/service_process.h"
#include "common/testing/temp_dir.h"
#include "gtest/gtest.h"
#include "sales/api/v1/admin.grpc.pb.h"
#include "sales/api/v1/lead_acquisition.grpc.pb.h"
#include "services/lead_acquisition/domain/lead.h"

namespace sales::lead_acquisition {

using testing::ServiceProcess;

inline api::v1::CaptureLeadRequest Request(const std::string& key) {
  api::v1::CaptureLeadRequest r;
  r.set_idempotency_key(key);
  r.set_name("Αικατερίνη Οικονόμου");
  r.set_company("Θεσσαλική Εμπορική Ο.Ε.");
  r.set_email(key + "@example.gr");  // a different person per key: no de-duplication between them
  r.set_source(events::v1::LEAD_SOURCE_WEB_FORM);
  r.set_region("GR-THE");
  r.add_product_interest("crm-pro");
  return r;
}

// A LeadCaptured event as the service would write it, for writing straight to the topic.
inline std::string CapturedEvent(const std::string& lead_id, const std::string& name) {
  EventEnvelope e = events::NewEnvelope(kLeadAggregate, lead_id, 1, kLeadCaptured, kSchemaVersion,
                                        {"corr", "", "test", "", "test"}, SystemClock());
  auto* c = e.mutable_lead()->mutable_captured();
  c->mutable_contact()->set_name(name);
  c->mutable_contact()->set_email("bulk@example.com");
  c->set_source(events::v1::LEAD_SOURCE_MARKETING_SYSTEM);
  return events::Encode(e);
}

class LeadAcquisitionIT : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = testing::UniquePrefix();
    topic_ = prefix_ + "sales.leads";
    Start();
  }

  void Start(std::vector<std::string> extra = {}) {
    testing::ServiceOptions o;
    o.binary = SALES_LEAD_ACQUISITION_BIN;
    o.args = {"--kafka-bootstrap=" + testing::TestBootstrap(), "--topic-prefix=" + prefix_, "--partitions=3",
              "--data-dir=" + dir_.File("store"), "--publish-timeout-ms=3000"};
    o.args.insert(o.args.end(), extra.begin(), extra.end());
    o.work_dir = dir_.path();
    auto service = ServiceProcess::Start(o);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = std::move(*service);
    stub_ = api::v1::LeadAcquisition::NewStub(service_->Channel());
    admin_ = api::v1::Admin::NewStub(service_->Channel());
  }

  void TearDown() override {
    if (HasFailure() && service_) std::cerr << "service log tail:\n" << service_->LogTail(60);
  }

  ::grpc::Status Capture(const api::v1::CaptureLeadRequest& r, api::v1::CaptureLeadResponse* out,
                         absl::Duration deadline = absl::Seconds(20)) {
    ::grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    ctx.AddMetadata("x-correlation-id", "it-corr");
    ctx.AddMetadata("x-actor", "integration-test");
    return stub_->CaptureLead(&ctx, r, out);
  }

  ::grpc::Status Get(const std::string& id, api::v1::Lead* out) {
    ::grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    api::v1::GetLeadRequest r;
    r.set_lead_id(id);
    return stub_->GetLead(&ctx, r, out);
  }

  api::v1::ProjectionStatus Status() {
    ::grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    api::v1::GetProjectionStatusResponse r;
    auto s = admin_->GetProjectionStatus(&ctx, {}, &r);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return r.projections_size() ? r.projections(0) : api::v1::ProjectionStatus();
  }

  int64_t Lag(const api::v1::ProjectionStatus& s) {
    int64_t lag = 0;
    for (const auto& p : s.partitions()) lag += p.lag() < 0 ? 1 : p.lag();
    return lag;
  }

  std::vector<testing::ConsumedMessage> EventsWithKey(const std::string& key) {
    auto all = testing::ReadTopic(topic_);
    EXPECT_TRUE(all.ok()) << all.status();
    std::vector<testing::ConsumedMessage> out;
    for (auto& m : *all) {
      if (m.key == key) out.push_back(std::move(m));
    }
    return out;
  }

  // Every lead, page by page.
  std::vector<api::v1::Lead> AllLeads(api::v1::ListLeadsRequest request = {}) {
    std::vector<api::v1::Lead> out;
    request.set_page_size(500);
    while (true) {
      ::grpc::ClientContext ctx;
      api::v1::ListLeadsResponse page;
      auto s = stub_->ListLeads(&ctx, request, &page);
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok()) return out;
      for (auto& l : *page.mutable_leads()) out.push_back(std::move(l));
      if (page.next_page_token().empty()) return out;
      request.set_page_token(page.next_page_token());
    }
  }

  // Every line the service logged is one JSON object in valid UTF-8, whatever its input held.
  void ExpectLogIsJsonLines() {
    const std::string log = service_->LogTail(1 << 20);
    int lines = 0;
    for (absl::string_view line : absl::StrSplit(log, '\n', absl::SkipEmpty())) {
      ++lines;
      EXPECT_TRUE(IsValidUtf8(ToStd(line))) << line;
      google::protobuf::Struct parsed;
      EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(std::string(line), &parsed).ok()) << line;
    }
    EXPECT_GT(lines, 0);
  }

  // Runs the salesctl tool against this service; returns its exit code and output.
  std::pair<int, std::string> Salesctl(const std::string& args) {
    const std::string cmd = std::string(SALES_SALESCTL_BIN) + " --target=127.0.0.1:" +
                            std::to_string(service_->grpc_port()) + " " + args + " 2>&1";
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
  }

  testing::TempDir dir_;
  std::string prefix_, topic_;
  std::unique_ptr<ServiceProcess> service_;
  std::unique_ptr<api::v1::LeadAcquisition::Stub> stub_;
  std::unique_ptr<api::v1::Admin::Stub> admin_;
};

}  // namespace sales::lead_acquisition
