// The decider's contract (decider.h) on a tiny service of its own: counters keyed by id, one event
// per command, a real store in a temp folder, publishers that hold, fail or race the append. Group
// commit, the bounded queue, the failed append and its resync, the store moving under an append,
// the projection's lock left free during the Kafka round trip, expected versions, the event
// factory's clock and the command hash.
#include "common/command/decider.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "common/base/ids.h"
#include "common/testing/fake_clock.h"
#include "common/testing/fake_publisher.h"
#include "common/testing/status_matchers.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sales::command {
namespace {

using events::EventEnvelope;
using projection::Outcome;
using testing::IsOk;
using testing::IsOkAndHolds;
using testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Not;
using Code = absl::StatusCode;

constexpr char kTopic[] = "t.counters";
constexpr char kCounterAggregate[] = "counter";
constexpr char kCounters[] = "counters";  // id -> <version, 8 bytes><count, 8 bytes>
constexpr char kTotal[] = "~total";       // (in kCounters) the sum of every delta

// ---- the test service: counters ----

struct Row {
  int64_t version = 0;
  int64_t count = 0;
};

template <typename Reader>
StatusOr<Row> LoadCounter(const Reader& reader, const std::string& id) {
  ASSIGN_OR_RETURN(std::optional<std::string> bytes, reader.Get(kCounters, id));
  if (!bytes) return Row{};
  const std::optional<int64_t> version = DecodeInt64(std::string_view(*bytes).substr(0, 8));
  const std::optional<int64_t> count = bytes->size() == 16 ? DecodeInt64(std::string_view(*bytes).substr(8)) : 0;
  if (!version || !count) return absl::DataLossError(StrCat("counter ", id, " is corrupt"));
  return Row{*version, *count};
}

// The increment rides in a product upsert's list price: any payload will do for the kit.
int64_t DeltaOf(const EventEnvelope& e) { return e.product().upserted().list_price().units(); }

// Versioned like a real aggregate: an event at or below the stored version is a duplicate, a gap is
// refused.
class CounterProjection final : public projection::EventProjection {
 public:
  std::string name() const override { return "counters"; }
  std::vector<std::string> column_families() const override { return {kCounters}; }

 protected:
  bool Uses(const EventEnvelope& e) const override { return e.aggregate_type() == kCounterAggregate; }
  StatusOr<Outcome> ApplyEvent(const EventEnvelope& e, Batch& batch) override {
    ASSIGN_OR_RETURN(Row row, LoadCounter(batch, e.aggregate_id()));
    if (e.aggregate_version() <= row.version) return Outcome::kDuplicate;
    if (e.aggregate_version() != row.version + 1) {
      return absl::FailedPreconditionError(StrCat("version gap for counter ", e.aggregate_id()));
    }
    batch.Put(kCounters, e.aggregate_id(), EncodeInt64(e.aggregate_version()) + EncodeInt64(row.count + DeltaOf(e)));
    batch.AddSums(kCounters, kTotal, {DeltaOf(e)});  // a row changed by merges only
    return Outcome::kApplied;
  }
};

struct Add {
  std::string id;
  int64_t delta = 1;
  int64_t expected_version = 0;
  bool refuse = false;  // the decision refuses it (FAILED_PRECONDITION)
  bool read_total = false;  // the decision reads the sum of every delta (its count is that sum, plus its own)
};

struct Counted {
  int64_t version = 0;
  int64_t count = 0;
};

EventEnvelope CounterEvent(const std::string& id, int64_t version, int64_t delta, const Clock& clock) {
  EventEnvelope e = events::NewEnvelope(kCounterAggregate, id, version, "counter.added", 1, {}, clock);
  e.mutable_product()->mutable_upserted()->mutable_list_price()->set_units(delta);
  return e;
}

class CounterLogic final : public DecisionLogic<Add, Counted> {
 public:
  const char* Name(const Add&) const override { return "Add"; }
  Status Validate(const Add& a, absl::Time) const override {
    ++validated;
    return a.id.empty() ? InvalidField("id", "missing") : absl::OkStatus();
  }
  StatusOr<Decision<Counted>> Decide(const Add& a, const Caller& caller, Batch& batch, EventFactory& events) override {
    ++decided;
    ASSIGN_OR_RETURN(Row row, LoadCounter(batch, a.id));
    RETURN_IF_ERROR(CheckExpectedVersion(a.expected_version, row.version, StrCat("counter ", a.id)));
    if (a.refuse) return absl::FailedPreconditionError(StrCat("counter ", a.id, " refuses this one"));
    Decision<Counted> d;
    d.events.push_back(events.New(kCounterAggregate, a.id, row.version + 1, "counter.added", 1, "Add", "", "", caller));
    d.events.back().mutable_product()->mutable_upserted()->mutable_list_price()->set_units(a.delta);
    d.result = {row.version + 1, row.count + a.delta};
    if (a.read_total) {
      ASSIGN_OR_RETURN(std::optional<std::string> total, batch.Get(kCounters, kTotal));
      d.result.count = (total ? DecodeSums(*total).value().at(0) : 0) + a.delta;
    }
    return d;
  }

  mutable std::atomic<int> validated{0};
  std::atomic<int> decided{0};
};

// ---- publishers ----

// Appends to a FakePublisher (the log), and can hold every append "in flight" until Release(), run
// a hook while in flight (another writer of the store), and check that the decider left the
// projection's lock free.
class TestPublisher final : public kafka::EventPublisher {
 public:
  explicit TestPublisher(projection::Applier* applier) : applier_(applier) {}

  std::shared_ptr<kafka::Delivery> Send(std::vector<kafka::OutgoingMessage> messages,
                                        absl::Duration timeout) override {
    // The decider must not hold the projection's lock across the Kafka round trip.
    if (applier_->mutex().try_lock()) {
      applier_->mutex().unlock();
    } else {
      ++published_under_lock;
    }
    std::function<void(const std::vector<kafka::OutgoingMessage>&)> hook;
    Status whole_append_fails = absl::OkStatus();
    {
      std::unique_lock lock(mu_);
      chunk_sizes_.push_back(messages.size());
      for (const auto& m : messages) attempted_.push_back(m.value);
      ++in_flight_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return open_; });
      --in_flight_;
      hook = std::exchange(while_in_flight_, nullptr);
      if (failing_appends_ > 0) {
        --failing_appends_;
        whole_append_fails = failing_status_;
      }
    }
    if (hook) hook(messages);
    {
      std::lock_guard lock(mu_);
      if (std::exchange(late_next_, false)) {
        late_ = std::make_shared<LateDelivery>(std::move(messages));
        return late_;
      }
    }
    if (!whole_append_fails.ok()) {
      return std::make_shared<kafka::KnownDelivery>(
          std::vector<StatusOr<kafka::Position>>(messages.size(), whole_append_fails));
    }
    return log.Send(std::move(messages), timeout);
  }

  void Hold() {
    std::lock_guard lock(mu_);
    open_ = false;
  }
  // The next append is acknowledged only at Land(): its Delivery stays open meanwhile, as a real
  // producer's does while it retries against a frozen broker. Land() writes it to the log.
  void AcknowledgeNextAppendLate() {
    std::lock_guard lock(mu_);
    late_next_ = true;
  }
  void Land() {
    std::shared_ptr<LateDelivery> late;
    {
      std::lock_guard lock(mu_);
      late = std::exchange(late_, nullptr);
    }
    ASSERT_NE(late, nullptr) << "no append was held";
    late->Complete(log.Publish(late->messages, absl::Seconds(1)));
  }
  void Release() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // False when nothing went in flight within 30 s (the test then fails rather than hangs).
  bool WaitUntilInFlight() {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return in_flight_ > 0; });
  }
  // The next `appends` calls of Publish fail as a whole (every message `status`, none reaches the
  // log); the ones after them go to the log again. Unlike log.FailWith, no retry of the idle
  // decider can slip in between the failure and the healing.
  void FailNextAppends(int appends, Status status) {
    std::lock_guard lock(mu_);
    failing_appends_ = appends;
    failing_status_ = std::move(status);
  }
  // Runs once, during the next append (before it is acknowledged).
  void DuringNextAppend(std::function<void(const std::vector<kafka::OutgoingMessage>&)> hook) {
    std::lock_guard lock(mu_);
    while_in_flight_ = std::move(hook);
  }
  std::vector<size_t> chunk_sizes() const {
    std::lock_guard lock(mu_);
    return chunk_sizes_;
  }
  // Every message handed to Publish, acknowledged or not, in order (values).
  std::vector<std::string> attempted() const {
    std::lock_guard lock(mu_);
    return attempted_;
  }
  // The events in the log, decoded, in append order.
  std::vector<EventEnvelope> Appended() const {
    std::vector<EventEnvelope> out;
    for (const auto& m : log.published()) out.push_back(events::Decode(m.value).value());
    return out;
  }

  testing::FakePublisher log;
  std::atomic<int> published_under_lock{0};

 private:
  class LateDelivery final : public kafka::Delivery {
   public:
    explicit LateDelivery(std::vector<kafka::OutgoingMessage> m)
        : messages(std::move(m)), results_(messages.size(), absl::UnavailableError(kafka::kNotAcknowledgedYet)) {}
    bool Wait(absl::Duration timeout) override {
      std::unique_lock lock(mu_);
      return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] { return done_; });
    }
    std::vector<StatusOr<kafka::Position>> Results() const override {
      std::lock_guard lock(mu_);
      return results_;
    }
    void OnDone(std::function<void()> done) override {
      {
        std::lock_guard lock(mu_);
        if (!done_) {
          on_done_.push_back(std::move(done));
          return;
        }
      }
      done();
    }
    void Complete(std::vector<StatusOr<kafka::Position>> results) {
      std::vector<std::function<void()>> on_done;
      {
        std::lock_guard lock(mu_);
        results_ = std::move(results);
        done_ = true;
        cv_.notify_all();
        on_done.swap(on_done_);
      }
      for (auto& fn : on_done) fn();
    }
    const std::vector<kafka::OutgoingMessage> messages;

   private:
    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool done_ = false;
    std::vector<StatusOr<kafka::Position>> results_;
    std::vector<std::function<void()>> on_done_;
  };

  projection::Applier* applier_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  int in_flight_ = 0;
  std::vector<size_t> chunk_sizes_;
  std::vector<std::string> attempted_;
  int failing_appends_ = 0;
  Status failing_status_;
  bool late_next_ = false;
  std::shared_ptr<LateDelivery> late_;
  std::function<void(const std::vector<kafka::OutgoingMessage>&)> while_in_flight_;
};

projection::Record ToRecord(const std::string& topic, int64_t offset, const EventEnvelope& e) {
  return {topic, 0, offset, e.aggregate_id(), events::Encode(e), {{"event_type", e.event_type()}}};
}

// Plays the projection runner: applies the records and commits them through the applier, under its
// lock (taken without waiting: a decider holding it during the append would be a bug, not a wait).
Status RunnerApplies(projection::Applier& applier, const std::vector<projection::Record>& records) {
  std::unique_lock lock(applier.mutex(), std::try_to_lock);
  if (!lock.owns_lock()) return absl::InternalError("the projection's lock is held during the append");
  Batch batch = applier.store()->NewBatch();
  int64_t applied = 0;
  for (const auto& r : records) {
    ASSIGN_OR_RETURN(Outcome o, applier.projection()->Apply(r, batch));
    if (o == Outcome::kApplied) ++applied;
    batch.SetOffset(applier.projection()->name(), r.topic, r.partition, r.offset + 1);
  }
  if (applied) RETURN_IF_ERROR(batch.AddToCounter(projection::AppliedCounter(applier.projection()->name()), applied));
  return applier.Commit(batch);
}

// ---- the fixture ----

class DeciderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Store::Open({.path = dir_.path(), .column_families = projection_.column_families()}).value();
    applier_ = std::make_unique<projection::Applier>(store_.get(), &projection_);
    publisher_ = std::make_unique<TestPublisher>(applier_.get());
  }
  void TearDown() override {
    EXPECT_EQ(publisher_->published_under_lock, 0) << "the decider held the projection's lock during an append";
  }

  std::unique_ptr<Decider<Add, Counted>> Start(DeciderOptions options = {}) {
    options.topic = kTopic;
    options.producer = "counter-test";
    auto decider = std::make_unique<Decider<Add, Counted>>(options, &logic_, publisher_.get(), applier_.get(), &clock_,
                                                           &metrics_);
    EXPECT_THAT(decider->Start(), IsOk());
    return decider;
  }

  Row Stored(const std::string& id) { return LoadCounter(*store_, id).value(); }
  int64_t AppliedCount() { return store_->GetCounter(projection::AppliedCounter("counters")).value(); }
  uint64_t Commits() {
    std::lock_guard lock(applier_->mutex());
    return applier_->commits();
  }
  int64_t Metric(const std::string& name) { return metrics_.GetCounter(name, "").value(); }

  // Commands a full queue must refuse at once. A decider that queued them instead would block
  // behind the held append: then the append is released and the test fails instead of hanging.
  std::vector<StatusOr<Counted>> MustNotWait(Decider<Add, Counted>& decider, std::vector<Add> commands) {
    auto answers = std::async(std::launch::async, [&] { return decider.ExecuteAll(commands, caller_); });
    if (answers.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      ADD_FAILURE() << "the commands were queued instead of refused";
      publisher_->Release();
    }
    return answers.get();
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  MetricsRegistry metrics_;
  CounterProjection projection_;
  CounterLogic logic_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<projection::Applier> applier_;
  std::unique_ptr<TestPublisher> publisher_;
  const Caller caller_{"corr-1", "tester"};
};

// ---- group commit ----

TEST_F(DeciderTest, OneChunkIsDecidedInOrderAppendedInOneRoundTripAndCommittedOnce) {
  auto decider = Start();
  std::vector<Add> commands;
  for (int i = 1; i <= 50; ++i) commands.push_back({i % 2 ? "a" : "b", i});
  auto results = decider->ExecuteAll(commands, caller_);

  ASSERT_EQ(results.size(), 50u);
  std::map<std::string, Row> expected;
  for (int i = 1; i <= 50; ++i) {
    Row& row = expected[commands[i - 1].id];
    row.version += 1;
    row.count += i;
    // Each decision saw the ones before it in the chunk.
    EXPECT_THAT(results[i - 1], IsOkAndHolds(::testing::AllOf(Field(&Counted::version, row.version),
                                                              Field(&Counted::count, row.count))))
        << "command " << i;
  }
  EXPECT_THAT(publisher_->chunk_sizes(), ElementsAre(50u)) << "one Kafka round trip for the chunk";
  std::vector<EventEnvelope> log = publisher_->Appended();
  ASSERT_EQ(log.size(), 50u);
  std::map<std::string, int64_t> last_version;
  for (size_t k = 0; k < log.size(); ++k) {
    EXPECT_EQ(log[k].aggregate_id(), commands[k].id) << "appended in the order decided";
    EXPECT_EQ(log[k].aggregate_version(), ++last_version[log[k].aggregate_id()]);
    EXPECT_EQ(DeltaOf(log[k]), commands[k].delta);
  }
  EXPECT_EQ(Commits(), 1u) << "one store commit for the chunk";
  EXPECT_EQ(AppliedCount(), 50);
  EXPECT_EQ(Stored("a").version, 25);
  EXPECT_EQ(Stored("a").count, expected["a"].count);
  EXPECT_EQ(Stored("b").count, expected["b"].count);
}

TEST_F(DeciderTest, ConcurrentCallersShareKafkaRoundTripsAndEachIdStaysInOrder) {
  auto decider = Start();
  publisher_->Hold();
  // The first command goes in flight; the others queue up behind it.
  std::vector<StatusOr<Counted>> results(33, absl::UnknownError("not run"));
  std::vector<std::thread> callers;
  callers.emplace_back([&] { results[0] = decider->Execute({"c0"}, caller_); });
  EXPECT_TRUE(publisher_->WaitUntilInFlight());
  for (int i = 1; i < 33; ++i) {
    callers.emplace_back([&, i] { results[i] = decider->Execute({StrCat("c", i % 4)}, caller_); });
  }
  while (logic_.validated < 33) std::this_thread::yield();
  publisher_->Release();
  for (auto& t : callers) t.join();

  std::map<std::string, std::set<int64_t>> versions_answered;
  for (const auto& r : results) {
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->count, r->version) << "every decision saw all the earlier ones";
  }
  for (int i = 0; i < 33; ++i) versions_answered[StrCat("c", i % 4)].insert(results[i]->version);
  const std::vector<size_t> chunks = publisher_->chunk_sizes();
  size_t total = 0;
  for (size_t n : chunks) total += n;
  EXPECT_EQ(total, 33u);
  EXPECT_LT(chunks.size(), 33u) << "queued commands were decided together";
  EXPECT_EQ(Commits(), chunks.size()) << "one store commit per chunk";
  EXPECT_EQ(AppliedCount(), 33);
  std::map<std::string, int64_t> last_version;
  for (const auto& e : publisher_->Appended()) {
    EXPECT_EQ(e.aggregate_version(), ++last_version[e.aggregate_id()]) << "appended in version order";
  }
  for (const auto& [id, versions] : versions_answered) {
    EXPECT_EQ(static_cast<int64_t>(versions.size()), Stored(id).version) << id << ": one version per command";
    EXPECT_EQ(Stored(id).count, Stored(id).version);
  }
}

TEST_F(DeciderTest, InvalidCommandsAreAnsweredAtOnceAndARefusalRollsBackOnlyItsOwnDecision) {
  auto decider = Start();
  auto results = decider->ExecuteAll({{"a", 1}, {"", 5}, {"a", 10, 0, /*refuse=*/true}, {"a", 100}}, caller_);
  EXPECT_THAT(results[0], IsOkAndHolds(Field(&Counted::version, 1)));
  EXPECT_THAT(results[1], StatusIs(Code::kInvalidArgument, "id: missing"));
  EXPECT_THAT(results[2], StatusIs(Code::kFailedPrecondition, "counter a refuses this one"));
  EXPECT_THAT(results[3], IsOkAndHolds(::testing::AllOf(Field(&Counted::version, 2), Field(&Counted::count, 101))));
  EXPECT_EQ(logic_.decided, 3) << "the invalid one never reached the decider";
  EXPECT_THAT(publisher_->chunk_sizes(), ElementsAre(2u));
  EXPECT_EQ(Stored("a").count, 101);
}

// ---- back-pressure ----

TEST_F(DeciderTest, AFullQueueAnswersResourceExhaustedAtOnceAllOrNone) {
  auto decider = Start({.max_queue = 3});
  publisher_->Hold();
  StatusOr<Counted> first = absl::UnknownError("not run");
  std::thread in_flight([&] { first = decider->Execute({"q"}, caller_); });
  EXPECT_TRUE(publisher_->WaitUntilInFlight());  // its chunk left the queue: the queue is empty

  // Four never fit in three places: refused together, at once, while the decider is still busy.
  auto too_many = MustNotWait(*decider, {{"x1"}, {"x2"}, {"x3"}, {"x4"}});
  for (const auto& r : too_many) {
    EXPECT_THAT(r, StatusIs(Code::kResourceExhausted,
                            "overloaded: 0 commands are waiting to be decided; retry later with the same key"));
  }
  int refused = 4;

  std::vector<StatusOr<Counted>> three;
  std::thread queued([&] { three = decider->ExecuteAll({{"q"}, {"q"}, {"r"}}, caller_); });
  // Wait until they are queued: the refusal says how many commands are waiting.
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (true) {
    auto probe = MustNotWait(*decider, {{"p1"}, {"p2"}, {"p3"}, {"p4"}});
    refused += 4;
    EXPECT_THAT(probe[0], StatusIs(Code::kResourceExhausted));
    if (absl::StrContains(probe[0].status().message(), "overloaded: 3 commands are waiting")) break;
    if (absl::Now() > give_up) {
      ADD_FAILURE() << "the three commands never showed as queued: " << probe[0].status();
      break;
    }
    std::this_thread::yield();
  }
  EXPECT_THAT(MustNotWait(*decider, {{"one-more"}})[0],
              StatusIs(Code::kResourceExhausted, HasSubstr("overloaded: 3 commands are waiting")));
  ++refused;
  EXPECT_EQ(Metric("sales_decider_overload_total"), refused);

  publisher_->Release();
  in_flight.join();
  queued.join();
  EXPECT_THAT(first, IsOkAndHolds(Field(&Counted::version, 1)));
  ASSERT_EQ(three.size(), 3u);
  EXPECT_THAT(three[0], IsOkAndHolds(Field(&Counted::version, 2)));
  EXPECT_THAT(three[1], IsOkAndHolds(Field(&Counted::version, 3)));
  EXPECT_THAT(three[2], IsOkAndHolds(Field(&Counted::version, 1)));
  EXPECT_EQ(publisher_->Appended().size(), 4u) << "nothing of the refused commands was appended";
  for (const char* id : {"x1", "p1", "one-more"}) EXPECT_EQ(Stored(id).version, 0) << id;
}

// ---- a failed append ----

// The decider may also resync by itself while idle, and may append the failed chunk's envelopes
// again before it resyncs: the assertions hold either way (they count decisions and versions, not
// resync calls or appends).
TEST_F(DeciderTest, AFailedAppendAnswersTheWholeChunkUnavailableAndNothingIsDecidedUntilResynced) {
  std::atomic<bool> log_end_known{false};
  std::atomic<int> resyncs{0};
  size_t applied_from_log = 0;  // decider thread only
  DeciderOptions options;
  // Plays the projection catching up with the log: applies what reached it and is not applied yet.
  options.resync = [&](absl::Duration) -> Status {
    ++resyncs;
    if (!log_end_known) return absl::UnavailableError("log end unknown");
    std::vector<projection::Record> records;
    const auto log = publisher_->log.published();
    for (; applied_from_log < log.size(); ++applied_from_log) {
      const auto& m = log[applied_from_log];
      records.push_back({m.topic, 0, static_cast<int64_t>(applied_from_log), m.key, m.value, m.headers});
    }
    return RunnerApplies(*applier_, records);
  };
  auto decider = Start(options);
  EXPECT_THAT(decider->Health(), IsOk());

  // The first event reaches the log, the other two do not.
  publisher_->log.FailAfter(1, absl::UnavailableError("broker went away"));
  auto chunk = decider->ExecuteAll({{"x"}, {"y"}, {"x"}}, caller_);
  for (const auto& r : chunk) {
    EXPECT_THAT(r, StatusIs(Code::kUnavailable, "broker went away; retry with the same idempotency key"));
  }
  const std::vector<std::string> failed_chunk = publisher_->attempted();
  ASSERT_EQ(failed_chunk.size(), 3u);
  EXPECT_EQ(publisher_->log.published().size(), 1u);
  EXPECT_EQ(Commits(), 0u) << "nothing of the chunk is committed by the command path";
  EXPECT_EQ(Stored("x").version, 0);
  EXPECT_THAT(decider->Health(), StatusIs(Code::kUnavailable, HasSubstr("waiting to resync after a failed append")));
  EXPECT_THAT(decider->Health(), StatusIs(Code::kUnavailable, HasSubstr("broker went away")));

  // Kafka is back, but the projection cannot tell yet whether it has the log: nothing is decided.
  publisher_->log.FailWith(absl::OkStatus());
  const int decided_before = logic_.decided;
  EXPECT_THAT(decider->Execute({"x"}, caller_),
              StatusIs(Code::kUnavailable, "recovering from a failed append (log end unknown); retry with the same "
                                           "idempotency key"));
  EXPECT_GE(resyncs, 1);
  EXPECT_EQ(logic_.decided, decided_before);
  for (const auto& m : publisher_->log.published()) {
    EXPECT_THAT(failed_chunk, ::testing::Contains(m.value)) << "only envelopes of the failed chunk are in the log";
  }
  EXPECT_THAT(decider->Health(), StatusIs(Code::kUnavailable));

  // Once it has, the decision builds on everything in the log: no version of x is reused.
  log_end_known = true;
  auto next = decider->Execute({"x"}, caller_);
  ASSERT_THAT(next, IsOk());
  std::vector<int64_t> x_versions;
  for (const auto& e : publisher_->Appended()) {
    if (e.aggregate_id() == "x") x_versions.push_back(e.aggregate_version());
  }
  ASSERT_FALSE(x_versions.empty());
  EXPECT_EQ(next->version, x_versions.back());
  for (size_t i = 0; i < x_versions.size(); ++i) {
    EXPECT_EQ(x_versions[i], static_cast<int64_t>(i + 1)) << "x's versions in the log: each once, in order";
  }
  EXPECT_GE(next->version, 2) << "version 1 reached the log in the failed chunk";
  EXPECT_EQ(Stored("x").version, next->version);
  EXPECT_THAT(decider->Health(), IsOk());
  const int resyncs_when_healthy = resyncs;
  EXPECT_THAT(decider->Execute({"y"}, caller_), IsOk());
  EXPECT_THAT(decider->Execute({"x"}, caller_), IsOkAndHolds(Field(&Counted::version, next->version + 1)));
  EXPECT_EQ(resyncs, resyncs_when_healthy) << "resync only after a failed append";
}

TEST_F(DeciderTest, WithoutAResyncFunctionTheNextChunkProceeds) {
  auto decider = Start();
  publisher_->log.FailWith(absl::UnavailableError("broker down"));
  EXPECT_THAT(decider->Execute({"z"}, caller_), StatusIs(Code::kUnavailable, HasSubstr("broker down")));
  EXPECT_THAT(decider->Health(), StatusIs(Code::kUnavailable, HasSubstr("broker down")));
  publisher_->log.FailWith(absl::OkStatus());
  EXPECT_THAT(decider->Execute({"z"}, caller_), IsOkAndHolds(Field(&Counted::version, 1)));
  EXPECT_THAT(decider->Health(), IsOk());
}

// Events of a failed append that failed for good (the fake fails them at once; a real producer only
// after a fatal error) are settled by appending the very same envelopes again (same bytes, same
// event ids, same order) before the projection is asked to catch up, and only then is the next
// command decided.
TEST_F(DeciderTest, AFailedAppendIsSettledByReappendingTheSameEnvelopesBeforeResyncAndTheNextDecision) {
  struct ResyncCall {
    size_t attempted;  // messages handed to the publisher by then
    int decided;       // commands decided by then
  };
  std::mutex mu;
  std::vector<ResyncCall> resyncs;  // guarded by mu
  DeciderOptions options;
  options.resync = [&](absl::Duration) -> Status {
    std::lock_guard lock(mu);
    resyncs.push_back({publisher_->attempted().size(), logic_.decided.load()});
    return absl::OkStatus();
  };
  auto decider = Start(options);

  publisher_->FailNextAppends(1, absl::UnavailableError("broker went away"));
  auto chunk = decider->ExecuteAll({{"a"}, {"b"}}, caller_);
  ASSERT_EQ(chunk.size(), 2u);
  for (const auto& r : chunk) EXPECT_THAT(r, StatusIs(Code::kUnavailable, HasSubstr("broker went away")));
  const std::vector<std::string> failed_chunk = publisher_->attempted();
  ASSERT_EQ(failed_chunk.size(), 2u);
  EXPECT_TRUE(publisher_->log.published().empty());
  EXPECT_EQ(logic_.decided, 2);
  EXPECT_THAT(decider->Health(), StatusIs(Code::kUnavailable, HasSubstr("waiting to resync after a failed append")));

  // Kafka is back (the failure was for the first append only). The next command waits for the
  // failed chunk to be settled.
  auto next = decider->Execute({"c"}, caller_);
  ASSERT_THAT(next, IsOkAndHolds(Field(&Counted::version, 1)));
  EXPECT_EQ(logic_.decided, 3);

  const std::vector<std::string> attempted = publisher_->attempted();
  ASSERT_EQ(attempted.size(), 5u) << "the failed chunk, its re-append, the new command's event";
  EXPECT_EQ(attempted[2], failed_chunk[0]) << "the first envelope again, byte for byte";
  EXPECT_EQ(attempted[3], failed_chunk[1]) << "the second envelope again, byte for byte, in order";
  for (size_t k = 0; k < 2; ++k) {
    const EventEnvelope first = events::Decode(failed_chunk[k]).value();
    const EventEnvelope again = events::Decode(attempted[2 + k]).value();
    EXPECT_EQ(again.event_id(), first.event_id()) << "the same event, not a new decision";
    EXPECT_EQ(again.aggregate_id(), k == 0 ? "a" : "b");
    EXPECT_EQ(again.aggregate_version(), 1);
  }
  const EventEnvelope decided_after = events::Decode(attempted[4]).value();
  EXPECT_EQ(decided_after.aggregate_id(), "c") << "the new command's event comes after the re-append";
  EXPECT_THAT(publisher_->chunk_sizes(), ElementsAre(2u, 2u, 1u)) << "the re-append is one round trip";
  const auto log = publisher_->log.published();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].value, failed_chunk[0]);
  EXPECT_EQ(log[1].value, failed_chunk[1]);
  EXPECT_EQ(log[2].value, attempted[4]);

  {
    std::lock_guard lock(mu);
    ASSERT_EQ(resyncs.size(), 1u) << "one resync, once the re-append was acknowledged";
    EXPECT_EQ(Metric("sales_decider_reappended_events_total"), 2);
    EXPECT_EQ(resyncs[0].attempted, 4u) << "resync ran after the re-append and before the new event";
    EXPECT_EQ(resyncs[0].decided, 2) << "the new command was decided only after the resync";
  }
  EXPECT_THAT(decider->Health(), IsOk());
}

// While the re-append itself fails, nothing is decided and the projection is not asked to resync:
// the outcome of the failed chunk is still unknown. It is settled once Kafka takes it.
TEST_F(DeciderTest, WhileTheReappendOfAFailedAppendFailsNothingIsDecidedAndTheDeciderStaysUnavailable) {
  std::atomic<int> resyncs{0};
  DeciderOptions options;
  options.resync = [&](absl::Duration) -> Status {
    ++resyncs;
    return absl::OkStatus();
  };
  auto decider = Start(options);

  publisher_->log.FailWith(absl::UnavailableError("broker down"));  // until healed
  auto chunk = decider->ExecuteAll({{"a"}, {"b"}}, caller_);
  ASSERT_EQ(chunk.size(), 2u);
  for (const auto& r : chunk) EXPECT_THAT(r, StatusIs(Code::kUnavailable, HasSubstr("broker down")));
  const std::vector<std::string> failed_chunk = publisher_->attempted();
  ASSERT_EQ(failed_chunk.size(), 2u);

  EXPECT_THAT(decider->Execute({"c"}, caller_),
              StatusIs(Code::kUnavailable,
                       "recovering from a failed append (re-appending the events of a failed append: broker down); "
                       "retry with the same idempotency key"));
  EXPECT_EQ(logic_.decided, 2) << "the new command was not decided";
  EXPECT_EQ(resyncs, 0) << "no resync before the failed chunk is settled";
  EXPECT_THAT(decider->Health(), StatusIs(Code::kUnavailable, HasSubstr("waiting to resync after a failed append")));
  // Every attempt since (the command's, and any of the idle decider's) was the failed chunk again.
  const std::vector<std::string> attempted = publisher_->attempted();
  ASSERT_GE(attempted.size(), 4u);
  ASSERT_EQ(attempted.size() % 2, 0u);
  for (size_t k = 2; k < attempted.size(); ++k) {
    EXPECT_EQ(attempted[k], failed_chunk[k % 2]) << "attempt " << k;
  }
  EXPECT_TRUE(publisher_->log.published().empty());

  // Kafka is back: the same envelopes are settled first, then the next command is decided.
  publisher_->log.FailWith(absl::OkStatus());
  ASSERT_THAT(decider->Execute({"c"}, caller_), IsOkAndHolds(Field(&Counted::version, 1)));
  EXPECT_EQ(resyncs, 1);
  const auto log = publisher_->log.published();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].value, failed_chunk[0]);
  EXPECT_EQ(log[1].value, failed_chunk[1]);
  EXPECT_EQ(events::Decode(log[2].value).value().aggregate_id(), "c");
  EXPECT_THAT(decider->Health(), IsOk());
}

// An append not acknowledged in time whose events the producer still holds (it retries them
// unchanged until the broker has them) is settled by waiting for them, not by appending them again:
// once they land, the log has each event once.
TEST_F(DeciderTest, AnAppendAcknowledgedLateIsWaitedForNotAppendedAgain) {
  std::atomic<int> resyncs{0};
  DeciderOptions options;
  options.publish_timeout = absl::Milliseconds(50);
  options.resync = [&](absl::Duration) -> Status {
    ++resyncs;
    return absl::OkStatus();
  };
  auto decider = Start(options);

  publisher_->AcknowledgeNextAppendLate();
  auto chunk = decider->ExecuteAll({{"a"}, {"b"}}, caller_);
  ASSERT_EQ(chunk.size(), 2u);
  for (const auto& r : chunk) {
    EXPECT_THAT(r, StatusIs(Code::kUnavailable, HasSubstr("no acknowledgement within 50ms; the message may still be "
                                                          "written")));
  }
  const std::vector<std::string> failed_chunk = publisher_->attempted();
  ASSERT_EQ(failed_chunk.size(), 2u);

  // Still not acknowledged: nothing is decided, nothing appended again.
  EXPECT_THAT(decider->Execute({"c"}, caller_),
              StatusIs(Code::kUnavailable, HasSubstr("Kafka has not acknowledged the 2 events of the failed append "
                                                     "yet")));
  EXPECT_EQ(logic_.decided, 2);
  EXPECT_EQ(resyncs, 0);
  EXPECT_THAT(decider->Health(), StatusIs(Code::kUnavailable, HasSubstr("waiting to resync after a failed append")));

  // The broker takes them: settled, the projection catches up, and the next command is decided.
  publisher_->Land();
  ASSERT_THAT(decider->Execute({"c"}, caller_), IsOkAndHolds(Field(&Counted::version, 1)));
  EXPECT_EQ(resyncs, 1);
  EXPECT_EQ(publisher_->attempted().size(), 3u) << "the late chunk and the new command's event, nothing again";
  const auto log = publisher_->log.published();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].value, failed_chunk[0]);
  EXPECT_EQ(log[1].value, failed_chunk[1]);
  EXPECT_EQ(events::Decode(log[2].value).value().aggregate_id(), "c");
  EXPECT_EQ(Metric("sales_decider_reappended_events_total"), 0);
  EXPECT_THAT(decider->Health(), IsOk());
}

// ---- pipelining: the next chunk is decided during the round trip of the one before ----

// True once `condition` holds; false after 30 s (the test then fails rather than hangs).
bool Eventually(const std::function<bool()>& condition) {
  for (int i = 0; i < 3000; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

class DeciderPipelineTest : public DeciderTest {
 protected:
  // Executes `add` on its own thread with its append held in flight (acknowledged at
  // publisher_->Land()); returns once it is appended.
  std::future<StatusOr<Counted>> HeldInFlight(Decider<Add, Counted>& decider, Add add) {
    publisher_->AcknowledgeNextAppendLate();
    const size_t before = publisher_->attempted().size();
    auto answer = std::async(std::launch::async, [this, &decider, add] { return decider.Execute(add, caller_); });
    EXPECT_TRUE(Eventually([&] { return publisher_->attempted().size() == before + 1; }));
    return answer;
  }
};

// While a chunk waits for Kafka's acknowledgement, the commands that came meanwhile are decided as
// if it were committed, and appended; it is then committed and answered first, the next one after
// it, each batch as it was decided.
TEST_F(DeciderPipelineTest, WhileAChunkWaitsForItsAcknowledgementTheNextIsDecidedOnItAndAppended) {
  DeciderOptions options;
  options.publish_timeout = absl::Seconds(30);
  options.decide_ahead_from = 1;
  auto decider = Start(options);
  auto first = HeldInFlight(*decider, {"a", 1});
  // Decided on the first command's version 1, which is not in the store yet.
  auto second = std::async(std::launch::async, [&] { return decider->Execute({"a", 2, /*expected_version=*/1}, caller_); });
  ASSERT_TRUE(Eventually([&] { return publisher_->attempted().size() == 2; }))
      << "the second command waited for the first one's acknowledgement";
  EXPECT_EQ(second.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout)
      << "answered before the command it was decided on";
  EXPECT_EQ(Stored("a").version, 0) << "committed before Kafka acknowledged it";

  publisher_->Land();
  EXPECT_THAT(first.get(), IsOkAndHolds(AllOf(Field(&Counted::version, 1), Field(&Counted::count, 1))));
  EXPECT_THAT(second.get(), IsOkAndHolds(AllOf(Field(&Counted::version, 2), Field(&Counted::count, 3))));
  const std::vector<std::string> attempted = publisher_->attempted();
  ASSERT_EQ(attempted.size(), 2u);
  EXPECT_EQ(events::Decode(attempted[0]).value().aggregate_version(), 1);
  EXPECT_EQ(events::Decode(attempted[1]).value().aggregate_version(), 2);
  EXPECT_EQ(Stored("a").version, 2);
  EXPECT_EQ(Stored("a").count, 3);
  EXPECT_EQ(Commits(), 2u);
  EXPECT_EQ(AppliedCount(), 2);
  EXPECT_EQ(Metric("sales_decider_reapplied_chunks_total"), 0) << "a batch decided on the chunk before was kept";
  EXPECT_EQ(Metric("sales_decider_decided_ahead_chunks_total"), 1);
}

// By default only a backlog of a whole chunk is decided during a round trip: fewer commands wait
// for the chunk in flight and go together after it (group commit, no smaller chunks).
TEST_F(DeciderPipelineTest, FewerThanAChunkQueuedWaitForTheChunkInFlightAndGoTogetherAfterIt) {
  DeciderOptions options;
  options.publish_timeout = absl::Seconds(30);
  options.max_chunk = 3;
  auto decider = Start(options);
  auto first = HeldInFlight(*decider, {"a", 1});
  auto second = std::async(std::launch::async, [&] { return decider->ExecuteAll({{"b", 1}, {"c", 1}}, caller_); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(publisher_->attempted().size(), 1u) << "two commands of a chunk of three decided during the round trip";
  publisher_->Land();
  EXPECT_THAT(first.get(), IsOk());
  for (const auto& r : second.get()) EXPECT_THAT(r, IsOk());
  EXPECT_THAT(publisher_->chunk_sizes(), ElementsAre(1u, 2u));
  EXPECT_EQ(Metric("sales_decider_decided_ahead_chunks_total"), 0);

  // Three queued (a whole chunk) are decided during the round trip.
  auto third = HeldInFlight(*decider, {"a", 1});
  auto fourth = std::async(std::launch::async, [&] { return decider->ExecuteAll({{"b", 1}, {"c", 1}, {"d", 1}}, caller_); });
  ASSERT_TRUE(Eventually([&] { return publisher_->attempted().size() == 7; }));
  publisher_->Land();
  EXPECT_THAT(third.get(), IsOk());
  for (const auto& r : fourth.get()) EXPECT_THAT(r, IsOk());
  EXPECT_THAT(publisher_->chunk_sizes(), ElementsAre(1u, 2u, 1u, 3u));
  EXPECT_EQ(Metric("sales_decider_decided_ahead_chunks_total"), 1);
}

// The runner committed while the chunk in flight waited, so that chunk is applied again onto the
// store as it is now; the chunk decided on it (on rows that were never committed) is applied
// again too, not committed as decided.
TEST_F(DeciderPipelineTest, AChunkDecidedOnOneThatWasAppliedAgainIsAppliedAgainToo) {
  DeciderOptions options;
  options.publish_timeout = absl::Seconds(30);
  options.decide_ahead_from = 1;
  auto decider = Start(options);
  Status runner = absl::UnknownError("the runner did not run");
  publisher_->DuringNextAppend([&](const std::vector<kafka::OutgoingMessage>&) {
    runner = RunnerApplies(*applier_, {ToRecord("other", 0, CounterEvent("z", 1, 7, clock_))});
  });
  auto first = HeldInFlight(*decider, {"a", 1});
  auto second = std::async(std::launch::async, [&] { return decider->Execute({"a", 2, /*expected_version=*/1}, caller_); });
  ASSERT_TRUE(Eventually([&] { return publisher_->attempted().size() == 2; }));
  publisher_->Land();
  EXPECT_THAT(first.get(), IsOkAndHolds(Field(&Counted::version, 1)));
  EXPECT_THAT(second.get(), IsOkAndHolds(AllOf(Field(&Counted::version, 2), Field(&Counted::count, 3))));
  ASSERT_THAT(runner, IsOk());
  EXPECT_EQ(Metric("sales_decider_reapplied_chunks_total"), 2);
  EXPECT_EQ(Stored("a").version, 2);
  EXPECT_EQ(Stored("a").count, 3);
  EXPECT_EQ(Stored("z").count, 7);
  EXPECT_EQ(DecodeSums(store_->Get(kCounters, kTotal).value().value()).value(), (std::vector<int64_t>{10}));
}

// The chunk decided on one whose append failed fails with it, although its own append went
// through: nothing of either is committed, and both are settled before the next decision.
TEST_F(DeciderPipelineTest, WhenTheChunkInFlightIsNotAcknowledgedTheOneDecidedOnItFailsWithIt) {
  std::atomic<int> resyncs{0};
  DeciderOptions options;
  options.publish_timeout = absl::Seconds(1);
  options.decide_ahead_from = 1;
  options.resync = [&](absl::Duration) -> Status {
    ++resyncs;
    return absl::OkStatus();
  };
  auto decider = Start(options);
  auto first = HeldInFlight(*decider, {"a", 1});
  auto second = std::async(std::launch::async, [&] { return decider->Execute({"b", 1}, caller_); });
  ASSERT_TRUE(Eventually([&] { return publisher_->attempted().size() == 2; }));
  EXPECT_THAT(first.get(), StatusIs(Code::kUnavailable, HasSubstr("no acknowledgement within 1s")));
  EXPECT_THAT(second.get(), StatusIs(Code::kUnavailable, HasSubstr("the append of the commands before failed; retry "
                                                                   "with the same idempotency key")));
  EXPECT_EQ(publisher_->log.published().size(), 1u) << "the second chunk's event is in the log";
  EXPECT_EQ(Commits(), 0u);
  EXPECT_EQ(Stored("a").version, 0);
  EXPECT_EQ(Stored("b").version, 0);
  EXPECT_THAT(decider->Health(), StatusIs(Code::kUnavailable, HasSubstr("waiting to resync after a failed append")));

  // The late chunk lands: both are settled (nothing appended again), then the next is decided.
  publisher_->Land();
  ASSERT_THAT(decider->Execute({"c"}, caller_), IsOkAndHolds(Field(&Counted::version, 1)));
  EXPECT_EQ(resyncs, 1);
  EXPECT_EQ(publisher_->attempted().size(), 3u);
  EXPECT_EQ(Metric("sales_decider_reappended_events_total"), 0);
  EXPECT_THAT(decider->Health(), IsOk());
}

// A decision that reads a row the chunk in flight changes only by a merge (a sum) cannot read it
// through that chunk: it is decided again once that chunk is committed, and sees its sum.
TEST_F(DeciderPipelineTest, ADecisionReadingARowTheChunkInFlightMergesIntoIsDecidedAgainOnceThatChunkIsCommitted) {
  DeciderOptions options;
  options.publish_timeout = absl::Seconds(30);
  options.decide_ahead_from = 1;
  auto decider = Start(options);
  auto first = HeldInFlight(*decider, {"a", 5});
  Add reads_total{"b", 1};
  reads_total.read_total = true;
  auto second = std::async(std::launch::async, [&] { return decider->Execute(reads_total, caller_); });
  EXPECT_EQ(second.wait_for(std::chrono::milliseconds(300)), std::future_status::timeout);
  EXPECT_EQ(publisher_->attempted().size(), 1u) << "decided without the sum of the chunk in flight";

  publisher_->Land();
  EXPECT_THAT(first.get(), IsOk());
  EXPECT_THAT(second.get(), IsOkAndHolds(Field(&Counted::count, 6))) << "the first command's 5, then its own 1";
  EXPECT_EQ(Metric("sales_decider_redecided_chunks_total"), 1);
  EXPECT_EQ(Commits(), 2u);
  EXPECT_EQ(DecodeSums(store_->Get(kCounters, kTotal).value().value()).value(), (std::vector<int64_t>{6}));
}

// Unit-test mode: with no projection to catch up (no resync function), a failed chunk is forgotten,
// not appended again.
TEST_F(DeciderTest, WithoutAResyncFunctionAFailedChunkIsNotReappended) {
  auto decider = Start();
  publisher_->FailNextAppends(1, absl::UnavailableError("broker went away"));
  auto chunk = decider->ExecuteAll({{"a"}, {"b"}}, caller_);
  for (const auto& r : chunk) EXPECT_THAT(r, StatusIs(Code::kUnavailable, HasSubstr("broker went away")));
  const std::vector<std::string> failed_chunk = publisher_->attempted();
  ASSERT_EQ(failed_chunk.size(), 2u);

  ASSERT_THAT(decider->Execute({"c"}, caller_), IsOkAndHolds(Field(&Counted::version, 1)));
  const std::vector<std::string> attempted = publisher_->attempted();
  ASSERT_EQ(attempted.size(), 3u) << "the failed chunk and the new command's event, nothing re-appended";
  EXPECT_EQ(events::Decode(attempted[2]).value().aggregate_id(), "c");
  EXPECT_THAT(publisher_->chunk_sizes(), ElementsAre(2u, 1u));
  const auto log = publisher_->log.published();
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].value, attempted[2]);
  EXPECT_THAT(decider->Health(), IsOk());
}

// ---- the store moved during the append ----

// The runner applied the chunk's own events (read back from the log) and committed, while the
// decider waited for the acknowledgement: they are recognised as duplicates, not counted twice.
TEST_F(DeciderTest, EventsTheRunnerAppliedDuringTheAppendAreNotAppliedTwice) {
  auto decider = Start();
  ASSERT_THAT(decider->Execute({"m", 5}, caller_), IsOk());
  ASSERT_EQ(Commits(), 1u);
  Status runner = absl::UnknownError("the runner did not run");
  publisher_->DuringNextAppend([&](const std::vector<kafka::OutgoingMessage>& messages) {
    std::vector<projection::Record> records;
    int64_t offset = 1;
    for (const auto& m : messages) records.push_back({m.topic, 0, offset++, m.key, m.value, m.headers});
    runner = RunnerApplies(*applier_, records);
  });
  auto results = decider->ExecuteAll({{"m", 10}, {"m", 100}, {"n", 1}}, caller_);
  ASSERT_THAT(runner, IsOk());
  EXPECT_THAT(results[0], IsOkAndHolds(Field(&Counted::count, 15)));
  EXPECT_THAT(results[1], IsOkAndHolds(Field(&Counted::count, 115)));
  EXPECT_THAT(results[2], IsOkAndHolds(Field(&Counted::count, 1)));
  EXPECT_EQ(Stored("m").version, 3);
  EXPECT_EQ(Stored("m").count, 115) << "not 225: the chunk was not applied on top of itself";
  EXPECT_EQ(Stored("n").count, 1);
  EXPECT_EQ(AppliedCount(), 4) << "each of the four events counted once";
  EXPECT_EQ(Commits(), 3u);
  EXPECT_EQ(Metric("sales_decider_reapplied_chunks_total"), 1);
  EXPECT_THAT(decider->Health(), IsOk());
}

// The runner committed rows of another stream meanwhile: the decided events are applied again onto
// the store as it is now, and both survive.
TEST_F(DeciderTest, RowsTheRunnerCommittedDuringTheAppendAreKeptAndTheChunkIsAppliedOnTop) {
  auto decider = Start();
  ASSERT_THAT(decider->Execute({"m", 5}, caller_), IsOk());
  Status runner = absl::UnknownError("the runner did not run");
  publisher_->DuringNextAppend([&](const std::vector<kafka::OutgoingMessage>&) {
    runner = RunnerApplies(*applier_, {ToRecord("t.other", 0, CounterEvent("other", 1, 7, clock_)),
                                       ToRecord("t.other", 1, CounterEvent("other", 2, 7, clock_))});
  });
  auto results = decider->ExecuteAll({{"m", 10}, {"m", 100}}, caller_);
  ASSERT_THAT(runner, IsOk());
  EXPECT_THAT(results[1], IsOkAndHolds(Field(&Counted::version, 3)));
  EXPECT_EQ(Stored("m").version, 3);
  EXPECT_EQ(Stored("m").count, 115);
  EXPECT_EQ(Stored("other").version, 2);
  EXPECT_EQ(Stored("other").count, 14);
  EXPECT_EQ(AppliedCount(), 5);
  EXPECT_EQ(Metric("sales_decider_reapplied_chunks_total"), 1);
  // The command path marked what it applied ahead of the runner, at the positions Kafka gave.
  EXPECT_TRUE(store_->Get(Store::kMetaFamily, projection::AppliedAheadKey("counters", kTopic, 0, 1)).value());
  EXPECT_TRUE(store_->Get(Store::kMetaFamily, projection::AppliedAheadKey("counters", kTopic, 0, 2)).value());
}

// The runner committed during the append, but only offsets and counters (meta family), e.g. for
// records it skipped: the chunk's batch still rests on the current rows and is committed as it is.
// Only a commit that changes rows makes the decider apply the chunk again.
class DeciderRunnerCommitTest : public DeciderTest, public ::testing::WithParamInterface<bool> {};

TEST_P(DeciderRunnerCommitTest, OnlyARunnerCommitThatChangesRowsMakesTheChunkBeReapplied) {
  const bool changes_rows = GetParam();
  auto decider = Start();
  ASSERT_THAT(decider->Execute({"m", 5}, caller_), IsOk());
  ASSERT_EQ(Commits(), 1u);
  Status runner = absl::UnknownError("the runner did not run");
  publisher_->DuringNextAppend([&](const std::vector<kafka::OutgoingMessage>&) {
    std::unique_lock lock(applier_->mutex(), std::try_to_lock);
    if (!lock.owns_lock()) {
      runner = absl::InternalError("the projection's lock is held during the append");
      return;
    }
    Batch batch = store_->NewBatch();
    batch.SetOffset("counters", "t.other", 0, 1);
    runner = batch.AddToCounter(projection::SkippedCounter("counters"), 1);
    if (runner.ok()) runner = applier_->Commit(batch, changes_rows);
  });
  auto results = decider->ExecuteAll({{"m", 10}, {"n", 1}}, caller_);
  ASSERT_THAT(runner, IsOk());
  EXPECT_THAT(results[0], IsOkAndHolds(::testing::AllOf(Field(&Counted::version, 2), Field(&Counted::count, 15))));
  EXPECT_THAT(results[1], IsOkAndHolds(::testing::AllOf(Field(&Counted::version, 1), Field(&Counted::count, 1))));

  EXPECT_EQ(Metric("sales_decider_reapplied_chunks_total"), changes_rows ? 1 : 0)
      << (changes_rows ? "rows changed: re-applied" : "only meta written: committed without re-applying");
  EXPECT_EQ(Commits(), changes_rows ? 3u : 2u) << "row-changing commits: the first command's, the runner's if it "
                                                  "changed rows, the chunk's";
  // Either way the chunk's rows and the runner's meta writes are all there, once.
  EXPECT_EQ(Stored("m").version, 2);
  EXPECT_EQ(Stored("m").count, 15);
  EXPECT_EQ(Stored("n").count, 1);
  EXPECT_EQ(AppliedCount(), 3);
  EXPECT_EQ(store_->GetOffset("counters", "t.other", 0).value(), std::optional<int64_t>(1));
  EXPECT_EQ(store_->GetCounter(projection::SkippedCounter("counters")).value(), 1);
  EXPECT_TRUE(store_->Get(Store::kMetaFamily, projection::AppliedAheadKey("counters", kTopic, 0, 1)).value());
  EXPECT_TRUE(store_->Get(Store::kMetaFamily, projection::AppliedAheadKey("counters", kTopic, 0, 2)).value());
  EXPECT_THAT(decider->Health(), IsOk());
}

INSTANTIATE_TEST_SUITE_P(RunnerCommitDuringTheAppend, DeciderRunnerCommitTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "ChangesRows" : "OnlyMeta";
                         });

TEST_F(DeciderTest, TheProjectionLockIsFreeDuringTheAppend) {
  auto decider = Start();
  bool lock_was_free = false;
  publisher_->DuringNextAppend([&](const std::vector<kafka::OutgoingMessage>&) {
    lock_was_free = applier_->mutex().try_lock();
    if (lock_was_free) applier_->mutex().unlock();
  });
  ASSERT_THAT(decider->Execute({"l"}, caller_), IsOk());
  EXPECT_TRUE(lock_was_free);
  // Queries and the runner keep going while a chunk waits for Kafka.
  publisher_->Hold();
  std::thread in_flight([&] { EXPECT_THAT(decider->Execute({"l"}, caller_), IsOk()); });
  EXPECT_TRUE(publisher_->WaitUntilInFlight());
  EXPECT_THAT(RunnerApplies(*applier_, {ToRecord("t.other", 0, CounterEvent("o", 1, 1, clock_))}), IsOk());
  publisher_->Release();
  in_flight.join();
  EXPECT_EQ(Stored("l").version, 2);
}

// A rebuild's switch-over swaps the store's database under the projection's lock while commands
// wait for it: they decide on the new database and commit into it (a batch made before the swap
// would read the old rows and land, unseen, in the database switched out).
TEST_F(DeciderTest, ACommandWaitingThroughASwitchOverDecidesOnAndCommitsIntoTheNewDatabase) {
  auto decider = Start();
  ASSERT_THAT(decider->Execute({"m", 5}, caller_), IsOk());
  testing::TempDir rebuilt_dir;
  auto rebuilt = Store::Open({.path = rebuilt_dir.path(), .column_families = projection_.column_families()}).value();
  {
    Batch batch = rebuilt->NewBatch();
    for (int64_t v = 1; v <= 3; ++v) ASSERT_THAT(projection_.Apply(ToRecord(kTopic, v, CounterEvent("m", v, 10, clock_)), batch), IsOk());
    ASSERT_THAT(rebuilt->Commit(batch), IsOk());
  }
  std::future<StatusOr<Counted>> answer;
  {
    std::lock_guard switching(applier_->mutex());
    answer = std::async(std::launch::async, [&] { return decider->Execute({"m", 1}, caller_); });
    // Give the command time to reach the lock (without the fix it made its batch by then).
    absl::SleepFor(absl::Milliseconds(200));
    ASSERT_THAT(store_->SwapDatabase(*rebuilt), IsOk());
    applier_->StoreReplaced();
  }
  EXPECT_THAT(answer.get(), IsOkAndHolds(::testing::AllOf(Field(&Counted::version, 4), Field(&Counted::count, 31))));
  EXPECT_EQ(Stored("m").version, 4);
  EXPECT_EQ(Stored("m").count, 31);
  EXPECT_EQ(LoadCounter(*rebuilt, "m").value().version, 1) << "nothing written into the database switched out";
  EXPECT_THAT(decider->Health(), IsOk());
}

// ---- expected versions ----

TEST(CheckExpectedVersion, ZeroOrTheActualVersionPassesAnythingElseIsAborted) {
  EXPECT_THAT(CheckExpectedVersion(0, 7, "counter a"), IsOk());
  EXPECT_THAT(CheckExpectedVersion(7, 7, "counter a"), IsOk());
  EXPECT_THAT(CheckExpectedVersion(6, 7, "counter a"),
              StatusIs(Code::kAborted, "counter a is at version 7, not the expected 6: read it again and retry"));
  EXPECT_THAT(CheckExpectedVersion(8, 7, "x"), StatusIs(Code::kAborted, HasSubstr("not the expected 8")));
}

TEST_F(DeciderTest, AStaleExpectedVersionIsAbortedAndAppendsNothing) {
  auto decider = Start();
  ASSERT_THAT(decider->Execute({"v"}, caller_), IsOk());
  EXPECT_THAT(decider->Execute({"v", 1, /*expected_version=*/2}, caller_),
              StatusIs(Code::kAborted, HasSubstr("counter v is at version 1, not the expected 2")));
  EXPECT_EQ(publisher_->Appended().size(), 1u);
  EXPECT_THAT(decider->Execute({"v", 1, /*expected_version=*/1}, caller_), IsOkAndHolds(Field(&Counted::version, 2)));
}

// ---- the event factory ----

TEST(EventFactory, FillsTheEnvelopeFromTheCommandAndTheCaller) {
  testing::FakeClock clock;
  EventFactory factory("counter-test", &clock);
  EventEnvelope e = factory.New("counter", "a", 3, "counter.added", 2, "Add", "key-1", "hash-1", {"corr-9", "alice"});
  EXPECT_TRUE(IsUuid(e.event_id())) << e.event_id();
  EXPECT_EQ(e.aggregate_type(), "counter");
  EXPECT_EQ(e.aggregate_id(), "a");
  EXPECT_EQ(e.aggregate_version(), 3);
  EXPECT_EQ(e.event_type(), "counter.added");
  EXPECT_EQ(e.schema_version(), 2u);
  EXPECT_EQ(e.causation_id(), "Add:key-1");
  EXPECT_EQ(e.idempotency_key(), "key-1");
  EXPECT_EQ(e.command_hash(), "hash-1");
  EXPECT_EQ(e.correlation_id(), "corr-9");
  EXPECT_EQ(e.actor(), "alice");
  EXPECT_EQ(e.producer(), "counter-test");
  EXPECT_EQ(events::FromProto(e.occurred_at()), clock.Now());
  EXPECT_NE(factory.New("counter", "a", 4, "counter.added", 2, "Add", "key-2", "", {}).event_id(), e.event_id());
}

TEST(EventFactory, TimesNeverGoBackwardsWhenTheClockStepsBack) {
  testing::FakeClock clock;
  EventFactory factory("p", &clock);
  auto at = [&](const EventEnvelope& e) { return events::FromProto(e.occurred_at()); };
  const EventEnvelope first = factory.New("counter", "a", 1, "t", 1, "Add", "k1", "", {});
  EXPECT_EQ(at(first), clock.Now());
  clock.Advance(absl::Seconds(-30));  // e.g. NTP steps the clock back
  const EventEnvelope second = factory.New("counter", "a", 2, "t", 1, "Add", "k2", "", {});
  EXPECT_EQ(at(second), at(first) + absl::Nanoseconds(1));
  EXPECT_EQ(events::FromProto(second.recorded_at()), at(second));
  const EventEnvelope third = factory.New("counter", "b", 1, "t", 1, "Add", "k3", "", {});
  EXPECT_EQ(at(third), at(second) + absl::Nanoseconds(1)) << "the same instant twice is moved on too";
  clock.Advance(absl::Seconds(60));
  const EventEnvelope fourth = factory.New("counter", "b", 2, "t", 1, "Add", "k4", "", {});
  EXPECT_EQ(at(fourth), clock.Now()) << "the clock's time again once it is ahead";
}

TEST_F(DeciderTest, AppendedEventsAreInTimeOrderAcrossAClockStepBack) {
  auto decider = Start();
  ASSERT_THAT(decider->Execute({"t"}, caller_), IsOk());
  clock_.Advance(absl::Minutes(-5));
  ASSERT_THAT(decider->ExecuteAll({{"t"}, {"u"}}, caller_)[1], IsOk());
  const auto log = publisher_->Appended();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_LT(events::FromProto(log[0].occurred_at()), events::FromProto(log[1].occurred_at()));
  EXPECT_LT(events::FromProto(log[1].occurred_at()), events::FromProto(log[2].occurred_at()));
  EXPECT_EQ(log[0].correlation_id(), "corr-1");
  EXPECT_EQ(log[0].actor(), "tester");
  EXPECT_EQ(log[0].producer(), "counter-test");
}

// ---- the command hash ----

TEST(CommandHash, HashWithoutKeyIgnoresTheKeyAndNothingElse) {
  EventEnvelope request;  // any message with an idempotency_key will do
  request.set_aggregate_id("a");
  request.set_aggregate_version(3);
  request.set_idempotency_key("key-1");
  EventEnvelope retry = request;
  retry.set_idempotency_key("key-2");
  EXPECT_EQ(HashWithoutKey(request), HashWithoutKey(retry));
  EXPECT_EQ(request.idempotency_key(), "key-1") << "the request itself is left as it was";
  EXPECT_THAT(HashWithoutKey(request), ::testing::MatchesRegex("[0-9a-f]{64}"));
  EXPECT_NE(CommandHash(request), CommandHash(retry)) << "CommandHash alone does see the key";
  EventEnvelope keyless = request;
  keyless.clear_idempotency_key();
  EXPECT_EQ(HashWithoutKey(request), CommandHash(keyless));

  EventEnvelope other = request;
  other.set_aggregate_version(4);
  EXPECT_NE(HashWithoutKey(other), HashWithoutKey(request));
  // The same bytes as another request type are another command.
  EXPECT_NE(CommandHash(events::v1::LeadEvent()), CommandHash(events::v1::ManagerEvent()));
}

// ---- the shared status matchers (common/testing has no test target of its own) ----

TEST(StatusMatchers, MatchTheCodeAndTheMessageAndSayWhyNot) {
  const Status aborted = absl::AbortedError("counter a is at version 2");
  EXPECT_THAT(aborted, StatusIs(Code::kAborted));
  EXPECT_THAT(aborted, StatusIs(Code::kAborted, HasSubstr("version 2")));
  EXPECT_THAT(aborted, StatusIs(Code::kAborted, "counter a is at version 2"));
  EXPECT_THAT(aborted, Not(StatusIs(Code::kAborted, "counter a"))) << "a plain string is the whole message";
  EXPECT_THAT(aborted, Not(StatusIs(Code::kAborted, HasSubstr("version 3"))));
  EXPECT_THAT(aborted, Not(StatusIs(Code::kNotFound)));
  EXPECT_THAT(aborted, Not(IsOk()));
  EXPECT_THAT(absl::OkStatus(), IsOk());

  const StatusOr<int> seven = 7;
  const StatusOr<int> missing = absl::NotFoundError("no such counter");
  EXPECT_THAT(seven, IsOk());
  EXPECT_THAT(seven, IsOkAndHolds(7));
  EXPECT_THAT(seven, IsOkAndHolds(::testing::Gt(6)));
  EXPECT_THAT(seven, Not(IsOkAndHolds(8)));
  EXPECT_THAT(missing, Not(IsOkAndHolds(7)));
  EXPECT_THAT(missing, StatusIs(Code::kNotFound, "no such counter"));
  EXPECT_THAT(missing, Not(IsOk()));

  ::testing::StringMatchResultListener why;
  EXPECT_FALSE(::testing::ExplainMatchResult(StatusIs(Code::kNotFound), aborted, &why));
  EXPECT_THAT(why.str(), HasSubstr("ABORTED: counter a is at version 2"));
  ::testing::StringMatchResultListener why_not_ok;
  EXPECT_FALSE(::testing::ExplainMatchResult(IsOkAndHolds(7), missing, &why_not_ok));
  EXPECT_THAT(why_not_ok.str(), HasSubstr("NOT_FOUND: no such counter"));
}

// The runner waits for the command path's appends begun before it polled (so it finds their
// markers), but never for appends begun after it started waiting.
TEST(ApplierHandOff, TheRunnerWaitsForAppendsBegunBeforeItAndOnlyThose) {
  projection::Applier applier(nullptr, nullptr);
  applier.AwaitAppends(absl::Seconds(5));  // nothing in flight: returns at once
  applier.BeginAppend();
  std::atomic<bool> ended{false}, returned{false};
  std::thread runner([&] {
    applier.AwaitAppends(absl::Seconds(5));
    EXPECT_TRUE(ended.load()) << "the runner went on before the append in flight was committed";
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(returned.load());
  applier.BeginAppend();  // a later append: not waited for
  ended = true;
  applier.EndAppend();
  runner.join();
  EXPECT_TRUE(returned.load());
  // Bounded: an append never ended lets the runner go on after the limit.
  const absl::Time start = absl::Now();
  applier.AwaitAppends(absl::Milliseconds(50));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(40));
  applier.EndAppend();
}

}  // namespace
}  // namespace sales::command
