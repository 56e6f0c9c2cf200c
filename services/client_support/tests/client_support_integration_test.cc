// Client support as a user runs it: the real executables of lead acquisition, first offers and
// client support on the real Kafka broker of the test run, real RocksDB, real gRPC. A client is
// opened only by first offers' conversion event on `sales.offers`; PBX records arrive as JSON on
// `telephony.calls.inbound`.
#include <atomic>
#include <mutex>
#include <thread>

#include "common/base/clock.h"
#include "common/command/decider.h"
#include "gmock/gmock.h"
#include "sales/api/v1/client_support.grpc.pb.h"
#include "services/client_support/projection/clients_projection.h"
#include "services/first_offers/tests/offers_service_fixture.h"

namespace sales::client_support {
namespace {

using ::testing::HasSubstr;

class ClientSupportIT : public first_offers::FirstOffersIT {
 protected:
  void SetUp() override {
    FirstOffersIT::SetUp();
    clients_topic_ = prefix_ + "sales.clients";
    calls_topic_ = prefix_ + "telephony.calls.inbound";
    StartSupport();
  }

  void TearDown() override {
    if (HasFailure() && support_) std::cerr << "client-support log tail:\n" << support_->LogTail(60);
    FirstOffersIT::TearDown();
  }

  StatusOr<std::unique_ptr<testing::ServiceProcess>> StartSupportProcess(const std::string& store) {
    testing::ServiceOptions o;
    o.binary = SALES_CLIENT_SUPPORT_BIN;
    o.args = CommonArgs(store);
    o.args.push_back("--test-clock-offset-file=" + dir_.File("clock-offset"));
    o.work_dir = dir_.File(store + "-work");
    std::filesystem::create_directories(o.work_dir);
    return testing::ServiceProcess::Start(o);
  }

  void StartSupport() {
    auto service = StartSupportProcess("support-store");
    ASSERT_TRUE(service.ok()) << service.status();
    support_ = std::move(*service);
    support_stub_ = api::v1::ClientSupport::NewStub(support_->Channel());
    support_admin_ = api::v1::Admin::NewStub(support_->Channel());
  }

  // A lead taken all the way to an accepted first offer; waits until client support opened the
  // client. Returns the client.
  api::v1::Client WonClient(const std::string& key) {
    const std::string lead = QualifiedLead(key);
    api::v1::OfferCommandResponse out;
    EXPECT_TRUE(Draft(key + "-offer", lead, Terms(10, 0), &out).ok());
    EXPECT_TRUE(Send(key + "-send", out.offer_id(), &out).ok());
    EXPECT_TRUE(Accept(key + "-accept", out.offer_id(), &out).ok());
    api::v1::Client client;
    EXPECT_TRUE(testing::WaitUntil(
        [&] {
          api::v1::GetClientRequest r;
          r.set_lead_id(lead);
          ::grpc::ClientContext ctx;
          return support_stub_->GetClient(Context(&ctx), r, &client).ok();
        },
        absl::Seconds(30)))
        << "client support never opened the client of lead " << lead;
    return client;
  }

  api::v1::Client GetClient(const std::string& id) {
    api::v1::GetClientRequest r;
    r.set_client_id(id);
    api::v1::Client out;
    ::grpc::ClientContext ctx;
    auto s = support_stub_->GetClient(Context(&ctx), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  std::vector<api::v1::TimelineEntry> Timeline(const std::string& id) {
    api::v1::GetClientTimelineRequest r;
    r.set_client_id(id);
    api::v1::GetClientTimelineResponse out;
    ::grpc::ClientContext ctx;
    EXPECT_TRUE(support_stub_->GetClientTimeline(Context(&ctx), r, &out).ok());
    return {out.entries().begin(), out.entries().end()};
  }

  static std::string CallJson(const std::string& id, const std::string& from, const std::string& started_at,
                              bool answered = true) {
    return StrCat(R"({"schema_version":1,"call_id":")", id, R"(","from":")", from,
                  R"(","to":"+302100000000","direction":"inbound","started_at":")", started_at,
                  R"(","duration_seconds":)", answered ? 180 : 0, R"(,"answered":)", answered ? "true" : "false",
                  R"(,"extension":"201"})");
  }

  ::grpc::Status TicketCommand(const char* which, const std::string& key, const std::string& client,
                               const std::string& ticket, const std::string& note = "",
                               const std::string& manager = "") {
    api::v1::TicketCommandRequest r;
    r.set_idempotency_key(key);
    r.set_client_id(client);
    r.set_ticket_id(ticket);
    r.set_note(note);
    r.set_manager_id(manager);
    api::v1::ClientCommandResponse out;
    ::grpc::ClientContext ctx;
    const std::string w = which;
    if (w == "respond") return support_stub_->RespondToTicket(Context(&ctx), r, &out);
    if (w == "resolve") return support_stub_->ResolveTicket(Context(&ctx), r, &out);
    return support_stub_->ReopenTicket(Context(&ctx), r, &out);
  }

  void ExpectSupportRebuildGivesIdenticalRows() {
    auto stopped = support_->Stop();
    ASSERT_TRUE(stopped.ok() && *stopped == 0) << "client-support did not stop cleanly";
    auto rebuild = StartSupportProcess("support-rebuild");
    ASSERT_TRUE(rebuild.ok()) << rebuild.status();
    ASSERT_TRUE((*rebuild)->Stop().ok());
    ClientsProjection projection;
    testing::ExpectSameRows(testing::StoreRows(dir_.File("support-store"), projection),
                            testing::StoreRows(dir_.File("support-rebuild"), projection));
    StartSupport();
  }

  // A manager event as lead acquisition appends it to sales.leads (enveloped by the kit's
  // EventFactory, keyed by the manager id), at business time `at`. Lead acquisition's command for
  // extensions comes with another branch; the roster only needs the events.
  void AppendManagerEvent(const std::string& manager_id, int64_t version, absl::Time at, std::string_view type,
                          const events::v1::ManagerEvent& payload) {
    command::EventFactory factory("lead-acquisition", &SystemClock());
    const std::string key = StrCat("roster-", manager_id, "-", version);
    events::v1::EventEnvelope e =
        factory.New(kManagerAggregate, manager_id, version, type, 1, "RegisterManager", key, key, {"it", "admin"});
    *e.mutable_occurred_at() = events::ToProto(at);
    *e.mutable_manager() = payload;
    testing::RawProducer producer;
    ASSERT_TRUE(producer.Send(prefix_ + "sales.leads", manager_id, events::Encode(e)).ok());
  }
  void ManagerRegistered(const std::string& id, absl::Time at, const std::string& extension) {
    events::v1::ManagerEvent e;
    e.mutable_registered()->set_name("Γιώργος " + id);
    e.mutable_registered()->set_email(id + "@sales.example.gr");
    e.mutable_registered()->add_regions("*");
    e.mutable_registered()->set_extension(extension);
    AppendManagerEvent(id, 1, at, "manager.registered", e);
  }
  void ManagerExtensionChanged(const std::string& id, int64_t version, absl::Time at, const std::string& extension) {
    events::v1::ManagerEvent e;
    e.mutable_extension_changed()->set_extension(extension);
    AppendManagerEvent(id, version, at, "manager.extension_changed", e);
  }

  static std::string CallJson(const std::string& id, const std::string& from, absl::Time started_at,
                              const std::string& extension) {
    return StrCat(R"({"schema_version":1,"call_id":")", id, R"(","from":")", from,
                  R"(","to":"+302100000000","direction":"inbound","started_at":")",
                  absl::FormatTime(absl::RFC3339_sec, started_at, absl::UTCTimeZone()),
                  R"(","duration_seconds":60,"answered":true,"extension":")", extension, R"("})");
  }

  api::v1::GetProjectionStatusResponse SupportStatus() {
    api::v1::GetProjectionStatusResponse out;
    ::grpc::ClientContext ctx;
    auto s = support_admin_->GetProjectionStatus(Context(&ctx), {}, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }
  static const api::v1::ProjectionStatus* Consumer(const api::v1::GetProjectionStatusResponse& r,
                                                   const std::string& name) {
    for (const auto& p : r.projections()) {
      if (p.name() == name) return &p;
    }
    return nullptr;
  }

  std::string clients_topic_, calls_topic_;
  std::unique_ptr<testing::ServiceProcess> support_;
  std::unique_ptr<api::v1::ClientSupport::Stub> support_stub_;
  std::unique_ptr<api::v1::Admin::Stub> support_admin_;
};

TEST_F(ClientSupportIT, FromAcceptedOfferThroughCallsTicketsOrdersAndRenewals) {
  const std::string manager = RegisterManager("cs-mgr");
  ASSERT_TRUE(UpsertProduct("crm-pro", 4990, 1200).ok());
  api::v1::Client client = WonClient("cs-lead");
  EXPECT_EQ(client.company(), "Αλεξίου Ξυλεία Α.Ε.");
  EXPECT_EQ(client.owner_manager_id(), manager);
  EXPECT_EQ(client.region(), "GR-MAC");
  EXPECT_EQ(client.first_deal_value().units(), 49900);
  EXPECT_EQ(client.status(), api::v1::CLIENT_STATUS_ACTIVE);
  const std::string id = client.client_id();

  // A PBX record from the client's number, written in another format, becomes an interaction;
  // a record from an unknown number is kept as unmatched; a malformed one is dead-lettered.
  testing::RawProducer producer;
  const std::string national = client.phone().substr(3);  // "+30 2310 ..." -> "2310 ..."
  ASSERT_TRUE(producer.Send(calls_topic_, "c1", CallJson("pbx-1", national, "2026-11-20T09:15:00+02:00")).ok());
  ASSERT_TRUE(producer.Send(calls_topic_, "c2", CallJson("pbx-2", "+44 20 7946 0000", "2026-11-20T10:00:00Z")).ok());
  ASSERT_TRUE(producer.Send(calls_topic_, "c3", R"({"schema_version":1,"call_id":"pbx-3","from":"x"})").ok());
  ASSERT_TRUE(producer.Send(calls_topic_, "c1", CallJson("pbx-1", national, "2026-11-20T09:15:00+02:00")).ok());
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        api::v1::ListUnmatchedCallsRequest r;
        api::v1::ListUnmatchedCallsResponse out;
        ::grpc::ClientContext ctx;
        return support_stub_->ListUnmatchedCalls(Context(&ctx), r, &out).ok() && out.calls_size() == 1;
      },
      absl::Seconds(30)));
  auto timeline = Timeline(id);
  int calls = 0;
  for (const auto& e : timeline) calls += e.event().interaction_logged().has_call() ? 1 : 0;
  EXPECT_EQ(calls, 1) << "the resent call record must make one interaction";
  StatusOr<std::vector<testing::ConsumedMessage>> dlq;
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        dlq = testing::ReadTopic(calls_topic_ + ".dlq", absl::Seconds(5));
        return dlq.ok() && dlq->size() == 1;
      },
      absl::Seconds(20)));
  EXPECT_FALSE((*dlq)[0].Header("dlq.reason").empty());

  // A ticket under the SLA: urgent = 1 h to respond. Two hours later it is breached, once.
  api::v1::OpenTicketRequest open;
  open.set_idempotency_key("cs-ticket-1");
  open.set_client_id(id);
  open.set_category(events::v1::TICKET_CATEGORY_INCIDENT);
  open.set_priority(events::v1::TICKET_PRIORITY_URGENT);
  open.set_subject("Δεν συγχρονίζονται οι επαφές");
  api::v1::ClientCommandResponse opened;
  {
    ::grpc::ClientContext ctx;
    auto s = support_stub_->OpenTicket(Context(&ctx), open, &opened);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  const std::string ticket = opened.ticket_id();
  ASSERT_FALSE(ticket.empty());
  SetClockOffset(absl::Hours(2));
  api::v1::ListTicketsResponse breached;
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        api::v1::ListTicketsRequest r;
        r.set_only_breached(true);
        ::grpc::ClientContext ctx;
        return support_stub_->ListTickets(Context(&ctx), r, &breached).ok() && breached.tickets_size() == 1;
      },
      absl::Seconds(20)));
  EXPECT_TRUE(breached.tickets(0).first_response_breached());
  EXPECT_LT(breached.tickets(0).seconds_to_target(), 0) << "time over the target";
  ASSERT_TRUE(TicketCommand("respond", "cs-t1-respond", id, ticket, "looking into it", manager).ok());
  ASSERT_TRUE(TicketCommand("resolve", "cs-t1-resolve", id, ticket, "re-synced the address book").ok());
  auto again = TicketCommand("resolve", "cs-t1-resolve-2", id, ticket, "again");
  EXPECT_EQ(again.error_code(), ::grpc::StatusCode::FAILED_PRECONDITION) << again.error_message();

  // A repeat order (back-dated), a renewal: a regular client by the renewal rule.
  api::v1::RecordOrderRequest order;
  order.set_idempotency_key("cs-order-1");
  order.set_client_id(id);
  order.set_currency("EUR");
  *order.mutable_occurred_at() = events::ToProto(absl::Now() - absl::Hours(24 * 10));
  auto* line = order.add_lines();
  line->set_product_code("crm-pro");
  line->set_quantity(5);
  line->mutable_unit_price()->set_units(4990);
  line->mutable_unit_price()->set_currency("EUR");
  api::v1::ClientCommandResponse out;
  {
    ::grpc::ClientContext ctx;
    auto s = support_stub_->RecordOrder(Context(&ctx), order, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  api::v1::RecordRenewalRequest renewal;
  renewal.set_idempotency_key("cs-renewal-1");
  renewal.set_client_id(id);
  *renewal.mutable_period_start() = events::ToProto(absl::Now());
  *renewal.mutable_period_end() = events::ToProto(absl::Now() + absl::Hours(24 * 365));
  renewal.mutable_value()->set_units(120000);
  renewal.mutable_value()->set_currency("EUR");
  {
    ::grpc::ClientContext ctx;
    auto s = support_stub_->RecordRenewal(Context(&ctx), renewal, &out);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  client = GetClient(id);
  EXPECT_EQ(client.orders(), 1);
  EXPECT_EQ(client.renewals_12m(), 1);
  EXPECT_TRUE(client.regular());
  EXPECT_EQ(client.open_tickets(), 0);
  EXPECT_EQ(client.sla_breaches_90d(), 1);
  ASSERT_EQ(client.revenue_to_date_size(), 1);
  EXPECT_EQ(client.revenue_to_date(0).units(), 49900 + 24950 + 120000);
  {
    // The order carries the catalogue's unit cost (first offers' product, read from sales.offers).
    auto events = testing::ReadTopic(clients_topic_);
    ASSERT_TRUE(events.ok());
    int orders = 0;
    for (const auto& m : *events) {
      auto e = events::Decode(m.value);
      ASSERT_TRUE(e.ok());
      if (!e->client().has_order_recorded()) continue;
      ++orders;
      ASSERT_EQ(e->client().order_recorded().costs_size(), 1);
      EXPECT_EQ(e->client().order_recorded().costs(0).product_code(), "crm-pro");
      EXPECT_EQ(e->client().order_recorded().costs(0).unit_cost().units(), 1200);
    }
    EXPECT_EQ(orders, 1);
  }
  EXPECT_GE(client.days_since_contact(), 0) << "the PBX call is the last contact";

  // Churned: no new ticket; reactivated: tickets again.
  api::v1::ChurnClientRequest churn;
  churn.set_idempotency_key("cs-churn");
  churn.set_client_id(id);
  churn.set_reason(events::v1::CHURN_REASON_COMPETITOR);
  {
    ::grpc::ClientContext ctx;
    ASSERT_TRUE(support_stub_->ChurnClient(Context(&ctx), churn, &out).ok());
  }
  open.set_idempotency_key("cs-ticket-2");
  {
    ::grpc::ClientContext ctx;
    auto s = support_stub_->OpenTicket(Context(&ctx), open, &out);
    EXPECT_EQ(s.error_code(), ::grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  }
  api::v1::ReactivateClientRequest reactivate;
  reactivate.set_idempotency_key("cs-reactivate");
  reactivate.set_client_id(id);
  {
    ::grpc::ClientContext ctx;
    ASSERT_TRUE(support_stub_->ReactivateClient(Context(&ctx), reactivate, &out).ok());
  }
  {
    ::grpc::ClientContext ctx;
    auto s = support_stub_->OpenTicket(Context(&ctx), open, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }

  // The timeline is in business order: the order back-dated ten days (and the PBX call of the
  // 20th) come before the opening of the client they were recorded on.
  timeline = Timeline(id);
  ASSERT_GE(timeline.size(), 8u);
  size_t order_at = 0, opened_at = 0;
  for (size_t i = 0; i < timeline.size(); ++i) {
    if (i > 0) {
      EXPECT_LE(events::FromProto(timeline[i - 1].occurred_at()), events::FromProto(timeline[i].occurred_at()));
    }
    if (timeline[i].event_type() == "client.order_recorded") order_at = i;
    if (timeline[i].event_type() == "client.opened") opened_at = i;
  }
  EXPECT_LT(order_at, opened_at);
  EXPECT_EQ(GetClient(id).status(), api::v1::CLIENT_STATUS_ACTIVE);
  ExpectSupportRebuildGivesIdenticalRows();
}

// The roster from lead acquisition's manager events: a PBX call goes to the manager who held the
// extension when the call started (recorded on the event), unmatched calls too; the command feeds
// report themselves in the Admin status beside the projection.
TEST_F(ClientSupportIT, PbxCallsGoToTheExtensionsManagerAndTheFeedsReportInAdmin) {
  RegisterManager("roster-owner");
  ASSERT_TRUE(UpsertProduct("crm-pro", 4990, 1200).ok());
  const absl::Time now = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  // m-anna holds 201 from 3 h ago, moves to 305 1 h ago; m-petros takes 201 then.
  ManagerRegistered("m-anna", now - absl::Hours(3), "201");
  ManagerExtensionChanged("m-anna", 2, now - absl::Hours(1), "305");
  ManagerRegistered("m-petros", now - absl::Hours(1), "201");
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        const auto status = SupportStatus();
        const auto* p = Consumer(status, "clients");
        if (!p) return false;
        bool leads_applied = false;
        for (const auto& part : p->partitions()) {
          if (part.topic() != prefix_ + "sales.leads") continue;
          if (part.lag() != 0) return false;  // -1: end not known yet
          leads_applied = leads_applied || part.next_offset() > 0;
        }
        return leads_applied && p->events_applied() >= 3;
      },
      absl::Seconds(30)));
  api::v1::Client client = WonClient("roster-lead");
  const std::string national = client.phone().substr(3);

  testing::RawProducer producer;
  ASSERT_TRUE(producer.Send(calls_topic_, "r1", CallJson("pbx-r1", national, now - absl::Hours(2), "201")).ok());
  ASSERT_TRUE(producer.Send(calls_topic_, "r2", CallJson("pbx-r2", national, now - absl::Minutes(30), "201")).ok());
  ASSERT_TRUE(
      producer.Send(calls_topic_, "r3", CallJson("pbx-r3", "+44 20 7946 0000", now - absl::Minutes(30), "305")).ok());
  ASSERT_TRUE(producer.Send(calls_topic_, "r4", CallJson("pbx-r4", national, now - absl::Minutes(20), "777")).ok());
  ASSERT_TRUE(producer.Send(calls_topic_, "r1", CallJson("pbx-r1", national, now - absl::Hours(2), "201")).ok());
  ASSERT_TRUE(producer.Send(calls_topic_, "r5", R"({"schema_version":1,"call_id":"pbx-r5"})").ok());

  // Admin: the projection (reading its own topic, the roster's and the catalogue's) and both
  // feeds, with their counts once the records are through.
  api::v1::GetProjectionStatusResponse status;
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        status = SupportStatus();
        const auto* pbx = Consumer(status, "pbx-intake");
        return pbx && pbx->caught_up() && pbx->events_applied() == 4 && pbx->dead_lettered() == 1;
      },
      absl::Seconds(30)))
      << status.DebugString();
  ASSERT_EQ(status.projections_size(), 3) << status.DebugString();
  const auto& clients = status.projections(0);
  EXPECT_EQ(clients.name(), "clients");
  EXPECT_EQ(clients.kind(), "projection");
  EXPECT_EQ(clients.partitions_size(), 9) << "sales.clients, sales.leads and sales.offers, 3 partitions each";
  EXPECT_GT(clients.not_used(), 0) << "lead and offer events are stepped over";
  EXPECT_EQ(clients.dead_lettered(), 0) << "never dead-lettered";
  const auto* pbx = Consumer(status, "pbx-intake");
  const auto* conversions = Consumer(status, "conversions");
  ASSERT_TRUE(pbx && conversions) << status.DebugString();
  EXPECT_EQ(pbx->kind(), "feed");
  EXPECT_EQ(pbx->partitions_size(), 3);
  for (const auto& part : pbx->partitions()) {
    EXPECT_EQ(part.topic(), calls_topic_);
    EXPECT_EQ(part.lag(), 0);
    EXPECT_GE(part.end_offset(), 0);
  }
  EXPECT_EQ(pbx->events_applied(), 4);
  EXPECT_EQ(pbx->duplicates_skipped(), 1) << "the record sent twice";
  EXPECT_EQ(pbx->dead_lettered(), 1);
  EXPECT_THAT(pbx->dead_letter_topics(), ::testing::ElementsAre(calls_topic_ + ".dlq"));
  EXPECT_EQ(conversions->kind(), "feed");
  EXPECT_EQ(conversions->events_applied(), 1) << "one client opened";
  EXPECT_GE(conversions->not_used(), 2) << "the offer's drafted and sent events";
  EXPECT_EQ(conversions->dead_lettered(), 0);
  EXPECT_THAT(conversions->dead_letter_topics(), ::testing::ElementsAre(clients_topic_ + ".dlq"));

  // The calls as decided: the holder of the extension when each call started.
  std::map<std::string, std::string> manager_of;
  for (const auto& e : Timeline(client.client_id())) {
    const auto& call = e.event().interaction_logged().call();
    if (!call.call_id().empty()) {
      manager_of[call.call_id()] = call.manager_id();
      EXPECT_EQ(e.event().interaction_logged().manager_id(), call.manager_id());
    }
  }
  EXPECT_THAT(manager_of, ::testing::ElementsAre(::testing::Pair("pbx-r1", "m-anna"), ::testing::Pair("pbx-r2", "m-petros"),
                                                 ::testing::Pair("pbx-r4", "")));
  api::v1::ListUnmatchedCallsRequest r;
  r.set_manager_id("m-anna");
  api::v1::ListUnmatchedCallsResponse unmatched;
  {
    ::grpc::ClientContext ctx;
    ASSERT_TRUE(support_stub_->ListUnmatchedCalls(Context(&ctx), r, &unmatched).ok());
  }
  ASSERT_EQ(unmatched.calls_size(), 1);
  EXPECT_EQ(unmatched.calls(0).call_id(), "pbx-r3");
  EXPECT_EQ(unmatched.calls(0).extension(), "305");
  ExpectSupportRebuildGivesIdenticalRows();
}

// Commands in flight when client support is killed: every acknowledged one survives, and retrying
// every key afterwards leaves exactly one event per key.
TEST_F(ClientSupportIT, KillNineDuringCommandsLosesAndDuplicatesNothing) {
  RegisterManager("cs-kill-mgr");
  ASSERT_TRUE(UpsertProduct("crm-pro", 4990, 1200).ok());
  const std::string id = WonClient("cs-kill-lead").client_id();
  constexpr int kKeys = 300;
  auto log = [&](int i, absl::Duration deadline) {
    api::v1::LogInteractionRequest r;
    r.set_idempotency_key("cs-kill-" + std::to_string(i));
    r.set_client_id(id);
    r.set_kind(events::v1::INTERACTION_KIND_CALL);
    r.set_outcome(events::v1::INTERACTION_OUTCOME_REACHED);
    r.set_manager_id("cs-kill-mgr");
    r.set_duration_seconds(60 + i);
    api::v1::ClientCommandResponse out;
    ::grpc::ClientContext ctx;
    return support_stub_->LogInteraction(Context(&ctx, deadline), r, &out);
  };
  std::atomic<int> next{0}, acked{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 6; ++t) {
    callers.emplace_back([&] {
      for (int i; (i = next++) < kKeys;) {
        if (log(i, absl::Seconds(5)).ok()) ++acked;
      }
    });
  }
  testing::WaitUntil([&] { return next >= kKeys / 3; }, absl::Seconds(60));
  support_->Kill();
  for (auto& t : callers) t.join();
  ASSERT_LT(acked.load(), kKeys) << "nothing was in flight at the kill";
  const int acknowledged_before = acked.load();
  StartSupport();
  EXPECT_GE(static_cast<int>(Timeline(id).size()) - 1, acknowledged_before) << "an acknowledged interaction was lost";
  for (int i = 0; i < kKeys; ++i) {
    auto s = log(i, absl::Seconds(20));
    ASSERT_TRUE(s.ok()) << i << ": " << s.error_message();
  }
  auto all = testing::ReadTopic(clients_topic_);
  ASSERT_TRUE(all.ok());
  std::map<std::string, int> per_key;
  for (const auto& m : *all) {
    auto e = events::Decode(m.value);
    ASSERT_TRUE(e.ok());
    per_key[e->idempotency_key()]++;
  }
  for (int i = 0; i < kKeys; ++i) EXPECT_EQ(per_key["cs-kill-" + std::to_string(i)], 1) << i;
  EXPECT_EQ(static_cast<int>(Timeline(id).size()), kKeys + 1);
  ExpectSupportRebuildGivesIdenticalRows();
}

}  // namespace
}  // namespace sales::client_support
