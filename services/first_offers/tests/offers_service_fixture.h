// The fixture of the first offers integration tests: both real services (lead acquisition, whose
// events open opportunities, and first offers) as child processes on the real Kafka broker of the
// test run, a unique topic prefix per test, a temp folder for their stores, and a clock offset file
// the first offers process reads (--test-clock-offset-file) so a test can move it through time.
#pragma once

#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/events/envelope.h"
#include "common/store/store.h"
#include "common/testing/kafka_env.h"
#include "common/testing/sample_requests.h"
#include "common/testing/service_process.h"
#include "common/testing/store_rows.h"
#include "common/testing/temp_dir.h"
#include "gtest/gtest.h"
#include "sales/api/v1/admin.grpc.pb.h"
#include "sales/api/v1/first_offers.grpc.pb.h"
#include "sales/api/v1/lead_acquisition.grpc.pb.h"
#include "services/first_offers/projection/offers_projection.h"

namespace sales::first_offers {

using testing::ServiceProcess;

class FirstOffersIT : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = testing::UniquePrefix();
    offers_topic_ = prefix_ + "sales.offers";
    SetClockOffset(absl::ZeroDuration());
    StartLeads();
    StartOffers();
  }

  void TearDown() override {
    if (HasFailure()) {
      if (offers_) std::cerr << "first-offers log tail:\n" << offers_->LogTail(60);
      if (leads_) std::cerr << "lead-acquisition log tail:\n" << leads_->LogTail(30);
    }
  }

  std::vector<std::string> CommonArgs(const std::string& store) {
    return {"--kafka-bootstrap=" + testing::TestBootstrap(), "--topic-prefix=" + prefix_, "--partitions=3",
            "--data-dir=" + dir_.File(store), "--publish-timeout-ms=3000"};
  }

  void StartLeads() {
    testing::ServiceOptions o;
    o.binary = SALES_LEAD_ACQUISITION_BIN;
    o.args = CommonArgs("leads-store");
    o.work_dir = dir_.File("leads");
    std::filesystem::create_directories(o.work_dir);
    auto service = ServiceProcess::Start(o);
    ASSERT_TRUE(service.ok()) << service.status();
    leads_ = std::move(*service);
    lead_stub_ = api::v1::LeadAcquisition::NewStub(leads_->Channel());
  }

  // Starts (or restarts) first offers on the store folder `store`.
  void StartOffers(const std::string& store = "offers-store") {
    auto service = StartOffersProcess(store);
    ASSERT_TRUE(service.ok()) << service.status();
    offers_ = std::move(*service);
    stub_ = api::v1::FirstOffers::NewStub(offers_->Channel());
    admin_ = api::v1::Admin::NewStub(offers_->Channel());
  }

  StatusOr<std::unique_ptr<ServiceProcess>> StartOffersProcess(const std::string& store) {
    testing::ServiceOptions o;
    o.binary = SALES_FIRST_OFFERS_BIN;
    o.args = CommonArgs(store);
    o.args.push_back("--test-clock-offset-file=" + dir_.File("clock-offset"));
    o.work_dir = dir_.File(store + "-work");
    std::filesystem::create_directories(o.work_dir);
    return ServiceProcess::Start(o);
  }

  // Moves first offers' clock: real time + offset (in effect on return: the service reads the
  // file again at most every 50 ms).
  void SetClockOffset(absl::Duration offset) {
    std::ofstream(dir_.File("clock-offset")) << absl::ToInt64Seconds(offset) << "\n";
    absl::SleepFor(absl::Milliseconds(120));
  }

  static ::grpc::ClientContext* Context(::grpc::ClientContext* ctx, absl::Duration deadline = absl::Seconds(20)) {
    ctx->set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    ctx->AddMetadata("x-correlation-id", "offers-it");
    ctx->AddMetadata("x-actor", "integration-test");
    return ctx;
  }

  // A manager covering every region, registered through lead acquisition.
  std::string RegisterManager(const std::string& key) {
    api::v1::RegisterManagerRequest r;
    r.set_idempotency_key(key);
    r.set_name("Μαρία Παπαδάκη");
    r.set_email(key + "@sales.example.gr");
    r.add_regions("*");
    api::v1::ManagerCommandResponse out;
    ::grpc::ClientContext ctx;
    auto s = lead_stub_->RegisterManager(Context(&ctx), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out.manager_id();
  }

  // A lead captured and (unless `qualify` is false) qualified through lead acquisition; waits
  // until first offers has seen it. Returns the lead id.
  std::string QualifiedLead(const std::string& key, bool qualify = true) {
    api::v1::CaptureLeadRequest c;
    c.set_idempotency_key(key);
    c.set_name("Νίκος Αλεξίου");
    c.set_company("Αλεξίου Ξυλεία Α.Ε.");
    c.set_email(key + "@client.example.gr");
    // A different person per key: no de-duplication between them.
    c.set_phone("+30 2310 " + std::to_string(100000 + std::hash<std::string>()(key) % 900000));
    c.set_source(events::v1::LEAD_SOURCE_WEB_FORM);
    c.set_region("GR-MAC");
    c.add_product_interest("crm-pro");
    api::v1::CaptureLeadResponse captured;
    {
      ::grpc::ClientContext ctx;
      auto s = lead_stub_->CaptureLead(Context(&ctx), c, &captured);
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
    if (qualify) {
      const api::v1::QualifyLeadRequest q = testing::SampleQualification(key + "-q", captured.lead_id());
      api::v1::LeadCommandResponse out;
      ::grpc::ClientContext ctx;
      auto s = lead_stub_->QualifyLead(Context(&ctx), q, &out);
      EXPECT_TRUE(s.ok()) << s.error_message();
      EXPECT_TRUE(testing::WaitUntil(
          [&] {
            api::v1::GetOpportunityRequest g;
            g.set_lead_id(captured.lead_id());
            api::v1::Opportunity o;
            ::grpc::ClientContext gctx;
            return stub_->GetOpportunity(Context(&gctx), g, &o).ok();
          },
          absl::Seconds(30)))
          << "first offers never saw the qualified lead " << captured.lead_id();
    }
    return captured.lead_id();
  }

  ::grpc::Status UpsertProduct(const std::string& code, int64_t list_cents, int64_t cost_cents) {
    api::v1::UpsertProductRequest r;
    r.set_idempotency_key("product-" + code + "-" + std::to_string(list_cents));
    r.set_code(code);
    r.set_name("CRM Pro, άδεια χρήστη");
    r.mutable_list_price()->set_units(list_cents);
    r.mutable_list_price()->set_currency("EUR");
    r.mutable_unit_cost()->set_units(cost_cents);
    r.mutable_unit_cost()->set_currency("EUR");
    api::v1::ProductCommandResponse out;
    ::grpc::ClientContext ctx;
    return stub_->UpsertProduct(Context(&ctx), r, &out);
  }

  api::v1::OfferTermsInput Terms(int64_t quantity, int32_t discount_bp, absl::Duration valid_for = absl::Hours(24 * 14)) {
    api::v1::OfferTermsInput t;
    t.set_currency("EUR");
    auto* line = t.add_lines();
    line->set_product_code("crm-pro");
    line->set_quantity(quantity);
    line->set_discount_bp(discount_bp);
    // From the test's start, so that a retry repeats the same request.
    *t.mutable_valid_until() = events::ToProto(absl::FromUnixSeconds(absl::ToUnixSeconds(started_)) + valid_for);
    t.set_payment_terms(events::v1::PAYMENT_TERMS_NET_30);
    t.set_note("Τιμές χωρίς ΦΠΑ");
    return t;
  }

  ::grpc::Status Draft(const std::string& key, const std::string& lead_id, const api::v1::OfferTermsInput& terms,
                       api::v1::OfferCommandResponse* out, absl::Duration deadline = absl::Seconds(20)) {
    api::v1::DraftOfferRequest r;
    r.set_idempotency_key(key);
    r.set_lead_id(lead_id);
    *r.mutable_terms() = terms;
    ::grpc::ClientContext ctx;
    return stub_->DraftOffer(Context(&ctx, deadline), r, out);
  }

  template <typename Request>
  Request OnOffer(const std::string& key, const std::string& offer_id, int64_t expected_version = 0) {
    Request r;
    r.set_idempotency_key(key);
    r.set_offer_id(offer_id);
    r.set_expected_version(expected_version);
    return r;
  }

  ::grpc::Status Send(const std::string& key, const std::string& offer_id, api::v1::OfferCommandResponse* out,
                      int64_t expected_version = 0, absl::Duration deadline = absl::Seconds(20)) {
    ::grpc::ClientContext ctx;
    return stub_->SendOffer(Context(&ctx, deadline), OnOffer<api::v1::SendOfferRequest>(key, offer_id, expected_version),
                            out);
  }

  ::grpc::Status Accept(const std::string& key, const std::string& offer_id, api::v1::OfferCommandResponse* out,
                        absl::Duration deadline = absl::Seconds(20)) {
    ::grpc::ClientContext ctx;
    return stub_->AcceptOffer(Context(&ctx, deadline), OnOffer<api::v1::AcceptOfferRequest>(key, offer_id), out);
  }

  api::v1::Offer GetOffer(const std::string& offer_id, int32_t revision = 0) {
    api::v1::GetOfferRequest r;
    r.set_offer_id(offer_id);
    r.set_revision(revision);
    api::v1::Offer out;
    ::grpc::ClientContext ctx;
    auto s = stub_->GetOffer(Context(&ctx), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  api::v1::ProjectionStatus ProjectionStatus() {
    ::grpc::ClientContext ctx;
    api::v1::GetProjectionStatusResponse r;
    auto s = admin_->GetProjectionStatus(Context(&ctx), {}, &r);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return r.projections_size() ? r.projections(0) : api::v1::ProjectionStatus();
  }

  // Events on sales.offers, per offer id.
  std::map<std::string, std::vector<events::EventEnvelope>> OfferEvents() {
    std::map<std::string, std::vector<events::EventEnvelope>> out;
    auto all = testing::ReadTopic(offers_topic_);
    EXPECT_TRUE(all.ok()) << all.status();
    if (!all.ok()) return out;
    for (const auto& m : *all) {
      auto e = events::Decode(m.value);
      EXPECT_TRUE(e.ok()) << e.status();
      if (e.ok()) out[m.key].push_back(std::move(*e));
    }
    return out;
  }

  // Stops the serving first offers, rebuilds a fresh store from both topics with a second
  // instance, and checks that both stores hold the same rows byte for byte.
  void ExpectRebuildGivesIdenticalRows() {
    auto stopped = offers_->Stop();
    ASSERT_TRUE(stopped.ok() && *stopped == 0) << "first-offers did not stop cleanly";
    auto rebuild = StartOffersProcess("rebuild-store");
    ASSERT_TRUE(rebuild.ok()) << rebuild.status();  // ready = caught up with both topics
    ASSERT_TRUE((*rebuild)->Stop().ok());
    OffersProjection projection;
    testing::ExpectSameRows(testing::StoreRows(dir_.File("offers-store"), projection),
                            testing::StoreRows(dir_.File("rebuild-store"), projection));
    StartOffers();
  }

  testing::TempDir dir_;
  const absl::Time started_ = absl::Now();
  std::string prefix_, offers_topic_;
  std::unique_ptr<ServiceProcess> leads_, offers_;
  std::unique_ptr<api::v1::LeadAcquisition::Stub> lead_stub_;
  std::unique_ptr<api::v1::FirstOffers::Stub> stub_;
  std::unique_ptr<api::v1::Admin::Stub> admin_;
};

}  // namespace sales::first_offers
