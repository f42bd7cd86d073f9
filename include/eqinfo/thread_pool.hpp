// A small fixed pool of worker threads with one operation, parallel_for.
// Work is split into contiguous chunks; each index is processed exactly once,
// by exactly one thread, so integer results do not depend on the thread count.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace eqinfo {

class ThreadPool {
 public:
  // threads = total workers including the caller; 1 runs everything inline.
  explicit ThreadPool(std::size_t threads = 1) {
    for (std::size_t i = 1; i < std::max<std::size_t>(threads, 1); ++i) workers_.emplace_back([this, i] { work(i); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  [[nodiscard]] std::size_t size() const noexcept { return workers_.size() + 1; }

  // Calls fn(begin, end) on disjoint chunks covering [0, n); returns when all
  // are done; rethrows the first exception.
  void parallel_for(std::size_t n, const std::function<void(std::size_t, std::size_t)>& fn) {
    const std::size_t parts = std::min(size(), n);
    if (parts <= 1) {
      if (n) fn(0, n);
      return;
    }
    std::lock_guard<std::mutex> one_job_at_a_time(call_mutex_);
    std::unique_lock<std::mutex> lock(mutex_);
    job_ = &fn;
    n_ = n;
    parts_ = parts;
    pending_ = parts - 1;
    error_ = nullptr;
    ++generation_;
    lock.unlock();
    wake_.notify_all();
    run_part(0);
    lock.lock();
    done_.wait(lock, [&] { return pending_ == 0; });
    job_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void run_part(std::size_t part) {
    const std::size_t begin = n_ * part / parts_, end = n_ * (part + 1) / parts_;
    try {
      if (begin < end) (*job_)(begin, end);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
    }
  }

  void work(std::size_t index) {
    std::size_t seen = 0;
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      if (index >= parts_) continue;
      lock.unlock();
      run_part(index);
      lock.lock();
      if (--pending_ == 0) done_.notify_one();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex call_mutex_;  // callers on several threads take turns
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  const std::function<void(std::size_t, std::size_t)>* job_ = nullptr;
  std::size_t n_ = 0, parts_ = 0, pending_ = 0, generation_ = 0;
  std::exception_ptr error_;
  bool stop_ = false;
};

}  // namespace eqinfo
