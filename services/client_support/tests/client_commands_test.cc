// Client support's command path and projection without Kafka: a FakePublisher as the log of
// sales.clients, a real store in a temp folder, the ClientsProjection behind an Applier, a
// FakeClock. Lead acquisition's manager events (sales.leads) and first offers' product events
// (sales.offers) are fed through the projection as the runner would. Covers the roster of PBX
// extensions (intervals, interleaving, resolution of a call's manager, a roster that lags behind
// the call) and the unit costs a repeat order records from the catalogue.
#include "services/client_support/commands/client_commands.h"

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "common/events/envelope.h"
#include "common/testing/fake_clock.h"
#include "common/testing/fake_publisher.h"
#include "common/testing/status_matchers.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/client_support/api/client_queries.h"
#include "services/client_support/projection/clients_projection.h"

namespace sales::client_support {
namespace {

using projection::Outcome;
using projection::Record;
using testing::IsOk;
using testing::IsOkAndHolds;
using testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Code = absl::StatusCode;

constexpr char kClientsTopic[] = "t.sales.clients";
constexpr char kLeadsTopic[] = "t.sales.leads";
constexpr char kOffersTopic[] = "t.sales.offers";

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01, the fake clock's start

absl::Time At(int hours) { return kT0 + absl::Hours(hours); }

events::v1::Money Eur(int64_t units, const std::string& currency = "EUR") {
  events::v1::Money m;
  m.set_units(units);
  m.set_currency(currency);
  return m;
}

std::vector<std::pair<std::string, std::string>> Rows(const Store& store, const std::string& family) {
  std::vector<std::pair<std::string, std::string>> rows;
  EXPECT_THAT(store.Scan(family, "", "",
                         [&](std::string_view k, std::string_view v) {
                           rows.emplace_back(std::string(k), std::string(v));
                           return true;
                         }),
              IsOk());
  return rows;
}

// Lead acquisition's events of one manager, in its order (one partition of sales.leads).
class ManagerLog {
 public:
  explicit ManagerLog(std::string id) : id_(std::move(id)) {}
  const std::string& id() const { return id_; }
  const std::vector<EventEnvelope>& events() const { return events_; }

  ManagerLog& Registered(absl::Time at, const std::string& extension) {
    events::v1::ManagerEvent e;
    e.mutable_registered()->set_name("Μαρία " + id_);
    e.mutable_registered()->set_email(id_ + "@sales.example.gr");
    e.mutable_registered()->add_regions("*");
    e.mutable_registered()->set_extension(extension);
    return Add(at, "manager.registered", e);
  }
  ManagerLog& ExtensionChanged(absl::Time at, const std::string& extension) {
    events::v1::ManagerEvent e;
    e.mutable_extension_changed()->set_extension(extension);
    return Add(at, "manager.extension_changed", e);
  }
  ManagerLog& Deactivated(absl::Time at) {
    events::v1::ManagerEvent e;
    e.mutable_deactivated()->set_reason("left the company");
    return Add(at, "manager.deactivated", e);
  }
  // A manager event type newer than this build (the oneof case unknown: nothing set).
  ManagerLog& Newer(absl::Time at) { return Add(at, "manager.renamed", events::v1::ManagerEvent()); }

 private:
  ManagerLog& Add(absl::Time at, std::string_view type, const events::v1::ManagerEvent& payload) {
    testing::FakeClock clock(at);
    EventEnvelope e = events::NewEnvelope(kManagerAggregate, id_, static_cast<int64_t>(events_.size()) + 1, type, 1,
                                          {"roster", "", "admin", "", "lead-acquisition"}, clock);
    *e.mutable_manager() = payload;
    events_.push_back(std::move(e));
    return *this;
  }

  std::string id_;
  std::vector<EventEnvelope> events_;
};

class ClientCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Store::Open({.path = dir_.path(), .column_families = projection_.column_families()}).value();
    applier_ = std::make_unique<projection::Applier>(store_.get(), &projection_);
    commands_ = std::make_unique<ClientCommands>(command::DeciderOptions{.topic = kClientsTopic}, DefaultSla(),
                                                 &publisher_, applier_.get(), &clock_, nullptr);
    ASSERT_THAT(commands_->Start(), IsOk());
    queries_ = std::make_unique<ClientQueries>(store_.get(), &clock_, HealthRules());
  }
  void TearDown() override { commands_.reset(); }

  // ---- other services' topics, as the projection runner applies them ----

  Outcome Feed(const std::string& topic, const EventEnvelope& e) {
    auto& log = foreign_[topic];
    Record r{topic, 0, static_cast<int64_t>(log.size()), e.aggregate_id(), events::Encode(e), {}};
    log.push_back(r);
    std::lock_guard lock(applier_->mutex());
    Batch batch = store_->NewBatch();
    StatusOr<Outcome> outcome = projection_.Apply(r, batch);
    EXPECT_THAT(outcome, IsOk()) << topic << "@" << r.offset;
    batch.SetOffset(projection_.name(), r.topic, r.partition, r.offset + 1);
    EXPECT_THAT(applier_->Commit(batch), IsOk());
    return outcome.value_or(Outcome::kSkipped);
  }
  void FeedAll(const ManagerLog& m) {
    for (const auto& e : m.events()) EXPECT_EQ(Feed(kLeadsTopic, e), Outcome::kApplied) << e.event_type();
  }
  void UpsertProduct(const std::string& code, int64_t version, int64_t cost, const std::string& currency = "EUR") {
    EventEnvelope e = events::NewEnvelope(kProductAggregate, code, version, "product.upserted", 1,
                                          {"catalogue", "", "admin", "", "first-offers"}, clock_);
    auto* p = e.mutable_product()->mutable_upserted();
    p->set_name(code);
    *p->mutable_list_price() = Eur(cost * 3, currency);
    *p->mutable_unit_cost() = Eur(cost, currency);
    p->set_active(true);
    EXPECT_EQ(Feed(kOffersTopic, e), Outcome::kApplied);
  }

  // ---- commands ----

  // A client opened by first offers' conversion; its id.
  std::string OpenClientFor(const std::string& lead, const std::string& phone) {
    EventEnvelope e = events::NewEnvelope(kOfferAggregate, "offer-" + lead, 3, "offer.accepted", 1, {}, clock_);
    auto* a = e.mutable_offer()->mutable_accepted();
    a->set_revision(1);
    *a->mutable_value() = Eur(500000);
    a->set_converts_lead(true);
    auto* c = a->mutable_conversion();
    c->set_lead_id(lead);
    c->mutable_contact()->set_name("Νίκος Αλεξίου");
    c->mutable_contact()->set_company("Αλεξίου Ξυλεία");
    c->mutable_contact()->set_phone(phone);
    c->set_owner_manager_id("m-owner");
    c->set_region("GR-MAC");
    c->add_product_codes("crm-pro");
    *c->mutable_value() = Eur(500000);
    auto r = commands_->Execute(OpenClient{e}, caller_);
    EXPECT_THAT(r, IsOk());
    return r.ok() ? r->client_id : "";
  }

  // A PBX record of an inbound call from `from` on `extension`, started at `started_at`.
  StatusOr<CommandResult> Call(const std::string& call_id, const std::string& from, const std::string& extension,
                               absl::Time started_at) {
    const std::string json = StrCat(R"({"schema_version":1,"call_id":")", call_id, R"(","from":")", from,
                                    R"(","to":"2310 999000","direction":"inbound","started_at":")",
                                    absl::FormatTime(absl::RFC3339_full, started_at, absl::UTCTimeZone()),
                                    R"(","duration_seconds":60,"answered":true,"extension":")", extension, R"("})");
    StatusOr<PbxCall> call = ParseInboundCall(json);
    if (!call.ok()) return call.status();
    return commands_->Execute(RecordCall{*call}, {"", "pbx-intake"});
  }

  // The PBX call of the last event appended for `call_id` (matched or not).
  PbxCall RecordedCall(const std::string& call_id) {
    PbxCall found;
    for (const auto& m : publisher_.published()) {
      auto e = events::Decode(m.value);
      EXPECT_THAT(e, IsOk());
      if (!e.ok()) continue;
      if (e->has_client() && e->client().interaction_logged().call().call_id() == call_id) {
        found = e->client().interaction_logged().call();
      }
      if (e->has_call() && e->call().unmatched().call().call_id() == call_id) found = e->call().unmatched().call();
    }
    return found;
  }

  api::v1::RecordOrderRequest Order(const std::string& key, const std::string& client_id,
                                    std::vector<std::string> products) {
    api::v1::RecordOrderRequest r;
    r.set_idempotency_key(key);
    r.set_client_id(client_id);
    r.set_currency("EUR");
    for (const auto& p : products) {
      auto* l = r.add_lines();
      l->set_product_code(p);
      l->set_quantity(2);
      *l->mutable_unit_price() = Eur(4990);
    }
    return r;
  }
  events::v1::OrderRecorded LastOrder() {
    events::v1::OrderRecorded order;
    for (const auto& m : publisher_.published()) {
      auto e = events::Decode(m.value);
      if (e.ok() && e->has_client() && e->client().has_order_recorded()) order = e->client().order_recorded();
    }
    return order;
  }

  // sales.clients as the command path appended it, as records.
  std::vector<Record> ClientRecords() {
    std::vector<Record> out;
    for (const auto& m : publisher_.published()) {
      out.push_back({kClientsTopic, 0, static_cast<int64_t>(out.size()), m.key, m.value, m.headers});
    }
    return out;
  }

  // A fresh store built by the projection alone from `records` in this order.
  std::unique_ptr<Store> Rebuild(const std::vector<Record>& records, testing::TempDir& dir) {
    auto store = Store::Open({.path = dir.path(), .column_families = projection_.column_families()}).value();
    ClientsProjection projection;
    for (const Record& r : records) {
      Batch batch = store->NewBatch();
      EXPECT_THAT(projection.Apply(r, batch), IsOk()) << r.topic << "@" << r.offset;
      EXPECT_THAT(store->Commit(batch), IsOk());
    }
    return store;
  }
  static Record AsRecord(const EventEnvelope& e, int64_t offset) {
    return {kLeadsTopic, 0, offset, e.aggregate_id(), events::Encode(e), {}};
  }

  testing::TempDir dir_;
  testing::FakeClock clock_{kT0 + absl::Hours(24 * 30)};  // "now": a month after the roster's history starts
  testing::FakePublisher publisher_;
  ClientsProjection projection_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<projection::Applier> applier_;
  std::unique_ptr<ClientCommands> commands_;
  std::unique_ptr<ClientQueries> queries_;
  std::map<std::string, std::vector<Record>> foreign_;
  Caller caller_{"corr", "test"};
};

// ---- the roster ----

TEST_F(ClientCommandsTest, EachExtensionKeepsTheIntervalsItsManagersHeldIt) {
  ManagerLog a("m-a"), b("m-b");
  a.Registered(At(0), "201").ExtensionChanged(At(10), "305");
  b.Registered(At(20), "201").Deactivated(At(30));
  FeedAll(a);
  FeedAll(b);

  auto rows = Rows(*store_, kRosterFamily);
  std::vector<std::string> keys;
  for (const auto& [k, v] : rows) keys.push_back(k);
  EXPECT_THAT(keys, ElementsAre(ExtensionHoldingKey("201", At(0), "m-a"), ExtensionHoldingKey("201", At(20), "m-b"),
                                ExtensionHoldingKey("305", At(10), "m-a"), RosterManagerKey("m-a"),
                                RosterManagerKey("m-b")));
  EXPECT_EQ(ExtensionHoldingKey("201", At(0), "m-a"), "ext/201/" + EncodeInt64(absl::ToUnixNanos(At(0))) + "/m-a")
      << "the documented key: from as unix nanos, 8 bytes big-endian";
  auto holding = [&](size_t i) {
    ExtensionHolding h;
    EXPECT_TRUE(h.ParseFromString(rows[i].second));
    return h;
  };
  EXPECT_EQ(holding(0).manager_id(), "m-a");
  EXPECT_EQ(events::FromProto(holding(0).from()), At(0));
  EXPECT_EQ(events::FromProto(holding(0).until()), At(10)) << "closed when it changed away";
  EXPECT_EQ(events::FromProto(holding(1).until()), At(30)) << "closed when the manager was deactivated";
  EXPECT_FALSE(holding(2).has_until()) << "still held";
  RosterManager ma, mb;
  ASSERT_TRUE(ma.ParseFromString(rows[3].second));
  ASSERT_TRUE(mb.ParseFromString(rows[4].second));
  EXPECT_TRUE(ma.active());
  EXPECT_EQ(ma.extension(), "305");
  EXPECT_EQ(events::FromProto(ma.extension_since()), At(10));
  EXPECT_EQ(ma.version(), 2);
  EXPECT_FALSE(mb.active());

  // A manager event read again is a duplicate; a newer event type moves only the version; lead
  // events on the same topic and offer events are not used (never dead-lettered).
  EXPECT_EQ(Feed(kLeadsTopic, a.events()[0]), Outcome::kDuplicate);
  a.Newer(At(40));
  EXPECT_EQ(Feed(kLeadsTopic, a.events().back()), Outcome::kApplied);
  EXPECT_EQ(Rows(*store_, kRosterFamily).size(), rows.size());
  testing::FakeClock clock(At(41));
  EventEnvelope lead = events::NewEnvelope("lead", "lead-1", 1, "lead.captured", 1, {}, clock);
  lead.mutable_lead()->mutable_captured()->mutable_contact()->set_name("Νίκος");
  EXPECT_EQ(Feed(kLeadsTopic, lead), Outcome::kSkipped);
  EventEnvelope offer = events::NewEnvelope(kOfferAggregate, "offer-1", 1, "offer.sent", 1, {}, clock);
  offer.mutable_offer()->mutable_sent()->set_revision(1);
  EXPECT_EQ(Feed(kOffersTopic, offer), Outcome::kSkipped);
}

TEST_F(ClientCommandsTest, TheRosterIsTheSameWhateverTheInterleavingOfManagers) {
  ManagerLog a("m-a"), b("m-b"), c("m-c");
  a.Registered(At(0), "201").ExtensionChanged(At(10), "305").ExtensionChanged(At(50), "201").Deactivated(At(60));
  b.Registered(At(20), "201").ExtensionChanged(At(50), "410");
  c.Registered(At(5), "").ExtensionChanged(At(55), "305");
  const std::vector<const ManagerLog*> logs = {&a, &b, &c};

  // Each manager's events stay in order (one partition); the managers interleave differently.
  std::vector<std::vector<Record>> orders(3);
  int64_t offset = 0;
  for (const auto* m : logs) {
    for (const auto& e : m->events()) orders[0].push_back(AsRecord(e, offset++));
  }
  for (auto it = logs.rbegin(); it != logs.rend(); ++it) {
    for (const auto& e : (*it)->events()) orders[1].push_back(AsRecord(e, offset++));
  }
  for (size_t i = 0; i < 4; ++i) {
    for (const auto* m : logs) {
      if (i < m->events().size()) orders[2].push_back(AsRecord(m->events()[i], offset++));
    }
  }
  std::vector<std::unique_ptr<testing::TempDir>> dirs;
  std::vector<std::unique_ptr<Store>> stores;
  for (const auto& order : orders) {
    dirs.push_back(std::make_unique<testing::TempDir>());
    stores.push_back(Rebuild(order, *dirs.back()));
  }
  const auto expected = Rows(*stores[0], kRosterFamily);
  EXPECT_EQ(expected.size(), 9u) << "6 intervals and 3 managers";
  for (size_t i = 1; i < stores.size(); ++i) {
    EXPECT_EQ(Rows(*stores[i], kRosterFamily), expected) << "interleaving " << i;
  }
  // And the resolution it gives.
  EXPECT_THAT(ExtensionHolderAt(*stores[2], "201", At(55)), IsOkAndHolds("m-a"));
  EXPECT_THAT(ExtensionHolderAt(*stores[2], "305", At(55)), IsOkAndHolds("m-c"));
  EXPECT_THAT(ExtensionHolderAt(*stores[2], "201", At(60)), IsOkAndHolds(""));
}

TEST_F(ClientCommandsTest, ACallGoesToTheManagerWhoHeldTheExtensionWhenItStarted) {
  ManagerLog a("m-a"), b("m-b");
  a.Registered(At(0), "201").ExtensionChanged(At(10), "305");
  b.Registered(At(20), "201").Deactivated(At(30));
  FeedAll(a);
  FeedAll(b);
  const std::string client = OpenClientFor("lead-1", "+30 2310 555 123");

  struct Case {
    const char* call;
    const char* extension;
    absl::Time at;
    const char* manager;
  } cases[] = {
      {"c-before", "201", At(0) - absl::Seconds(1), ""},  // before anyone held it
      {"c-a", "201", At(0), "m-a"},                       // from is included
      {"c-a-late", "201", At(10) - absl::Nanoseconds(1), "m-a"},
      {"c-gap", "201", At(10), ""},                       // until is excluded: nobody between 10 and 20
      {"c-a-305", "305", At(10), "m-a"},
      {"c-b", "201", At(25), "m-b"},
      {"c-after", "201", At(30), ""},                     // deactivated
      {"c-unknown", "999", At(25), ""},
      {"c-none", "", At(25), ""},
  };
  for (const auto& c : cases) {
    auto r = Call(c.call, "2310 555123", c.extension, c.at);
    ASSERT_THAT(r, IsOk()) << c.call;
    EXPECT_TRUE(r->matched) << c.call;
    const PbxCall recorded = RecordedCall(c.call);
    EXPECT_EQ(recorded.manager_id(), c.manager) << c.call;
    EXPECT_EQ(recorded.extension(), c.extension) << c.call << ": the extension is kept, known or not";
  }
  // The interaction itself names the manager too (who made the contact).
  auto timeline = queries_->GetClientTimeline([&] {
    api::v1::GetClientTimelineRequest r;
    r.set_client_id(client);
    return r;
  }());
  ASSERT_THAT(timeline, IsOk());
  int of_b = 0;
  for (const auto& e : timeline->entries()) of_b += e.event().interaction_logged().manager_id() == "m-b" ? 1 : 0;
  EXPECT_EQ(of_b, 1);
}

TEST_F(ClientCommandsTest, UnmatchedCallsCountForTheManagerToo) {
  ManagerLog a("m-a"), b("m-b");
  a.Registered(At(0), "201");
  b.Registered(At(0), "202");
  FeedAll(a);
  FeedAll(b);
  ASSERT_THAT(Call("u-1", "+44 20 7946 0001", "201", At(1)), IsOk());
  ASSERT_THAT(Call("u-2", "+44 20 7946 0002", "202", At(2)), IsOk());
  auto r3 = Call("u-3", "+44 20 7946 0003", "201", At(3));
  ASSERT_THAT(r3, IsOk());
  EXPECT_FALSE(r3->matched);
  auto list = [&](const std::string& manager) {
    api::v1::ListUnmatchedCallsRequest r;
    r.set_manager_id(manager);
    std::vector<std::string> ids;
    auto page = queries_->ListUnmatchedCalls(r);
    EXPECT_THAT(page, IsOk());
    if (page.ok()) {
      for (const auto& c : page->calls()) ids.push_back(c.call_id() + "@" + c.manager_id());
    }
    return ids;
  };
  EXPECT_THAT(list("m-a"), ElementsAre("u-1@m-a", "u-3@m-a"));
  EXPECT_THAT(list("m-b"), ElementsAre("u-2@m-b"));
  EXPECT_THAT(list(""), ElementsAre("u-1@m-a", "u-2@m-b", "u-3@m-a"));
}

TEST_F(ClientCommandsTest, ACallKeepsTheManagerKnownWhenItWasDecidedEvenIfTheRosterLearnsLater) {
  ManagerLog a("m-a"), b("m-b");
  a.Registered(At(0), "201");
  FeedAll(a);
  OpenClientFor("lead-1", "+30 2310 555 123");
  // The call started at 45; the roster does not know yet that at 40 manager a moved to 305 and b
  // took 201 (lead acquisition's events arrive later than the PBX record).
  ASSERT_THAT(Call("c-1", "2310 555123", "201", At(45)), IsOk());
  EXPECT_EQ(RecordedCall("c-1").manager_id(), "m-a");
  a.ExtensionChanged(At(40), "305");
  b.Registered(At(40), "201");
  EXPECT_EQ(Feed(kLeadsTopic, a.events().back()), Outcome::kApplied);
  FeedAll(b);
  EXPECT_THAT(ExtensionHolderAt(*store_, "201", At(45)), IsOkAndHolds("m-b")) << "what the roster says now";

  // The PBX record read again (a replay of telephony.calls.inbound) answers the first decision.
  const size_t appended = publisher_.published().size();
  auto again = Call("c-1", "2310 555123", "201", At(45));
  ASSERT_THAT(again, IsOk());
  EXPECT_TRUE(again->replayed);
  EXPECT_EQ(publisher_.published().size(), appended);

  // A rebuild from the topics, the roster's events before the call's or after, keeps the decision.
  std::vector<Record> roster;
  for (const auto& r : foreign_[kLeadsTopic]) roster.push_back(r);
  std::vector<Record> roster_first = roster, calls_first = ClientRecords();
  for (const auto& r : ClientRecords()) roster_first.push_back(r);
  for (const auto& r : roster) calls_first.push_back(r);
  for (const auto* order : {&roster_first, &calls_first}) {
    testing::TempDir dir;
    auto rebuilt = Rebuild(*order, dir);
    for (const char* family : {kClientsFamily, kClientEventsFamily, kRosterFamily}) {
      EXPECT_EQ(Rows(*rebuilt, family), Rows(*store_, family)) << family;
    }
  }
}

TEST_F(ClientCommandsTest, SeveralHoldersAtOnceOnlyFromBadDataArePickedDeterministically) {
  ManagerLog a("m-a"), b("m-b"), c("m-c"), d("m-d");
  a.Registered(At(0), "201");   // never released
  b.Registered(At(10), "201");  // overlaps a: the latest from wins
  c.Registered(At(20), "300");
  d.Registered(At(20), "300");  // the same from: the greatest manager id
  FeedAll(a);
  FeedAll(b);
  FeedAll(d);
  FeedAll(c);
  EXPECT_THAT(ExtensionHolderAt(*store_, "201", At(5)), IsOkAndHolds("m-a"));
  EXPECT_THAT(ExtensionHolderAt(*store_, "201", At(15)), IsOkAndHolds("m-b"));
  EXPECT_THAT(ExtensionHolderAt(*store_, "300", At(25)), IsOkAndHolds("m-d"));
  // An extension that only starts like another one is not that one.
  ManagerLog e("m-e");
  e.Registered(At(0), "201/7");
  FeedAll(e);
  EXPECT_THAT(ExtensionHolderAt(*store_, "201", At(5)), IsOkAndHolds("m-a"));
  EXPECT_THAT(ExtensionHolderAt(*store_, "201/7", At(5)), IsOkAndHolds("m-e"));
}

// ---- the catalogue and repeat orders ----

TEST_F(ClientCommandsTest, AnOrderRecordsTheCatalogueCostsItWasDecidedWith) {
  const std::string client = OpenClientFor("lead-1", "+30 2310 555 123");
  UpsertProduct("crm-pro", 1, 1200);
  UpsertProduct("onboarding", 1, 30000);
  UpsertProduct("seat-us", 1, 700, "USD");
  ASSERT_THAT(commands_->Execute(Order("o-1", client, {"crm-pro", "onboarding", "crm-pro"}), caller_), IsOk());
  auto first = LastOrder();
  ASSERT_EQ(first.costs_size(), 2);
  EXPECT_EQ(first.costs(0).product_code(), "crm-pro");
  EXPECT_EQ(first.costs(0).unit_cost().units(), 1200);
  EXPECT_EQ(first.costs(1).product_code(), "onboarding");

  // The catalogue moves on: a new order takes the new cost, the recorded one keeps its own.
  UpsertProduct("crm-pro", 2, 1500);
  EXPECT_EQ(Feed(kOffersTopic, [&] {
              EventEnvelope e = events::NewEnvelope(kProductAggregate, "crm-pro", 1, "product.upserted", 1, {}, clock_);
              *e.mutable_product()->mutable_upserted()->mutable_unit_cost() = Eur(1);
              return e;
            }()),
            Outcome::kDuplicate)
      << "an older version of a product read again changes nothing";
  ASSERT_THAT(commands_->Execute(Order("o-2", client, {"crm-pro"}), caller_), IsOk());
  EXPECT_EQ(LastOrder().costs(0).unit_cost().units(), 1500);
  // A retry of the first order answers the first answer (its costs were recorded then).
  auto retry = commands_->Execute(Order("o-1", client, {"crm-pro", "onboarding", "crm-pro"}), caller_);
  ASSERT_THAT(retry, IsOk());
  EXPECT_TRUE(retry->replayed);

  EXPECT_THAT(commands_->Execute(Order("o-3", client, {"crm-pro", "crm-pr0"}), caller_),
              StatusIs(Code::kFailedPrecondition, HasSubstr("lines[1].product_code: product crm-pr0 is not in the "
                                                            "catalogue")));
  EXPECT_THAT(commands_->Execute(Order("o-4", client, {"seat-us"}), caller_),
              StatusIs(Code::kFailedPrecondition, HasSubstr("has its unit cost in USD, the order is in EUR")));

  // Costs are internal: the timeline does not show them.
  api::v1::GetClientTimelineRequest t;
  t.set_client_id(client);
  auto timeline = queries_->GetClientTimeline(t);
  ASSERT_THAT(timeline, IsOk());
  for (const auto& e : timeline->entries()) EXPECT_EQ(e.event().order_recorded().costs_size(), 0);
}

}  // namespace
}  // namespace sales::client_support
