// The projection runner against the real broker: resuming at stored offsets, a second runner
// rebuilding into a fresh store while the first serves (same state), and a dead-letter topic that
// cannot be reached stalling the projection instead of dropping the record, and rapid retries
// with stops in their middle applying every record once.
#include "common/projection/runner.h"

#include "common/kafka/kafka_publisher.h"
#include "common/testing/fake_publisher.h"
#include "common/testing/kafka_env.h"
#include "common/testing/temp_dir.h"
#include "gtest/gtest.h"

namespace sales::projection {
namespace {

// Keeps, per aggregate, the version and the list of event types applied, in order.
class HistoryProjection final : public EventProjection {
 public:
  std::string name() const override { return "history"; }
  std::vector<std::string> column_families() const override { return {"history"}; }

 protected:
  StatusOr<Outcome> ApplyEvent(const events::EventEnvelope& e, Batch& batch) override {
    ASSIGN_OR_RETURN(auto stored, batch.Get("history", e.aggregate_id()));
    std::string row = stored.value_or("0|");
    const int64_t version = std::stoll(row.substr(0, row.find('|')));
    if (e.aggregate_version() <= version) return Outcome::kDuplicate;
    if (e.aggregate_version() != version + 1) return absl::FailedPreconditionError("version gap");
    row = std::to_string(e.aggregate_version()) + row.substr(row.find('|')) + e.event_type() + ";";
    batch.Put("history", e.aggregate_id(), row);
    return Outcome::kApplied;
  }
};

std::string Event(const std::string& id, int64_t version) {
  auto e = events::NewEnvelope("lead", id, version, "t" + std::to_string(version), 1, {}, SystemClock());
  e.mutable_lead()->mutable_captured();
  return events::Encode(e);
}

// One runner with its own store.
struct Replica {
  explicit Replica(const std::vector<std::string>& topics, kafka::EventPublisher* dead_letters) {
    store = Store::Open({.path = dir.path(), .column_families = projection.column_families()}).value();
    applier = std::make_unique<Applier>(store.get(), &projection);
    admin = kafka::Admin::Create({testing::TestBootstrap(), "test", {}}).value();
    runner = std::make_unique<ProjectionRunner>(
        RunnerOptions{
            .client = {testing::TestBootstrap(), "test", {}}, .topics = topics, .max_batch = 100, .write_every = 10},
        applier.get(), dead_letters, admin.get(), &metrics);
  }
  std::map<std::string, std::string> Rows() const {
    std::map<std::string, std::string> rows;
    EXPECT_TRUE(store->Scan("history", "", "", [&](std::string_view k, std::string_view v) {
      rows[std::string(k)] = std::string(v);
      return true;
    }).ok());
    return rows;
  }
  int64_t Counter(const std::string& name) const { return store->GetCounter(name).value(); }

  testing::TempDir dir;
  HistoryProjection projection;
  MetricsRegistry metrics;
  std::unique_ptr<Store> store;
  std::unique_ptr<Applier> applier;
  std::unique_ptr<kafka::Admin> admin;
  std::unique_ptr<ProjectionRunner> runner;
};

class RunnerIT : public ::testing::Test {
 protected:
  void SetUp() override {
    topic_ = testing::UniquePrefix() + "events";
    auto admin = kafka::Admin::Create({testing::TestBootstrap(), "test", {}}).value();
    for (const auto& t : {topic_, kafka::DeadLetterTopic(topic_)}) {
      ASSERT_TRUE(admin->EnsureTopic({t, 3}, absl::Seconds(30)).ok());
    }
  }

  // Appends versions [from, to] of `aggregates` aggregates.
  void Produce(int aggregates, int from, int to) {
    std::vector<kafka::OutgoingMessage> messages;
    for (int v = from; v <= to; ++v) {
      for (int a = 0; a < aggregates; ++a) {
        const std::string id = "agg-" + std::to_string(a);
        messages.push_back({topic_, id, Event(id, v), {}});
      }
    }
    ASSERT_TRUE(producer_.SendAll(messages).ok());
  }

  std::string topic_;
  testing::RawProducer producer_;
  testing::FakePublisher dead_letters_;
};

TEST_F(RunnerIT, ResumesAtStoredOffsetsAndRebuildsTheSameStateBesideTheServingOne) {
  const absl::Time before = absl::FromUnixMillis(absl::ToUnixMillis(absl::Now()));
  Produce(200, 1, 3);
  const absl::Time after = absl::Now();
  Replica serving({topic_}, &dead_letters_);
  EXPECT_EQ(serving.runner->LastAppliedAt(), std::nullopt);
  ASSERT_TRUE(serving.runner->Start().ok());
  ASSERT_TRUE(serving.runner->WaitCaughtUp(absl::Seconds(60)).ok());
  EXPECT_EQ(serving.Counter(AppliedCounter("history")), 600);
  // The data is as of the latest event's append time.
  const std::optional<absl::Time> last = serving.runner->LastAppliedAt();
  ASSERT_TRUE(last.has_value());
  EXPECT_GE(*last, before);
  EXPECT_LE(*last, after);

  // Restart: resumes where it stopped, nothing applied twice; the time of the latest event is
  // known before anything new arrives (it is kept in the store).
  serving.runner = std::make_unique<ProjectionRunner>(
      RunnerOptions{.client = {testing::TestBootstrap(), "test", {}}, .topics = {topic_}}, serving.applier.get(),
      &dead_letters_, serving.admin.get(), &serving.metrics);
  ASSERT_TRUE(serving.runner->Start().ok());
  ASSERT_TRUE(serving.runner->WaitCaughtUp(absl::Seconds(60)).ok());
  EXPECT_EQ(serving.runner->LastAppliedAt(), last);

  // A rebuild into a fresh store, started while the serving runner goes on and events keep coming.
  Replica rebuild({topic_}, &dead_letters_);
  ASSERT_TRUE(rebuild.runner->Start().ok());
  Produce(200, 4, 5);
  kafka::Admin& admin = *serving.admin;
  std::vector<int64_t> ends;
  for (int p = 0; p < 3; ++p) ends.push_back(admin.QueryWatermarks(topic_, p, absl::Seconds(10)).value().high);
  for (int p = 0; p < 3; ++p) {
    if (ends[p] == 0) continue;
    ASSERT_TRUE(serving.runner->WaitApplied(topic_, p, ends[p] - 1, absl::Seconds(60)).ok());
    ASSERT_TRUE(rebuild.runner->WaitApplied(topic_, p, ends[p] - 1, absl::Seconds(60)).ok());
  }
  EXPECT_EQ(serving.Counter(AppliedCounter("history")), 1000);
  EXPECT_EQ(serving.Counter(DuplicateCounter("history")), 0);
  EXPECT_EQ(rebuild.Counter(AppliedCounter("history")), 1000);
  auto rows = serving.Rows();
  ASSERT_EQ(rows.size(), 200u);
  EXPECT_EQ(rows["agg-7"], "5|t1;t2;t3;t4;t5;");
  EXPECT_EQ(rebuild.Rows(), rows);
}

TEST_F(RunnerIT, UnreachableDeadLetterTopicStallsInsteadOfDropping) {
  dead_letters_.FailWith(absl::UnavailableError("dead-letter topic unreachable"));
  auto bad = producer_.Send(topic_, "agg-1", "not an event");
  ASSERT_TRUE(bad.ok());
  ASSERT_TRUE(producer_.Send(topic_, "agg-1", Event("agg-1", 1)).ok());

  Replica replica({topic_}, &dead_letters_);
  ASSERT_TRUE(replica.runner->Start().ok());
  // The batch with the bad record keeps failing: nothing behind it is applied, the offset holds.
  ASSERT_TRUE(testing::WaitUntil(
      [&] {
        return replica.metrics.Render().find(
                   "sales_projection_batch_failures_total{projection=\"history\"} 2") != std::string::npos;
      },
      absl::Seconds(30)));
  EXPECT_FALSE(replica.store->Get("history", "agg-1").value().has_value());
  EXPECT_FALSE(replica.store->GetOffset("history", topic_, bad->partition).value().has_value());

  dead_letters_.FailWith(absl::OkStatus());
  ASSERT_TRUE(replica.runner->WaitApplied(topic_, bad->partition, bad->offset + 1, absl::Seconds(30)).ok());
  EXPECT_EQ(replica.Counter(DeadLetterCounter("history")), 1);
  EXPECT_EQ(replica.Counter(AppliedCounter("history")), 1);
  auto parked = dead_letters_.published();
  ASSERT_EQ(parked.size(), 1u);
  EXPECT_EQ(parked[0].topic, topic_ + ".dlq");
  EXPECT_EQ(parked[0].value, "not an event");
}

// Retries follow each other closely and the runner is stopped in the middle of them, again and
// again: every rewind to the stored offsets must leave the consumer able to go on and to close
// (librdkafka 2.0 aborted when an assignment changed while the previous one's stop was pending),
// and what is finally applied is every record once.
TEST_F(RunnerIT, RapidRetriesAndStopsInTheirMiddleApplyEveryRecordOnce) {
  dead_letters_.FailWith(absl::UnavailableError("dead-letter topic unreachable"));
  Produce(30, 1, 2);
  auto bad = producer_.Send(topic_, "agg-1", "not an event");
  ASSERT_TRUE(bad.ok());
  Produce(30, 3, 3);

  Replica replica({topic_}, &dead_letters_);
  const RunnerOptions options{.client = {testing::TestBootstrap(), "test", {}},
                              .topics = {topic_},
                              .max_batch = 7,
                              .write_every = 3,
                              .retry_backoff = absl::Milliseconds(1)};
  int64_t failures = 0;
  for (int round = 0; round < 4; ++round) {
    replica.runner = std::make_unique<ProjectionRunner>(options, replica.applier.get(), &dead_letters_,
                                                        replica.admin.get(), &replica.metrics);
    ASSERT_TRUE(replica.runner->Start().ok());
    const std::string failed = "sales_projection_batch_failures_total{projection=\"history\"} ";
    ASSERT_TRUE(testing::WaitUntil(
        [&] {
          const std::string metrics = replica.metrics.Render();
          const size_t at = metrics.find(failed);
          return at != std::string::npos && std::stoll(metrics.substr(at + failed.size())) >= failures + 10;
        },
        absl::Seconds(30)))
        << "round " << round;
    const std::string metrics = replica.metrics.Render();
    failures = std::stoll(metrics.substr(metrics.find(failed) + failed.size()));
    replica.runner->Stop();
  }
  EXPECT_FALSE(replica.store->GetOffset("history", topic_, bad->partition).value() > bad->offset);

  dead_letters_.FailWith(absl::OkStatus());
  replica.runner = std::make_unique<ProjectionRunner>(options, replica.applier.get(), &dead_letters_,
                                                      replica.admin.get(), &replica.metrics);
  ASSERT_TRUE(replica.runner->Start().ok());
  ASSERT_TRUE(replica.runner->WaitCaughtUp(absl::Seconds(60)).ok());
  EXPECT_EQ(replica.Counter(AppliedCounter("history")), 90);
  EXPECT_EQ(replica.Counter(DuplicateCounter("history")), 0);
  EXPECT_EQ(replica.Counter(DeadLetterCounter("history")), 1);
  auto rows = replica.Rows();
  ASSERT_EQ(rows.size(), 30u);
  for (const auto& [id, row] : rows) EXPECT_EQ(row, "3|t1;t2;t3;") << id;
}

}  // namespace
}  // namespace sales::projection
