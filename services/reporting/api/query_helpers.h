// Two halves of one report query run at once: one on the caller's thread, the other on one of a
// few helper threads that every query of the process shares. A report that walks a year of cells
// takes about half the time on this machine's second core.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace sales::reporting {

class QueryHelpers {
 public:
  explicit QueryHelpers(int threads);
  ~QueryHelpers();  // waits for the helpers' current work
  QueryHelpers(const QueryHelpers&) = delete;
  QueryHelpers& operator=(const QueryHelpers&) = delete;

  // The process's helpers: one per core beyond the first (at least one), never destroyed.
  static QueryHelpers& Shared();

  // Runs `here` on this thread and `other` on a helper, and returns when both are done. When no
  // helper has taken `other` by the time `here` is done (they are all busy with other queries),
  // `other` runs here after it: a query never waits for a helper, and no thread is made per call.
  // Neither may throw.
  void RunBoth(const std::function<void()>& here, const std::function<void()>& other);

 private:
  struct Task {
    const std::function<void()>* run;
    bool taken = false;  // by a helper, or by the caller
    bool done = false;
  };
  void Serve();

  std::mutex mu_;
  std::condition_variable work_;      // a task was queued, or stopping_
  std::condition_variable finished_;  // a helper finished a task
  std::deque<std::shared_ptr<Task>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace sales::reporting
