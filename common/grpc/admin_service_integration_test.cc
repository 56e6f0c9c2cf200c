// The Admin API against the real broker, in process: a projection runner over a real topic, the
// real Kafka publisher for dead letters and their decisions, the AdminService served over gRPC.
// Each capability is checked through the wire, with the errors a caller gets for bad input.
#include "common/grpc/admin_service.h"

#include <filesystem>

#include "common/grpc/server.h"
#include "common/kafka/kafka_publisher.h"
#include "common/testing/kafka_env.h"
#include "common/testing/store_rows.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace sales::grpc_util {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Per aggregate: the version and the event types applied, in order. A version gap is refused
// (dead letter); an event of type "stall" fails as a transient error (the runner stalls on it).
class VersionedProjection final : public projection::EventProjection {
 public:
  std::string name() const override { return "ops-test"; }
  std::vector<std::string> column_families() const override { return {"rows"}; }

 protected:
  StatusOr<projection::Outcome> ApplyEvent(const events::EventEnvelope& e, Batch& batch) override {
    if (e.event_type() == "stall") return absl::UnavailableError("the store is (pretend) unreachable");
    ASSIGN_OR_RETURN(auto stored, batch.Get("rows", e.aggregate_id()));
    std::string row = stored.value_or("0|");
    const int64_t version = std::stoll(row.substr(0, row.find('|')));
    if (e.aggregate_version() <= version) return projection::Outcome::kDuplicate;
    if (e.aggregate_version() != version + 1) {
      return absl::FailedPreconditionError(StrCat("version gap: ", e.aggregate_id(), " is at ", version,
                                                  ", event is ", e.aggregate_version()));
    }
    row = StrCat(e.aggregate_version(), row.substr(row.find('|')), e.event_type(), ";");
    batch.Put("rows", e.aggregate_id(), row);
    return projection::Outcome::kApplied;
  }
};

std::string Event(const std::string& id, int64_t version, const std::string& type = "",
                  const std::string& name = "Ελένη Παππά") {
  auto e = events::NewEnvelope("lead", id, version, type.empty() ? StrCat("lead.t", version) : type, 1,
                               {"corr-1", "", "maria", "key-" + id + "-" + std::to_string(version), "test"},
                               SystemClock());
  e.mutable_lead()->mutable_captured()->mutable_contact()->set_name(name);
  return events::Encode(e);
}

// The code and the fields a failed call named (google.rpc.BadRequest).
struct Refusal {
  ::grpc::StatusCode code;
  std::vector<std::string> fields;
  std::string message;
};
Refusal Refused(const ::grpc::Status& s) {
  Refusal r{s.error_code(), {}, s.error_message()};
  google::rpc::Status details;
  google::rpc::BadRequest bad;
  if (details.ParseFromString(s.error_details())) {
    for (const auto& d : details.details()) {
      if (d.UnpackTo(&bad)) {
        for (const auto& v : bad.field_violations()) r.fields.push_back(v.field());
      }
    }
  }
  return r;
}

// A runner over one topic with its own store, and the Admin API over gRPC.
struct Node {
  Node(const std::string& topic, const std::string& path) {
    const kafka::ClientSettings client{testing::TestBootstrap(), "ops-test", {}};
    store = Store::Open({.path = path, .column_families = projection.column_families()}).value();
    applier = std::make_unique<projection::Applier>(store.get(), &projection);
    admin = kafka::Admin::Create(client).value();
    publisher = kafka::KafkaPublisher::Create({client, absl::Seconds(10), 0}).value();
    runner = std::make_unique<projection::ProjectionRunner>(
        projection::RunnerOptions{.client = client, .topics = {topic}, .max_batch = 100, .stall_after = absl::Seconds(1)},
        applier.get(), publisher.get(), admin.get(), &metrics);
    service = std::make_unique<AdminService>(AdminOptions{.service = "ops-test",
                                                          .client = client,
                                                          .admin = admin.get(),
                                                          .publisher = publisher.get(),
                                                          .store = store.get(),
                                                          .snapshot_dir = path + ".snapshots",
                                                          .metrics = &metrics},
                                             std::vector<AdminService::Entry>{{runner.get(), applier.get()}});
    server = GrpcServer::Start("127.0.0.1:0", {service.get()}).value();
    stub = api::v1::Admin::NewStub(
        ::grpc::CreateChannel(StrCat("127.0.0.1:", server->port()), ::grpc::InsecureChannelCredentials()));
  }
  ~Node() {
    server.reset();
    runner->Stop();
  }
  std::string Row(const std::string& key) const { return store->Get("rows", key).value().value_or(""); }

  VersionedProjection projection;
  MetricsRegistry metrics;
  std::unique_ptr<Store> store;
  std::unique_ptr<projection::Applier> applier;
  std::unique_ptr<kafka::Admin> admin;
  std::unique_ptr<kafka::KafkaPublisher> publisher;
  std::unique_ptr<projection::ProjectionRunner> runner;
  std::unique_ptr<AdminService> service;
  std::unique_ptr<GrpcServer> server;
  std::unique_ptr<api::v1::Admin::Stub> stub;
};

class AdminIT : public ::testing::Test {
 protected:
  void SetUp() override {
    topic_ = testing::UniquePrefix() + "events";
    auto admin = kafka::Admin::Create({testing::TestBootstrap(), "test", {}}).value();
    for (const auto& t : {topic_, kafka::DeadLetterTopic(topic_)}) {
      ASSERT_TRUE(admin->EnsureTopic({t, 2}, absl::Seconds(30)).ok());
    }
  }

  // Sends and waits until the node's runner has moved past it.
  kafka::Position Send(Node& node, const std::string& key, const std::string& value) {
    auto p = producer_.Send(topic_, key, value);
    EXPECT_TRUE(p.ok()) << p.status();
    EXPECT_TRUE(node.runner->WaitApplied(p->topic, p->partition, p->offset, absl::Seconds(30)).ok());
    return *p;
  }

  static ::grpc::ClientContext* Ctx(::grpc::ClientContext* ctx) {
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    ctx->AddMetadata("x-actor", "operator-anna");
    return ctx;
  }

  api::v1::ListDeadLettersResponse List(Node& node, bool all = false) {
    ::grpc::ClientContext ctx;
    api::v1::ListDeadLettersRequest r;
    r.set_include_decided(all);
    api::v1::ListDeadLettersResponse out;
    auto s = node.stub->ListDeadLetters(Ctx(&ctx), r, &out);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return out;
  }

  ::grpc::Status Redrive(Node& node, const api::v1::RedriveDeadLettersRequest& r,
                         api::v1::RedriveDeadLettersResponse* out) {
    ::grpc::ClientContext ctx;
    return node.stub->RedriveDeadLetters(Ctx(&ctx), r, out);
  }

  std::string topic_;
  testing::RawProducer producer_;
  testing::TempDir dir_;
};

TEST_F(AdminIT, DeadLettersAreListedShownRedrivenExactlyOnceAndDiscardedWithAReason) {
  Node node(topic_, dir_.File("store"));
  ASSERT_TRUE(node.runner->Start().ok());
  // v2 before v1: a version gap, refused; then bytes that are no event at all.
  const kafka::Position gap = Send(node, "lead-a", Event("lead-a", 2, "lead.qualified"));
  Send(node, "lead-b", "not an envelope \xff");

  api::v1::ListDeadLettersResponse listed = List(node);
  ASSERT_EQ(listed.dead_letters_size(), 2);
  EXPECT_EQ(listed.pending(), 2);
  const api::v1::DeadLetter* gap_letter = nullptr;
  const api::v1::DeadLetter* junk_letter = nullptr;
  for (const auto& d : listed.dead_letters()) (d.key() == "lead-a" ? gap_letter : junk_letter) = &d;
  ASSERT_TRUE(gap_letter && junk_letter);
  EXPECT_EQ(gap_letter->ref().topic(), kafka::DeadLetterTopic(topic_));
  EXPECT_EQ(gap_letter->source_topic(), topic_);
  EXPECT_EQ(gap_letter->source_partition(), gap.partition);
  EXPECT_EQ(gap_letter->source_offset(), gap.offset);
  EXPECT_EQ(gap_letter->consumer(), "ops-test");
  EXPECT_EQ(gap_letter->code(), "FAILED_PRECONDITION");
  EXPECT_THAT(gap_letter->reason(), HasSubstr("version gap"));
  EXPECT_EQ(gap_letter->event_type(), "lead.qualified");
  EXPECT_TRUE(gap_letter->redrivable());
  EXPECT_TRUE(gap_letter->payload_json().empty()) << "listings leave the payload out";

  // Show: the payload decoded as JSON; the junk one says why it is not.
  {
    ::grpc::ClientContext ctx;
    api::v1::GetDeadLetterRequest r;
    *r.mutable_ref() = gap_letter->ref();
    api::v1::DeadLetter shown;
    ASSERT_TRUE(node.stub->GetDeadLetter(Ctx(&ctx), r, &shown).ok());
    EXPECT_THAT(shown.payload_json(), HasSubstr("Ελένη Παππά"));
    EXPECT_THAT(shown.payload_json(), HasSubstr("\"aggregate_version\":\"2\""));
    ::grpc::ClientContext ctx2;
    *r.mutable_ref() = junk_letter->ref();
    ASSERT_TRUE(node.stub->GetDeadLetter(Ctx(&ctx2), r, &shown).ok());
    EXPECT_TRUE(shown.payload_json().empty());
    EXPECT_FALSE(shown.decode_error().empty());
  }

  // Re-driven before the fix: refused again, still pending, nothing written.
  api::v1::RedriveDeadLettersRequest one;
  *one.mutable_ref() = gap_letter->ref();
  api::v1::RedriveDeadLettersResponse out;
  ASSERT_TRUE(Redrive(node, one, &out).ok());
  ASSERT_EQ(out.results_size(), 1);
  EXPECT_EQ(out.results(0).outcome(), api::v1::RedriveResult::OUTCOME_STILL_REFUSED);
  EXPECT_EQ(node.Row("lead-a"), "");
  EXPECT_EQ(List(node).pending(), 2);

  // The fix: v1 arrives. Now the re-drive applies v2 - once, however often it is asked.
  Send(node, "lead-a", Event("lead-a", 1, "lead.captured"));
  const int64_t applied_before = node.store->GetCounter(projection::AppliedCounter("ops-test")).value();
  out.Clear();
  ASSERT_TRUE(Redrive(node, one, &out).ok());
  EXPECT_EQ(out.results(0).outcome(), api::v1::RedriveResult::OUTCOME_APPLIED) << out.results(0).message();
  EXPECT_EQ(node.Row("lead-a"), "2|lead.captured;lead.qualified;");
  for (int i = 0; i < 2; ++i) {
    out.Clear();
    ASSERT_TRUE(Redrive(node, one, &out).ok());
    EXPECT_EQ(out.results(0).outcome(), api::v1::RedriveResult::OUTCOME_ALREADY_REDRIVEN);
  }
  EXPECT_EQ(node.Row("lead-a"), "2|lead.captured;lead.qualified;");
  EXPECT_EQ(node.store->GetCounter(projection::AppliedCounter("ops-test")).value(), applied_before + 1);
  EXPECT_EQ(node.store->GetCounter(projection::RedrivenCounter("ops-test")).value(), 1);

  // Discard needs a reason; then it is recorded with who and why, and cannot be decided again.
  api::v1::DiscardDeadLetterRequest discard;
  *discard.mutable_ref() = junk_letter->ref();
  api::v1::DeadLetter decided;
  {
    ::grpc::ClientContext ctx;
    Refusal r = Refused(node.stub->DiscardDeadLetter(Ctx(&ctx), discard, &decided));
    EXPECT_EQ(r.code, ::grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(r.fields, ElementsAre("reason"));
  }
  discard.set_reason("test junk from a load generator; nothing to recover");
  {
    ::grpc::ClientContext ctx;
    ASSERT_TRUE(node.stub->DiscardDeadLetter(Ctx(&ctx), discard, &decided).ok());
    EXPECT_EQ(decided.state(), api::v1::DEAD_LETTER_STATE_DISCARDED);
    EXPECT_EQ(decided.decided_by(), "operator-anna");
  }
  {
    ::grpc::ClientContext ctx;
    EXPECT_EQ(node.stub->DiscardDeadLetter(Ctx(&ctx), discard, &decided).error_code(),
              ::grpc::StatusCode::FAILED_PRECONDITION);
    api::v1::RedriveDeadLettersRequest junk;
    *junk.mutable_ref() = junk_letter->ref();
    out.Clear();
    EXPECT_EQ(Redrive(node, junk, &out).error_code(), ::grpc::StatusCode::FAILED_PRECONDITION);
  }

  // The decisions live in the topic: nothing pending, both shown with their state.
  api::v1::ListDeadLettersResponse after = List(node, /*all=*/true);
  EXPECT_EQ(after.pending(), 0);
  EXPECT_EQ(after.total(), 2);
  std::map<std::string, api::v1::DeadLetterState> states;
  for (const auto& d : after.dead_letters()) states[d.key()] = d.state();
  EXPECT_EQ(states["lead-a"], api::v1::DEAD_LETTER_STATE_REDRIVEN);
  EXPECT_EQ(states["lead-b"], api::v1::DEAD_LETTER_STATE_DISCARDED);

  // Bad input names the field; an unknown position is NOT_FOUND.
  {
    api::v1::RedriveDeadLettersRequest bad;
    bad.mutable_ref()->set_topic("someone.elses.dlq");
    bad.mutable_ref()->set_offset(-1);
    Refusal r = Refused(Redrive(node, bad, &out));
    EXPECT_EQ(r.code, ::grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(r.fields, ElementsAre("ref.topic", "ref.offset"));
    api::v1::RedriveDeadLettersRequest both = one;
    both.set_all_pending(true);
    EXPECT_THAT(Refused(Redrive(node, both, &out)).fields, ElementsAre("ref"));
    ::grpc::ClientContext ctx;
    api::v1::GetDeadLetterRequest missing;
    *missing.mutable_ref() = gap_letter->ref();
    missing.mutable_ref()->set_offset(999);
    EXPECT_EQ(node.stub->GetDeadLetter(Ctx(&ctx), missing, &decided).error_code(), ::grpc::StatusCode::NOT_FOUND);
  }
}

TEST_F(AdminIT, RedriveAllAppliesEveryPendingOneOnce) {
  Node node(topic_, dir_.File("store"));
  ASSERT_TRUE(node.runner->Start().ok());
  for (const char* id : {"x", "y", "z"}) Send(node, id, Event(id, 2));
  EXPECT_EQ(List(node).pending(), 3);
  for (const char* id : {"x", "y", "z"}) Send(node, id, Event(id, 1));
  api::v1::RedriveDeadLettersRequest all;
  all.set_all_pending(true);
  all.set_note("fixed by v1 arriving");
  api::v1::RedriveDeadLettersResponse out;
  ASSERT_TRUE(Redrive(node, all, &out).ok());
  EXPECT_EQ(out.applied(), 3);
  for (const char* id : {"x", "y", "z"}) EXPECT_EQ(node.Row(id), "2|lead.t1;lead.t2;");
  out.Clear();
  ASSERT_TRUE(Redrive(node, all, &out).ok());
  EXPECT_EQ(out.results_size(), 0) << "nothing pending is left";
  EXPECT_EQ(node.store->GetCounter(projection::RedrivenCounter("ops-test")).value(), 3);
}

TEST_F(AdminIT, HistoryReadsOneAggregateThroughTheIndexAndExportFilters) {
  Node node(topic_, dir_.File("store"));
  ASSERT_TRUE(node.runner->Start().ok());
  for (int v = 1; v <= 3; ++v) {
    Send(node, "lead-h", Event("lead-h", v, "", StrCat("Name v", v)));
    Send(node, StrCat("other-", v), Event(StrCat("other-", v), 1));
  }
  // The index holds offsets only: 6 rows, one per record.
  int indexed = 0;
  ASSERT_TRUE(node.store->Scan(Store::kEventIndexFamily, "", "", [&](std::string_view, std::string_view) {
    ++indexed;
    return true;
  }).ok());
  EXPECT_EQ(indexed, 6);

  ::grpc::ClientContext ctx;
  api::v1::GetHistoryRequest r;
  r.set_aggregate_id("lead-h");
  api::v1::GetHistoryResponse history;
  ASSERT_TRUE(node.stub->GetHistory(Ctx(&ctx), r, &history).ok());
  ASSERT_EQ(history.events_size(), 3);
  for (int i = 0; i < 3; ++i) {
    const auto& e = history.events(i);
    EXPECT_EQ(e.aggregate_version(), i + 1);
    EXPECT_EQ(e.event_type(), StrCat("lead.t", i + 1));
    EXPECT_EQ(e.actor(), "maria");
    EXPECT_EQ(e.topic(), topic_);
    EXPECT_THAT(e.payload_json(), HasSubstr(StrCat("Name v", i + 1)));
  }
  {
    ::grpc::ClientContext c;
    r.set_limit(2);
    ASSERT_TRUE(node.stub->GetHistory(Ctx(&c), r, &history).ok());
    EXPECT_EQ(history.events_size(), 2);
    EXPECT_TRUE(history.truncated());
  }
  {
    ::grpc::ClientContext c;
    api::v1::GetHistoryRequest unknown;
    unknown.set_aggregate_id("nobody");
    EXPECT_EQ(node.stub->GetHistory(Ctx(&c), unknown, &history).error_code(), ::grpc::StatusCode::NOT_FOUND);
    ::grpc::ClientContext c2;
    api::v1::GetHistoryRequest bad;
    bad.set_topic("not.mine");
    Refusal refused = Refused(node.stub->GetHistory(Ctx(&c2), bad, &history));
    EXPECT_EQ(refused.code, ::grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(refused.fields, ElementsAre("aggregate_id", "topic"));
  }

  auto export_lines = [&](api::v1::ExportEventsRequest request, ::grpc::Status* status) {
    ::grpc::ClientContext c;
    auto reader = node.stub->ExportEvents(Ctx(&c), request);
    std::vector<std::string> lines;
    api::v1::ExportEventsResponse chunk;
    while (reader->Read(&chunk)) lines.insert(lines.end(), chunk.lines().begin(), chunk.lines().end());
    *status = reader->Finish();
    return lines;
  };
  ::grpc::Status s;
  api::v1::ExportEventsRequest all;
  all.set_topic(topic_);
  EXPECT_EQ(export_lines(all, &s).size(), 6u);
  ASSERT_TRUE(s.ok()) << s.error_message();
  api::v1::ExportEventsRequest typed = all;
  typed.add_event_types("lead.t2");
  auto lines = export_lines(typed, &s);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_THAT(lines[0], HasSubstr("\"event_type\":\"lead.t2\""));
  EXPECT_THAT(lines[0], HasSubstr("Name v2"));
  api::v1::ExportEventsRequest one = all;
  one.set_aggregate_id("lead-h");
  EXPECT_EQ(export_lines(one, &s).size(), 3u);
  api::v1::ExportEventsRequest future = all;
  future.mutable_from()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
  EXPECT_EQ(export_lines(future, &s).size(), 0u);
  api::v1::ExportEventsRequest bad = all;
  bad.set_topic("not.mine");
  bad.mutable_from()->set_seconds(100);
  bad.mutable_to()->set_seconds(50);
  export_lines(bad, &s);
  Refusal refused = Refused(s);
  EXPECT_EQ(refused.code, ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.fields, ElementsAre("topic", "to"));
}

TEST_F(AdminIT, StatusShowsLagAsATimeAndTheStoreSize) {
  Node node(topic_, dir_.File("store"));
  ASSERT_TRUE(node.runner->Start().ok());
  Send(node, "ok-1", Event("ok-1", 1));
  // A record the projection keeps failing on (transient): the runner stalls before it.
  ASSERT_TRUE(producer_.Send(topic_, "stuck", Event("stuck", 1, "stall")).ok());
  absl::SleepFor(absl::Milliseconds(1500));
  ::grpc::ClientContext ctx;
  api::v1::GetProjectionStatusResponse status;
  ASSERT_TRUE(node.stub->GetProjectionStatus(Ctx(&ctx), {}, &status).ok());
  EXPECT_EQ(status.service(), "ops-test");
  EXPECT_GT(status.store_bytes(), 0);
  ASSERT_EQ(status.projections_size(), 1);
  const auto& p = status.projections(0);
  EXPECT_EQ(p.lag(), 1);
  EXPECT_GE(p.lag_seconds(), 1.4) << "the unapplied event was written 1.5 s ago";
  EXPECT_LT(p.lag_seconds(), 30);
  EXPECT_THAT(p.health(), HasSubstr("stalled"));
  int lagging = 0;
  for (const auto& part : p.partitions()) {
    if (part.lag() == 0) {
      EXPECT_EQ(part.lag_seconds(), 0);
    } else {
      ++lagging;
      EXPECT_GE(part.lag_seconds(), 1.4);
    }
  }
  EXPECT_EQ(lagging, 1);
}

// A snapshot is a store with its offsets: restored and caught up, it equals a rebuild from scratch.
TEST_F(AdminIT, SnapshotRestoredAndCaughtUpEqualsAFullRebuild) {
  const std::string path = dir_.File("serving");
  std::string snapshot_path;
  {
    Node node(topic_, path);
    ASSERT_TRUE(node.runner->Start().ok());
    for (int a = 0; a < 20; ++a) Send(node, StrCat("agg-", a), Event(StrCat("agg-", a), 1));
    Send(node, "agg-0", Event("agg-0", 3));  // a gap: dead-lettered, in the snapshot's offsets too
    ::grpc::ClientContext ctx;
    api::v1::CreateSnapshotRequest r;
    r.set_name("before-upgrade");
    api::v1::Snapshot snap;
    ASSERT_TRUE(node.stub->CreateSnapshot(Ctx(&ctx), r, &snap).ok());
    snapshot_path = snap.path();
    EXPECT_EQ(snapshot_path, path + ".snapshots/before-upgrade");
    EXPECT_TRUE(std::filesystem::exists(snapshot_path + "/SNAPSHOT.json"));
    int64_t next_sum = 0;
    for (const auto& o : snap.offsets()) next_sum += o.next_offset();
    EXPECT_EQ(next_sum, 21) << "every record read by then";
    EXPECT_GT(snap.bytes(), 0);
    ::grpc::ClientContext again;
    EXPECT_EQ(node.stub->CreateSnapshot(Ctx(&again), r, &snap).error_code(), ::grpc::StatusCode::ALREADY_EXISTS);
    ::grpc::ClientContext bad;
    r.set_name("../escape");
    Refusal refused = Refused(node.stub->CreateSnapshot(Ctx(&bad), r, &snap));
    EXPECT_EQ(refused.code, ::grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(refused.fields, ElementsAre("name"));
    // Life goes on after the snapshot.
    for (int a = 0; a < 20; ++a) Send(node, StrCat("agg-", a), Event(StrCat("agg-", a), 2));
  }
  // Restore: a copy of the snapshot, caught up from its offsets (not from zero).
  const std::string restored = dir_.File("restored");
  std::filesystem::copy(snapshot_path, restored, std::filesystem::copy_options::recursive);
  {
    Node node(topic_, restored);
    EXPECT_EQ(node.store->GetCounter(projection::AppliedCounter("ops-test")).value(), 20) << "the snapshot's rows";
    ASSERT_TRUE(node.runner->Start().ok());
    ASSERT_TRUE(node.runner->WaitCaughtUp(absl::Seconds(60)).ok());
    EXPECT_EQ(node.store->GetCounter(projection::AppliedCounter("ops-test")).value(), 40);
    EXPECT_EQ(node.store->GetCounter(projection::DuplicateCounter("ops-test")).value(), 0) << "nothing read twice";
  }
  const std::string rebuilt = dir_.File("rebuilt");
  {
    Node node(topic_, rebuilt);
    ASSERT_TRUE(node.runner->Start().ok());
    ASSERT_TRUE(node.runner->WaitCaughtUp(absl::Seconds(60)).ok());
  }
  VersionedProjection projection;
  const auto full = testing::StoreRows(rebuilt, projection);
  EXPECT_EQ(full.size(), 20u);
  testing::ExpectSameRows(full, testing::StoreRows(restored, projection));
  testing::ExpectSameRows(full, testing::StoreRows(path, projection));
}

}  // namespace
}  // namespace sales::grpc_util
