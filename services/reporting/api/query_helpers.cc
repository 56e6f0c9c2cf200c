#include "services/reporting/api/query_helpers.h"

#include <algorithm>

namespace sales::reporting {

QueryHelpers::QueryHelpers(int threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Serve(); });
}

QueryHelpers::~QueryHelpers() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  work_.notify_all();
  for (std::thread& t : threads_) t.join();
}

QueryHelpers& QueryHelpers::Shared() {
  static QueryHelpers* const helpers =
      new QueryHelpers(std::max(1, static_cast<int>(std::thread::hardware_concurrency()) - 1));
  return *helpers;
}

void QueryHelpers::RunBoth(const std::function<void()>& here, const std::function<void()>& other) {
  auto task = std::make_shared<Task>();
  task->run = &other;
  {
    std::lock_guard<std::mutex> l(mu_);
    queue_.push_back(task);
  }
  work_.notify_one();
  here();
  std::unique_lock<std::mutex> l(mu_);
  if (!task->taken) {
    task->taken = true;  // (a helper that pops it later skips it)
    l.unlock();
    other();
    return;
  }
  finished_.wait(l, [&] { return task->done; });
}

void QueryHelpers::Serve() {
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    work_.wait(l, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    std::shared_ptr<Task> task = std::move(queue_.front());
    queue_.pop_front();
    if (task->taken) continue;
    task->taken = true;
    l.unlock();
    (*task->run)();
    l.lock();
    task->done = true;
    finished_.notify_all();
  }
}

}  // namespace sales::reporting
