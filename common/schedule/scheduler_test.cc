// The scheduler against a real store and an injected clock: a row fires only once the clock has
// reached it, oldest first, at most max_per_tick per tick; a row the projection deleted (the fact
// was appended) is not fired again, one it kept (the append failed) is. DueKey sorts by time.
#include "common/schedule/scheduler.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/testing/fake_clock.h"
#include "common/testing/status_matchers.h"
#include "common/testing/temp_dir.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sales::schedule {
namespace {

using testing::IsOk;
using testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;

constexpr char kDue[] = "due";
const absl::Time kStart = absl::FromUnixSeconds(1767225600);  // FakeClock's start: 2026-01-01

std::vector<std::string> Ids(const std::vector<DueItem>& items) {
  std::vector<std::string> ids;
  for (const auto& item : items) ids.push_back(item.id);
  return ids;
}

// Records every tick's fire, and plays the projection: deletes the rows of the facts it was told
// to append, except those listed in `keep` (their append "failed").
class Recorder {
 public:
  explicit Recorder(Store* store) : store_(store) {}

  void Fire(const std::vector<DueItem>& due, absl::Time now) {
    Batch batch = store_->NewBatch();
    {
      std::lock_guard lock(mu_);
      for (const auto& item : due) {
        if (!keep_.count(item.id)) batch.Delete(kDue, DueKey(item.due, item.id));
      }
    }
    EXPECT_THAT(store_->Commit(batch), IsOk());
    std::lock_guard lock(mu_);
    calls_.push_back({due, now});
    cv_.notify_all();
  }

  struct Call {
    std::vector<DueItem> due;
    absl::Time now;  // the clock when fire was called
  };
  static int FiredIn(const std::vector<Call>& calls, const std::string& id) {
    int n = 0;
    for (const auto& c : calls) {
      for (const auto& item : c.due) n += item.id == id;
    }
    return n;
  }

  // Waits (bounded) until `pred` holds over the calls so far: the scheduler ticks on its own thread.
  template <typename Pred>
  bool WaitFor(Pred pred) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return pred(calls_); });
  }
  // Waits for `n` more ticks (fire calls) than so far.
  bool WaitTicks(size_t n) {
    std::unique_lock lock(mu_);
    const size_t target = calls_.size() + n;
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return calls_.size() >= target; });
  }
  bool WaitFired(const std::string& id, int times = 1) {
    return WaitFor([&](const std::vector<Call>& calls) { return FiredIn(calls, id) >= times; });
  }
  std::vector<Call> calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  int Fired(const std::string& id) {
    std::lock_guard lock(mu_);
    return FiredIn(calls_, id);
  }
  void Keep(const std::string& id) {
    std::lock_guard lock(mu_);
    keep_.insert(id);
  }
  void Release(const std::string& id) {
    std::lock_guard lock(mu_);
    keep_.erase(id);
  }

 private:
  Store* store_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Call> calls_;
  std::set<std::string> keep_;
};

class SchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = Store::Open({.path = dir_.path(), .column_families = {kDue}}).value(); }

  void Put(absl::Time due, const std::string& id, const std::string& value = "") {
    Batch batch = store_->NewBatch();
    batch.Put(kDue, DueKey(due, id), value);
    ASSERT_THAT(store_->Commit(batch), IsOk());
  }

  std::unique_ptr<Scheduler> Make(size_t max_per_tick = 1000) {
    return std::make_unique<Scheduler>(
        SchedulerOptions{.name = "test", .family = kDue, .tick = absl::Milliseconds(2), .max_per_tick = max_per_tick},
        store_.get(), &clock_, &metrics_,
        [this](const std::vector<DueItem>& due) { recorder_->Fire(due, clock_.Now()); });
  }

  testing::TempDir dir_;
  testing::FakeClock clock_;
  MetricsRegistry metrics_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Recorder> recorder_;
};

TEST(DueKey, SortsByTimeThenIdWhateverTheIds) {
  const absl::Time t = kStart;
  EXPECT_LT(DueKey(t, "zzz"), DueKey(t + absl::Nanoseconds(1), "aaa"));
  EXPECT_LT(DueKey(t + absl::Nanoseconds(255), "b"), DueKey(t + absl::Nanoseconds(256), "a")) << "a byte boundary";
  EXPECT_LT(DueKey(t + absl::Seconds(1), "z"), DueKey(t + absl::Hours(24 * 365), "a"));
  EXPECT_LT(DueKey(absl::FromUnixSeconds(-10), "z"), DueKey(absl::UnixEpoch(), "a")) << "before 1970 too";
  EXPECT_LT(DueKey(t, "a"), DueKey(t, "b"));
  EXPECT_EQ(DueKey(t, "offer-1").size(), 8u + 7u);
  EXPECT_EQ(DueKey(t, "offer-1").substr(8), "offer-1");
}

TEST(DueKey, RowsComeBackWithTheirTimeIdAndValue) {
  testing::TempDir dir;
  auto store = Store::Open({.path = dir.path(), .column_families = {kDue}}).value();
  Batch batch = store->NewBatch();
  batch.Put(kDue, DueKey(kStart + absl::Milliseconds(1500), "o-1"), "payload");
  ASSERT_THAT(store->Commit(batch), IsOk());
  auto due = Scheduler::Due(*store, kDue, kStart + absl::Hours(1), 10);
  ASSERT_THAT(due, IsOk());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].due, kStart + absl::Milliseconds(1500));
  EXPECT_EQ((*due)[0].id, "o-1");
  EXPECT_EQ((*due)[0].value, "payload");
}

TEST_F(SchedulerTest, DueListsWhatTheClockHasReachedOldestFirstUpToTheLimit) {
  // Written out of order, with ids that sort against their times.
  Put(kStart + absl::Minutes(3), "a-third");
  Put(kStart + absl::Minutes(1), "z-first");
  Put(kStart + absl::Minutes(2), "m-second");
  Put(kStart + absl::Minutes(10), "later");
  auto at = [&](absl::Time now, size_t limit = 100) { return Ids(Scheduler::Due(*store_, kDue, now, limit).value()); };
  EXPECT_THAT(at(kStart), ElementsAre());
  EXPECT_THAT(at(kStart + absl::Minutes(1) - absl::Nanoseconds(1)), ElementsAre());
  EXPECT_THAT(at(kStart + absl::Minutes(1)), ElementsAre("z-first")) << "due exactly at its time";
  EXPECT_THAT(at(kStart + absl::Minutes(5)), ElementsAre("z-first", "m-second", "a-third"));
  EXPECT_THAT(at(kStart + absl::Minutes(5), 2), ElementsAre("z-first", "m-second"));
  EXPECT_THAT(at(kStart + absl::Hours(1)), ElementsAre("z-first", "m-second", "a-third", "later"));
}

TEST_F(SchedulerTest, AMalformedRowIsDataLoss) {
  Batch batch = store_->NewBatch();
  batch.Put(kDue, "short", "");
  ASSERT_THAT(store_->Commit(batch), IsOk());
  EXPECT_THAT(Scheduler::Due(*store_, kDue, kStart, 10), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("due")));
}

TEST_F(SchedulerTest, FiresOnlyWhenTheInjectedClockReachesARowAndNeverAgainOnceDeleted) {
  recorder_ = std::make_unique<Recorder>(store_.get());
  // An always-due row the "projection" keeps: fired every tick, it shows the ticks going by.
  recorder_->Keep("tick");
  Put(kStart - absl::Hours(1), "tick");
  Put(kStart + absl::Minutes(1), "first");
  Put(kStart + absl::Minutes(2), "second");
  Put(kStart + absl::Minutes(3), "third");
  auto scheduler = Make();
  scheduler->Start();

  ASSERT_TRUE(recorder_->WaitTicks(3));
  EXPECT_EQ(recorder_->Fired("first"), 0) << "not due while the clock is before it (whatever the wall clock says)";

  clock_.Advance(absl::Minutes(1));
  ASSERT_TRUE(recorder_->WaitFired("first"));
  ASSERT_TRUE(recorder_->WaitTicks(3));
  EXPECT_EQ(recorder_->Fired("first"), 1) << "deleted by the projection: fired once";
  EXPECT_EQ(recorder_->Fired("second"), 0);

  clock_.Advance(absl::Minutes(5));
  ASSERT_TRUE(recorder_->WaitFired("third"));
  ASSERT_TRUE(recorder_->WaitTicks(3));
  scheduler->Stop();

  const auto calls = recorder_->calls();
  int64_t items = 0;
  for (const auto& call : calls) {
    for (const auto& item : call.due) EXPECT_LE(item.due, call.now) << item.id << " fired before it was due";
    EXPECT_EQ(call.due.front().id, "tick") << "oldest first";
    items += static_cast<int64_t>(call.due.size());
  }
  EXPECT_EQ(recorder_->Fired("first"), 1);
  EXPECT_EQ(recorder_->Fired("second"), 1);
  EXPECT_EQ(recorder_->Fired("third"), 1);
  // second and third fell due together: one tick, in time order.
  int together = 0;
  for (const auto& call : calls) {
    if (Recorder::FiredIn({call}, "second")) {
      EXPECT_THAT(Ids(call.due), ElementsAre("tick", "second", "third"));
      ++together;
    }
  }
  EXPECT_EQ(together, 1);
  EXPECT_EQ(metrics_.GetCounter("sales_scheduler_fired_total", "", {{"scheduler", "test"}}).value(), items);
}

TEST_F(SchedulerTest, AtMostMaxPerTickOldestFirstTheRestOnLaterTicks) {
  recorder_ = std::make_unique<Recorder>(store_.get());
  for (int i = 0; i < 7; ++i) Put(kStart - absl::Minutes(10 - i), StrCat("o", i));
  auto scheduler = Make(/*max_per_tick=*/3);
  scheduler->Start();
  ASSERT_TRUE(recorder_->WaitFor([](const auto& calls) {
    size_t n = 0;
    for (const auto& c : calls) n += c.due.size();
    return n >= 7;
  }));
  scheduler->Stop();
  const auto calls = recorder_->calls();
  ASSERT_GE(calls.size(), 3u);
  EXPECT_THAT(Ids(calls[0].due), ElementsAre("o0", "o1", "o2"));
  EXPECT_THAT(Ids(calls[1].due), ElementsAre("o3", "o4", "o5"));
  EXPECT_THAT(Ids(calls[2].due), ElementsAre("o6"));
  for (int i = 0; i < 7; ++i) EXPECT_EQ(recorder_->Fired(StrCat("o", i)), 1) << i;
}

TEST_F(SchedulerTest, ARowTheProjectionKeptIsFiredAgainUntilItGoes) {
  recorder_ = std::make_unique<Recorder>(store_.get());
  recorder_->Keep("tick");
  recorder_->Keep("stuck");  // its append fails: the row stays due
  Put(kStart - absl::Hours(1), "tick");
  Put(kStart - absl::Seconds(1), "stuck");
  auto scheduler = Make();
  scheduler->Start();
  ASSERT_TRUE(recorder_->WaitFired("stuck", 3)) << "a fact that was not appended is fired again";

  recorder_->Release("stuck");  // the next append succeeds: the projection deletes the row
  ASSERT_TRUE(recorder_->WaitTicks(2));
  const int fired = recorder_->Fired("stuck");
  ASSERT_TRUE(recorder_->WaitTicks(3));
  scheduler->Stop();
  EXPECT_EQ(recorder_->Fired("stuck"), fired) << "fired again after the projection deleted it";
  EXPECT_FALSE(store_->Get(kDue, DueKey(kStart - absl::Seconds(1), "stuck")).value().has_value());
}

TEST_F(SchedulerTest, StopsPromptlyAndCanBeStoppedTwice) {
  recorder_ = std::make_unique<Recorder>(store_.get());
  auto scheduler = std::make_unique<Scheduler>(
      SchedulerOptions{.name = "slow", .family = kDue, .tick = absl::Hours(1)}, store_.get(), &clock_, nullptr,
      [this](const std::vector<DueItem>& due) { recorder_->Fire(due, clock_.Now()); });
  scheduler->Start();
  const absl::Time before = absl::Now();
  scheduler->Stop();
  scheduler->Stop();
  EXPECT_LT(absl::Now() - before, absl::Seconds(10)) << "Stop waits for the tick, not for its length";
}

}  // namespace
}  // namespace sales::schedule
