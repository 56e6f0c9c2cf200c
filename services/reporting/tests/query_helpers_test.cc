// QueryHelpers: the other half runs on a helper when one is free, on the caller's thread when none
// is, and RunBoth returns only when both halves are done.
#include "services/reporting/api/query_helpers.h"

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace sales::reporting {
namespace {

using std::chrono::seconds;

TEST(QueryHelpers, AFreeHelperRunsTheOtherHalfMeanwhile) {
  QueryHelpers helpers(1);
  std::promise<std::thread::id> other_started;
  std::future<std::thread::id> started = other_started.get_future();
  std::atomic<bool> other_done = false;
  helpers.RunBoth(
      [&] {
        // Returns only once the other half runs: it cannot be waiting for this one.
        ASSERT_EQ(started.wait_for(seconds(30)), std::future_status::ready);
      },
      [&] {
        other_started.set_value(std::this_thread::get_id());
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        other_done = true;
      });
  EXPECT_TRUE(other_done);  // RunBoth waited for it
  EXPECT_NE(started.get(), std::this_thread::get_id());
}

TEST(QueryHelpers, WhenEveryHelperIsBusyTheCallerRunsBothHalves) {
  QueryHelpers helpers(1);
  std::promise<void> holding, release;
  std::shared_future<void> helper_holds = holding.get_future().share(), released = release.get_future().share();
  std::thread other_query([&] {
    // Its first half waits until its second half runs, which only the helper can start then.
    helpers.RunBoth([&] { helper_holds.wait(); }, [&] {
      holding.set_value();
      released.wait();
    });
  });
  ASSERT_EQ(helper_holds.wait_for(seconds(30)), std::future_status::ready);
  std::thread::id here, other;
  helpers.RunBoth([&] { here = std::this_thread::get_id(); }, [&] { other = std::this_thread::get_id(); });
  EXPECT_EQ(here, std::this_thread::get_id());
  EXPECT_EQ(other, std::this_thread::get_id());
  release.set_value();
  other_query.join();
}

TEST(QueryHelpers, ManyQueriesAtOnceEachGetBothHalvesDone) {
  QueryHelpers helpers(2);
  std::atomic<int> halves = 0;
  std::vector<std::thread> queries;
  for (int q = 0; q < 8; ++q) {
    queries.emplace_back([&] {
      for (int i = 0; i < 200; ++i) helpers.RunBoth([&] { ++halves; }, [&] { ++halves; });
    });
  }
  for (std::thread& t : queries) t.join();
  EXPECT_EQ(halves, 8 * 200 * 2);
}

}  // namespace
}  // namespace sales::reporting
