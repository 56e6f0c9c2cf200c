// Rebuild without downtime, on the real lead acquisition service and the real broker (the kit's
// Rebuilder, common/service/rebuild.h): commands and queries go on throughout a rebuild and its
// switch-over and none fails; a kill -9 in the middle of a rebuild (its writes pipelined)
// resumes it where it was; the store served after the switch has the same rows as a rebuild from
// scratch that writes each poll at once; and an as-of store
// answers as the live one did at its time.
#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "absl/strings/str_format.h"

#include "common/service/rebuild.h"
#include "common/testing/store_rows.h"
#include "gmock/gmock.h"
#include "services/lead_acquisition/projection/lead_projection.h"
#include "services/lead_acquisition/tests/lead_service_fixture.h"

namespace sales::lead_acquisition {
namespace {

using ::testing::HasSubstr;

class RebuildIT : public LeadAcquisitionIT {
 protected:
  // The id of the i-th seeded lead.
  static std::string SeedId(int i) { return absl::StrFormat("5eed0000-0000-4000-8000-%012d", i); }

  // Leads written straight to the topic (fast), applied by the service before the test goes on.
  // Each with its own e-mail: raw events skip the decider's de-duplication, and which of several
  // leads claims a shared e-mail in the index would depend on how partitions interleave.
  void Seed(int count) {
    testing::RawProducer producer;
    std::vector<kafka::OutgoingMessage> messages;
    for (int i = 0; i < count; ++i) {
      const std::string id = SeedId(i);
      EventEnvelope e = events::NewEnvelope(kLeadAggregate, id, 1, kLeadCaptured, kSchemaVersion,
                                            {"corr", "", "test", "", "test"}, SystemClock());
      auto* c = e.mutable_lead()->mutable_captured();
      c->mutable_contact()->set_name(StrCat("Lead ", i));
      c->mutable_contact()->set_email(StrCat("seed-", i, "@example.com"));
      c->set_source(events::v1::LEAD_SOURCE_MARKETING_SYSTEM);
      messages.push_back({topic_, id, events::Encode(e), {}});
    }
    ASSERT_TRUE(producer.SendAll(messages).ok());
    ASSERT_TRUE(testing::WaitUntil([&] { return Lag(Status()) == 0; }, absl::Seconds(120)));
  }

  api::v1::RebuildStatus Call(const std::string& what, ::grpc::Status* status = nullptr) {
    ::grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    api::v1::RebuildStatus out;
    ::grpc::Status s;
    if (what == "start") s = admin_->StartRebuild(&ctx, {}, &out);
    if (what == "status") s = admin_->GetRebuildStatus(&ctx, {}, &out);
    if (what == "switch") s = admin_->SwitchRebuild(&ctx, {}, &out);
    if (what == "abort") s = admin_->AbortRebuild(&ctx, {}, &out);
    if (what == "discard") s = admin_->DiscardPreviousStore(&ctx, {}, &out);
    if (status) {
      *status = s;
    } else {
      EXPECT_TRUE(s.ok()) << what << ": " << s.error_message();
    }
    return out;
  }

  bool WaitCaughtUp() {
    return testing::WaitUntil([&] { return Call("status").state() == api::v1::RebuildStatus::STATE_CAUGHT_UP; },
                              absl::Seconds(180));
  }

  // Stops the service and compares its serving store with a store rebuilt from scratch by a
  // second process over the same topics. That one writes each poll of the log at once, as it comes:
  // the service's rebuild wrote its polls in parts, each while the next was applied
  // (--projection-write-every, CommitPipeline), and must end with the same rows.
  void ExpectRowsEqualARebuildFromScratch(bool switched = true) {
    auto stopped = service_->Stop();
    ASSERT_TRUE(stopped.ok() && *stopped == 0) << "the service did not stop cleanly";
    testing::ServiceOptions o;
    o.binary = SALES_LEAD_ACQUISITION_BIN;
    o.args = {"--kafka-bootstrap=" + testing::TestBootstrap(), "--topic-prefix=" + prefix_, "--partitions=3",
              "--data-dir=" + dir_.File("scratch"), "--projection-write-every=1000000"};
    o.work_dir = dir_.File("scratch-work");
    std::filesystem::create_directories(o.work_dir);
    auto scratch = ServiceProcess::Start(o);
    ASSERT_TRUE(scratch.ok()) << scratch.status();
    ASSERT_TRUE((*scratch)->Stop().ok());
    LeadProjection projection;
    const std::string serving = service::ServingStorePath(dir_.File("store"));
    if (switched) {
      EXPECT_NE(serving, dir_.File("store")) << "the switch moved the service to the rebuilt store";
    }
    testing::ExpectSameRows(testing::StoreRows(dir_.File("scratch"), projection),
                            testing::StoreRows(serving, projection));
  }
};

TEST_F(RebuildIT, CommandsAndQueriesGoOnThroughARebuildAndItsSwitchAndNoneFails) {
  Seed(20000);
  std::atomic<bool> stop{false};
  std::atomic<int> commands{0}, queries{0};
  std::mutex mu;
  std::vector<std::string> failures, captured;
  auto fail = [&](const std::string& what) {
    std::lock_guard lock(mu);
    failures.push_back(what);
  };
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      api::v1::CaptureLeadResponse out;
      auto s = Capture(Request(StrCat("during-rebuild-", i)), &out);
      if (!s.ok()) {
        fail(StrCat("CaptureLead: ", s.error_message()));
        continue;
      }
      ++commands;
      std::lock_guard lock(mu);
      captured.push_back(out.lead_id());
    }
  });
  std::thread reader([&] {
    for (int i = 0; !stop; ++i) {
      api::v1::Lead lead;
      auto s = Get(SeedId(i % 20000), &lead);
      if (!s.ok()) fail(StrCat("GetLead: ", s.error_message()));
      std::string id;
      {
        std::lock_guard lock(mu);
        if (!captured.empty()) id = captured[static_cast<size_t>(i) % captured.size()];
      }
      if (!id.empty()) {
        s = Get(id, &lead);
        if (!s.ok()) fail(StrCat("GetLead of a captured lead: ", s.error_message()));
      }
      ++queries;
    }
  });

  absl::SleepFor(absl::Milliseconds(300));
  api::v1::RebuildStatus started = Call("start");
  EXPECT_NE(started.state(), api::v1::RebuildStatus::STATE_IDLE);
  EXPECT_EQ(started.generation(), 1);
  ::grpc::Status again;
  Call("start", &again);
  EXPECT_EQ(again.error_code(), ::grpc::StatusCode::FAILED_PRECONDITION) << "one rebuild at a time";
  ASSERT_TRUE(WaitCaughtUp());
  const int commands_before_switch = commands;
  api::v1::RebuildStatus switched = Call("switch");
  EXPECT_EQ(switched.state(), api::v1::RebuildStatus::STATE_IDLE);
  EXPECT_THAT(switched.serving_path(), HasSubstr(".gen-1"));
  EXPECT_EQ(switched.previous_path(), dir_.File("store"));
  // Traffic goes on against the new store.
  ASSERT_TRUE(testing::WaitUntil([&] { return commands > commands_before_switch + 20; }, absl::Seconds(30)));
  stop = true;
  writer.join();
  reader.join();
  EXPECT_THAT(failures, ::testing::IsEmpty());
  EXPECT_GT(commands, 20);
  EXPECT_GT(queries, 20);
  // Every lead a command created is there after the switch, and Admin status counts them.
  for (const auto& id : captured) {
    api::v1::Lead lead;
    ASSERT_TRUE(Get(id, &lead).ok()) << id;
  }
  EXPECT_EQ(AllLeads().size(), 20000u + captured.size());
  EXPECT_EQ(Status().dead_lettered(), 0);

  // The previous store is kept until discarded; then a new rebuild may start.
  EXPECT_TRUE(std::filesystem::exists(dir_.File("store")));
  ::grpc::Status refused;
  Call("start", &refused);
  EXPECT_EQ(refused.error_code(), ::grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refused.error_message(), HasSubstr("discard it first"));
  Call("discard");
  EXPECT_FALSE(std::filesystem::exists(dir_.File("store")));
  ExpectRowsEqualARebuildFromScratch();
}

TEST_F(RebuildIT, KillNineDuringARebuildResumesItWhereItWas) {
  Seed(100000);
  Call("start");
  int64_t before_kill = 0;
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        const auto s = Call("status");
        before_kill = s.events_done();
        return before_kill > 10000 || s.state() == api::v1::RebuildStatus::STATE_CAUGHT_UP;
      },
      absl::Seconds(120)));
  ASSERT_LT(before_kill, 100000) << "the rebuild finished before the kill: seed more events";
  service_->Kill();
  Start();
  // Resumed, not restarted: same generation, from at least where it was.
  const api::v1::RebuildStatus resumed = Call("status");
  EXPECT_NE(resumed.state(), api::v1::RebuildStatus::STATE_IDLE);
  EXPECT_EQ(resumed.generation(), 1);
  EXPECT_GE(resumed.resumed_at_events(), before_kill);
  ASSERT_TRUE(WaitCaughtUp());
  Call("switch");
  EXPECT_EQ(AllLeads().size(), 100000u);
  // Abort of nothing says so.
  ::grpc::Status none;
  Call("abort", &none);
  EXPECT_EQ(none.error_code(), ::grpc::StatusCode::FAILED_PRECONDITION);
  ExpectRowsEqualARebuildFromScratch();
  // A restart keeps serving the rebuilt store.
  Start();
  EXPECT_EQ(AllLeads().size(), 100000u);
}

TEST_F(RebuildIT, AbortDeletesTheNewStoreAndTheServiceGoesOn) {
  Seed(30000);
  const auto started = Call("start");
  Call("abort");
  EXPECT_FALSE(std::filesystem::exists(started.path()));
  EXPECT_EQ(Call("status").state(), api::v1::RebuildStatus::STATE_IDLE);
  api::v1::CaptureLeadResponse out;
  ASSERT_TRUE(Capture(Request("after-abort"), &out).ok());
  ::grpc::Status not_running;
  Call("switch", &not_running);
  EXPECT_EQ(not_running.error_code(), ::grpc::StatusCode::FAILED_PRECONDITION);
}

// salesctl against the real service: history and export of what commands wrote, a snapshot, and a
// new service started from it with --restore-from that catches up from the snapshot's offsets and
// ends with the same rows as a rebuild from scratch.
TEST_F(RebuildIT, SalesctlHistoryExportAndASnapshotRestoredWithRestoreFrom) {
  api::v1::CaptureLeadResponse lead;
  ASSERT_TRUE(Capture(Request("ops-1"), &lead).ok());
  api::v1::QualifyLeadRequest q;
  q.set_idempotency_key("ops-q");
  q.set_lead_id(lead.lead_id());
  q.set_need("CRM for 12 sales people");
  {
    ::grpc::ClientContext ctx;
    api::v1::LeadCommandResponse out;
    ASSERT_TRUE(stub_->QualifyLead(&ctx, q, &out).ok());
  }
  // The history is read through the projection's index: the qualification shows once the
  // projection has applied it, a moment after the command's acknowledgement.
  auto [code, history] = Salesctl("history " + lead.lead_id());
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        std::tie(code, history) = Salesctl("history " + lead.lead_id());
        return history.find("2 events") != std::string::npos;
      },
      absl::Seconds(10)))
      << history;
  EXPECT_EQ(code, 0) << history;
  EXPECT_LT(history.find("v1  lead.captured"), history.find("v2  lead.qualified")) << history;
  EXPECT_THAT(history, HasSubstr("by integration-test"));
  EXPECT_THAT(history, HasSubstr("CRM for 12 sales people"));
  std::tie(code, history) = Salesctl("history no-such-lead");
  EXPECT_EQ(code, 1);
  EXPECT_THAT(history, HasSubstr("NOT_FOUND"));
  auto [export_code, exported] = Salesctl("export --topic=sales.leads --type=lead.qualified");
  EXPECT_EQ(export_code, 0) << exported;
  EXPECT_THAT(exported, HasSubstr("\"event_type\":\"lead.qualified\""));
  EXPECT_THAT(exported, ::testing::Not(HasSubstr("lead.captured")));
  std::tie(export_code, exported) = Salesctl("export --topic=sales.offers");
  EXPECT_EQ(export_code, 1);
  EXPECT_THAT(exported, HasSubstr("INVALID_ARGUMENT"));
  EXPECT_THAT(exported, HasSubstr("topic"));

  Seed(3000);
  auto [snap_code, snap] = Salesctl("snapshot --name=nightly");
  ASSERT_EQ(snap_code, 0) << snap;
  const std::string snapshot = dir_.File("store") + ".snapshots/nightly";
  EXPECT_THAT(snap, HasSubstr(snapshot));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Capture(Request(StrCat("after-snapshot-", i)), &lead).ok());
  const int64_t applied = Status().events_applied();
  ASSERT_TRUE(service_->Stop().ok());

  // A lost disk: a new data dir, restored from the snapshot.
  std::filesystem::rename(dir_.File("store"), dir_.File("lost"));
  Start({"--restore-from=" + snapshot});
  const auto restored = Status();
  EXPECT_EQ(restored.events_applied(), applied) << "the snapshot's rows plus the 5 events after it, each once";
  EXPECT_EQ(restored.duplicates_skipped(), 0);
  EXPECT_EQ(AllLeads().size(), 3006u);
  ExpectRowsEqualARebuildFromScratch(/*switched=*/false);
}

// "What did we know on date X": an as-of store answers the queries that name it as the live store
// answered at that time, refuses commands, survives a kill -9, and is deleted when discarded.
TEST_F(RebuildIT, AnAsOfStoreAnswersAsTheLiveStoreDidThenAndIsReadOnly) {
  Seed(2000);
  api::v1::CaptureLeadResponse a, c;
  ASSERT_TRUE(Capture(Request("asof-a"), &a).ok());
  api::v1::Lead a_then;
  ASSERT_TRUE(Get(a.lead_id(), &a_then).ok());
  absl::SleepFor(absl::Milliseconds(50));
  const absl::Time then = absl::Now();
  absl::SleepFor(absl::Milliseconds(50));
  api::v1::QualifyLeadRequest q;
  q.set_idempotency_key("asof-q");
  q.set_lead_id(a.lead_id());
  q.set_need("a CRM for 40 people");
  {
    ::grpc::ClientContext ctx;
    api::v1::LeadCommandResponse out;
    ASSERT_TRUE(stub_->QualifyLead(&ctx, q, &out).ok());
  }
  ASSERT_TRUE(Capture(Request("asof-c"), &c).ok());

  const auto get_as_of = [&](const std::string& store, const std::string& id, api::v1::Lead* out) {
    ::grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    ctx.AddMetadata("x-as-of-store", store);
    api::v1::GetLeadRequest r;
    r.set_lead_id(id);
    return stub_->GetLead(&ctx, r, out);
  };
  const auto wait_ready = [&] {
    return testing::WaitUntil(
        [&] {
          ::grpc::ClientContext ctx;
          api::v1::ListAsOfStoresResponse list;
          return admin_->ListAsOfStores(&ctx, {}, &list).ok() && list.stores_size() == 1 &&
                 list.stores(0).state() == api::v1::AsOfStore::STATE_READY;
        },
        absl::Seconds(60));
  };
  const std::string at = absl::FormatTime(absl::RFC3339_full, then, absl::UTCTimeZone());
  auto [code, out] = Salesctl("asof start before-q --at=" + at + " --watch");
  ASSERT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("before-q  as of "));
  EXPECT_THAT(out, HasSubstr("ready"));
  ASSERT_TRUE(wait_ready());

  for (int restart = 0; restart < 2; ++restart) {
    SCOPED_TRACE(restart ? "after a kill -9 and a restart" : "as started");
    api::v1::Lead lead;
    ASSERT_TRUE(get_as_of("before-q", a.lead_id(), &lead).ok());
    EXPECT_EQ(lead.SerializeAsString(), a_then.SerializeAsString()) << lead.DebugString() << " vs " << a_then.DebugString();
    ASSERT_TRUE(Get(a.lead_id(), &lead).ok());
    EXPECT_NE(lead.SerializeAsString(), a_then.SerializeAsString()) << "the live store has the qualification";
    EXPECT_EQ(get_as_of("before-q", c.lead_id(), &lead).error_code(), ::grpc::StatusCode::NOT_FOUND)
        << "captured after the time";
    EXPECT_TRUE(Get(c.lead_id(), &lead).ok());
    EXPECT_TRUE(get_as_of("before-q", SeedId(1999), &lead).ok());
    if (!restart) {
      service_->Kill();
      Start();
      ASSERT_TRUE(wait_ready());
    }
  }

  // Read-only: a command naming it is refused and appends nothing.
  {
    ::grpc::ClientContext ctx;
    ctx.AddMetadata("x-as-of-store", "before-q");
    api::v1::CaptureLeadResponse refused;
    const ::grpc::Status s = stub_->CaptureLead(&ctx, Request("asof-refused"), &refused);
    EXPECT_EQ(s.error_code(), ::grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(s.error_message(), HasSubstr("read-only"));
  }
  api::v1::Lead none;
  const ::grpc::Status unknown = get_as_of("no-such-store", a.lead_id(), &none);
  EXPECT_EQ(unknown.error_code(), ::grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(unknown.error_message(), HasSubstr("no as-of store named no-such-store"));
  std::tie(code, out) = Salesctl("asof start before-q --at=" + at);
  EXPECT_EQ(code, 1) << out;
  EXPECT_THAT(out, HasSubstr("ALREADY_EXISTS"));
  std::tie(code, out) = Salesctl("asof start later --at=2999-01-01");
  EXPECT_EQ(code, 1) << out;
  EXPECT_THAT(out, HasSubstr("in the future"));
  std::tie(code, out) = Salesctl("asof start Bad_Name --at=" + at);
  EXPECT_EQ(code, 1) << out;
  EXPECT_THAT(out, HasSubstr("name"));

  std::tie(code, out) = Salesctl("asof list");
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("before-q  as of "));
  const std::string path = dir_.File("store") + ".asof-before-q";
  EXPECT_TRUE(std::filesystem::exists(path));
  std::tie(code, out) = Salesctl("asof discard before-q");
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("deleted"));
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(get_as_of("before-q", a.lead_id(), &none).error_code(), ::grpc::StatusCode::NOT_FOUND);
  std::tie(code, out) = Salesctl("asof list");
  EXPECT_THAT(out, HasSubstr("no as-of stores"));
  // The live store never noticed: the commands after the time are there, and nothing else.
  EXPECT_EQ(AllLeads().size(), 2002u);
}

}  // namespace
}  // namespace sales::lead_acquisition
