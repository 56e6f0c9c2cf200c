// First offers as a user runs it: its real executable and lead acquisition's, the real Kafka broker
// of the test run, real RocksDB, called over real gRPC. A lead captured and qualified through lead
// acquisition reaches first offers only through `sales.leads`.
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "services/first_offers/tests/offers_service_fixture.h"

namespace sales::first_offers {
namespace {

using ::testing::HasSubstr;

// The fields a BadRequest detail names.
std::vector<std::string> BadFields(const ::grpc::Status& s) {
  google::rpc::Status status;
  std::vector<std::string> fields;
  if (!status.ParseFromString(s.error_details())) return fields;
  for (const auto& d : status.details()) {
    google::rpc::BadRequest br;
    if (d.UnpackTo(&br)) {
      for (const auto& v : br.field_violations()) fields.push_back(v.field());
    }
  }
  return fields;
}

TEST_F(FirstOffersIT, FromQualifiedLeadToAcceptedOfferThatConvertsTheLead) {
  const std::string manager = RegisterManager("mgr-1");
  const std::string lead = QualifiedLead("lead-1");
  ASSERT_TRUE(UpsertProduct("crm-pro", 4990, 1200).ok());

  // The manager's to-do list: the opportunity, awaiting its first offer.
  {
    api::v1::ListOpportunitiesRequest r;
    r.set_owner_manager_id(manager);
    api::v1::ListOpportunitiesResponse out;
    ::grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->ListOpportunities(Context(&ctx), r, &out).ok());
    ASSERT_EQ(out.opportunities_size(), 1);
    EXPECT_EQ(out.opportunities(0).lead_id(), lead);
    EXPECT_EQ(out.opportunities(0).company(), "Αλεξίου Ξυλεία Α.Ε.");
    EXPECT_TRUE(out.opportunities(0).awaiting_first_offer());
  }

  api::v1::OfferCommandResponse drafted;
  auto s = Draft("offer-1", lead, Terms(40, 1000), &drafted);  // 40 x 49.90 at 10% off
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(drafted.version(), 1);
  EXPECT_EQ(drafted.status(), api::v1::OFFER_STATUS_DRAFT);
  api::v1::Offer offer = GetOffer(drafted.offer_id());
  EXPECT_EQ(offer.total().units(), 179640);  // 1996.00 - 10% = 1796.40
  EXPECT_EQ(offer.gross().units(), 199600);
  EXPECT_EQ(offer.discount().units(), 19960);
  EXPECT_EQ(offer.owner_manager_id(), manager);
  EXPECT_EQ(offer.lead().contact().company(), "Αλεξίου Ξυλεία Α.Ε.");

  api::v1::ReviseOfferRequest revise = OnOffer<api::v1::ReviseOfferRequest>("offer-1-r2", drafted.offer_id(), 1);
  *revise.mutable_terms() = Terms(50, 1500);
  revise.set_reason("more seats, a bigger discount");
  api::v1::OfferCommandResponse revised;
  {
    ::grpc::ClientContext ctx;
    s = stub_->ReviseOffer(Context(&ctx), revise, &revised);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_EQ(revised.revision(), 2);
  EXPECT_EQ(GetOffer(drafted.offer_id(), 1).total().units(), 179640) << "revision 1 stays readable";
  EXPECT_EQ(GetOffer(drafted.offer_id()).total().units(), 212075);  // 2495.00 - 15% = 2120.75

  api::v1::OfferCommandResponse sent, accepted;
  ASSERT_TRUE(Send("offer-1-send", drafted.offer_id(), &sent, 2).ok());
  EXPECT_EQ(sent.status(), api::v1::OFFER_STATUS_SENT);
  s = Accept("offer-1-accept", drafted.offer_id(), &accepted);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(accepted.status(), api::v1::OFFER_STATUS_ACCEPTED);
  EXPECT_TRUE(accepted.converts_lead());
  EXPECT_EQ(accepted.version(), 4);

  // The retry of a command answers the first result and appends nothing.
  api::v1::OfferCommandResponse again;
  ASSERT_TRUE(Accept("offer-1-accept", drafted.offer_id(), &again).ok());
  EXPECT_TRUE(again.replayed());
  EXPECT_EQ(again.version(), 4);

  // The conversion carries everything client support needs.
  auto events = OfferEvents();
  ASSERT_EQ(events[drafted.offer_id()].size(), 4u);
  const events::EventEnvelope& last = events[drafted.offer_id()].back();
  EXPECT_EQ(last.event_type(), "offer.accepted");
  EXPECT_EQ(last.actor(), "integration-test");
  const auto& conversion = last.offer().accepted().conversion();
  EXPECT_EQ(conversion.lead_id(), lead);
  EXPECT_EQ(conversion.contact().company(), "Αλεξίου Ξυλεία Α.Ε.");
  EXPECT_EQ(conversion.contact().name(), "Νίκος Αλεξίου");
  EXPECT_EQ(conversion.owner_manager_id(), manager);
  EXPECT_EQ(conversion.region(), "GR-MAC");
  EXPECT_THAT(conversion.product_codes(), ::testing::ElementsAre("crm-pro"));
  EXPECT_EQ(conversion.value().units(), 212075);
  EXPECT_EQ(conversion.value().currency(), "EUR");

  // History and the opportunity after the win.
  api::v1::GetOfferHistoryRequest hr;
  hr.set_offer_id(drafted.offer_id());
  api::v1::GetOfferHistoryResponse history;
  {
    ::grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->GetOfferHistory(Context(&ctx), hr, &history).ok());
  }
  ASSERT_EQ(history.events_size(), 4);
  EXPECT_EQ(history.events(1).event_type(), "offer.revised");
  api::v1::GetOpportunityRequest gr;
  gr.set_lead_id(lead);
  api::v1::Opportunity opportunity;
  {
    ::grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->GetOpportunity(Context(&ctx), gr, &opportunity).ok());
  }
  EXPECT_EQ(opportunity.status(), api::v1::OPPORTUNITY_STATUS_WON);
  EXPECT_EQ(opportunity.offers(), 1);

  // The offers of the lead.
  api::v1::ListOffersRequest lr;
  lr.set_lead_id(lead);
  api::v1::ListOffersResponse listed;
  {
    ::grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->ListOffers(Context(&ctx), lr, &listed).ok());
  }
  ASSERT_EQ(listed.offers_size(), 1);
  EXPECT_EQ(listed.offers(0).status(), api::v1::OFFER_STATUS_ACCEPTED);
}

TEST_F(FirstOffersIT, RejectWithdrawExpireAndEveryIllegalTransitionIsRefused) {
  RegisterManager("mgr-2");
  const std::string lead = QualifiedLead("lead-2");
  const std::string unqualified = QualifiedLead("lead-3", /*qualify=*/false);
  ASSERT_TRUE(UpsertProduct("crm-pro", 4990, 1200).ok());
  api::v1::OfferCommandResponse out;

  // Only a qualified lead, known to first offers, gets an offer.
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        auto s = Draft("early", unqualified, Terms(1, 0), &out);
        return s.error_message().find("is not qualified yet") != std::string::npos;
      },
      absl::Seconds(30)));
  auto s = Draft("unknown", "00000000-0000-4000-8000-000000000000", Terms(1, 0), &out);
  EXPECT_EQ(s.error_code(), ::grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("not known to first offers yet"));

  // Bad input: the field is named.
  api::v1::OfferTermsInput bad = Terms(0, 20000);
  bad.set_currency("EURO");
  s = Draft("bad", lead, bad, &out);
  EXPECT_EQ(s.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(BadFields(s), ::testing::IsSupersetOf({"terms.currency", "terms.lines[0].quantity"}));
  s = Draft("expire:mine", lead, Terms(1, 0), &out);
  EXPECT_EQ(s.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT) << "reserved key prefix";

  // Rejected: final.
  api::v1::OfferCommandResponse a, b, c;
  ASSERT_TRUE(Draft("offer-a", lead, Terms(2, 0), &a).ok());
  s = Accept("accept-draft", a.offer_id(), &out);
  EXPECT_EQ(s.error_code(), ::grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("only a sent offer can be accepted"));
  s = Send("send-a-stale", a.offer_id(), &out, /*expected_version=*/7);
  EXPECT_EQ(s.error_code(), ::grpc::StatusCode::ABORTED) << s.error_message();
  ASSERT_TRUE(Send("send-a", a.offer_id(), &out).ok());
  api::v1::RejectOfferRequest reject = OnOffer<api::v1::RejectOfferRequest>("reject-a", a.offer_id());
  reject.set_reason(events::v1::REJECTION_REASON_PRICE);
  reject.set_note("20% over budget");
  {
    ::grpc::ClientContext ctx;
    s = stub_->RejectOffer(Context(&ctx), reject, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_EQ(out.status(), api::v1::OFFER_STATUS_REJECTED);
  s = Accept("accept-rejected", a.offer_id(), &out);
  EXPECT_EQ(s.error_code(), ::grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("REJECTED (final)"));

  // Withdrawn: final.
  ASSERT_TRUE(Draft("offer-b", lead, Terms(3, 0), &b).ok());
  api::v1::WithdrawOfferRequest withdraw = OnOffer<api::v1::WithdrawOfferRequest>("withdraw-b", b.offer_id());
  withdraw.set_reason("client merged with another company");
  {
    ::grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->WithdrawOffer(Context(&ctx), withdraw, &out).ok());
  }
  s = Send("send-withdrawn", b.offer_id(), &out);
  EXPECT_EQ(s.error_code(), ::grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("WITHDRAWN (final)"));

  // Expired by the scheduler when the service's clock passes valid-until.
  ASSERT_TRUE(Draft("offer-c", lead, Terms(4, 0, absl::Hours(1)), &c).ok());
  ASSERT_TRUE(Send("send-c", c.offer_id(), &out).ok());
  EXPECT_EQ(GetOffer(c.offer_id()).status(), api::v1::OFFER_STATUS_SENT);
  SetClockOffset(absl::Hours(2));
  ASSERT_TRUE(testing::WaitUntil([&] { return GetOffer(c.offer_id()).status() == api::v1::OFFER_STATUS_EXPIRED; },
                                 absl::Seconds(20)));
  s = Accept("accept-expired", c.offer_id(), &out);
  EXPECT_EQ(s.error_code(), ::grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("EXPIRED (final)"));
  api::v1::GetOfferRequest missing;
  missing.set_offer_id("no-such-offer");
  api::v1::Offer none;
  {
    ::grpc::ClientContext ctx;
    EXPECT_EQ(stub_->GetOffer(Context(&ctx), missing, &none).error_code(), ::grpc::StatusCode::NOT_FOUND);
  }

  // Expired once, also across a restart and a full rebuild: the due row is gone with the event.
  auto events = OfferEvents();
  ASSERT_EQ(events[c.offer_id()].size(), 3u);
  EXPECT_EQ(events[c.offer_id()].back().event_type(), "offer.expired");
  EXPECT_EQ(events[c.offer_id()].back().actor(), "system:offer-expiry");
  ExpectRebuildGivesIdenticalRows();
  absl::SleepFor(absl::Seconds(2));  // several scheduler ticks on the restarted service
  EXPECT_EQ(OfferEvents()[c.offer_id()].size(), 3u) << "expired twice";
  EXPECT_EQ(ProjectionStatus().dead_lettered(), 0);
}

// Commands in flight when first offers is killed: every acknowledged command survives, and
// retrying every key afterwards leaves exactly one event per offer version.
TEST_F(FirstOffersIT, KillNineMidFlowLosesAndDuplicatesNothing) {
  RegisterManager("mgr-3");
  ASSERT_TRUE(UpsertProduct("crm-pro", 4990, 1200).ok());
  constexpr int kLeads = 60;
  std::vector<std::string> leads;
  for (int i = 0; i < kLeads; ++i) leads.push_back(QualifiedLead("kill-lead-" + std::to_string(i)));

  // Draft, send, accept each lead's offer; the offer id derives from the draft's key.
  auto flow = [&](int i, absl::Duration deadline, std::string* offer_id) -> ::grpc::Status {
    const std::string key = "kill-offer-" + std::to_string(i);
    api::v1::OfferCommandResponse out;
    auto s = Draft(key, leads[i], Terms(1 + i, 0), &out, deadline);
    if (!s.ok()) return s;
    *offer_id = out.offer_id();
    if (!(s = Send(key + "-send", out.offer_id(), &out, 0, deadline)).ok()) return s;
    return Accept(key + "-accept", out.offer_id(), &out, deadline);
  };
  std::atomic<int> next{0}, completed{0};
  std::mutex mu;
  std::set<std::string> acknowledged;  // offer ids whose whole flow was acknowledged
  std::vector<std::thread> callers;
  for (int t = 0; t < 6; ++t) {
    callers.emplace_back([&] {
      for (int i; (i = next++) < kLeads;) {
        std::string id;
        if (flow(i, absl::Seconds(5), &id).ok()) {
          std::lock_guard lock(mu);
          acknowledged.insert(id);
          ++completed;
        }
      }
    });
  }
  testing::WaitUntil([&] { return completed >= kLeads / 4; }, absl::Seconds(60));
  offers_->Kill();
  for (auto& t : callers) t.join();
  ASSERT_LT(acknowledged.size(), static_cast<size_t>(kLeads)) << "nothing was in flight at the kill";

  StartOffers();
  for (const auto& id : acknowledged) {
    EXPECT_EQ(GetOffer(id).status(), api::v1::OFFER_STATUS_ACCEPTED) << "acknowledged acceptance lost: " << id;
  }
  for (int i = 0; i < kLeads; ++i) {
    std::string id;
    auto s = flow(i, absl::Seconds(20), &id);
    ASSERT_TRUE(s.ok()) << "retry of lead " << i << ": " << s.error_message();
  }
  auto events = OfferEvents();
  std::map<std::string, int> product_events;
  int offers = 0;
  for (const auto& [key, list] : events) {
    if (list.front().aggregate_type() != "offer") continue;
    ++offers;
    ASSERT_EQ(list.size(), 3u) << "offer " << key << " has " << list.size() << " events";
    for (size_t v = 0; v < list.size(); ++v) EXPECT_EQ(list[v].aggregate_version(), static_cast<int64_t>(v + 1));
    EXPECT_TRUE(list.back().offer().accepted().converts_lead());
  }
  EXPECT_EQ(offers, kLeads);
  auto status = ProjectionStatus();
  EXPECT_EQ(status.duplicates_skipped(), 0);
  EXPECT_EQ(status.dead_lettered(), 0);
  ExpectRebuildGivesIdenticalRows();
}

}  // namespace
}  // namespace sales::first_offers
