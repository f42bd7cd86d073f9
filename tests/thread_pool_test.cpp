// Tests for include/eqinfo/thread_pool.hpp: parallel_for hands out disjoint
// contiguous chunks that cover [0, n) exactly once, one per thread at most,
// so results do not depend on the thread count; the caller takes part;
// exceptions reach the caller and leave the pool usable; many calls in a row
// and calls from several threads at once all complete.
#include "eqinfo/thread_pool.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "test_support.hpp"

using eqinfo::ThreadPool;

namespace {

constexpr std::size_t kThreadCounts[] = {1, 2, 3, 4, 8};
constexpr std::size_t kSizes[] = {0, 1, 2, 3, 5, 7, 8, 9, 100, 1001};

// The chunks of one parallel_for call, sorted by begin.
std::vector<std::pair<std::size_t, std::size_t>> chunks_of(ThreadPool& pool, std::size_t n) {
  std::mutex m;
  std::vector<std::pair<std::size_t, std::size_t>> chunks;
  pool.parallel_for(n, [&](std::size_t b, std::size_t e) {
    std::lock_guard<std::mutex> lock(m);
    chunks.emplace_back(b, e);
  });
  std::sort(chunks.begin(), chunks.end());
  return chunks;
}

// A result per index that depends only on the index: what the pool's
// users (M1 contexts, documents) compute.
std::vector<std::uint64_t> hashes(ThreadPool& pool, std::size_t n) {
  std::vector<std::uint64_t> out(n);
  pool.parallel_for(n, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) out[i] = eqinfo_test::mix64(i + 1);
  });
  return out;
}

}  // namespace

TEST_CASE("ThreadPool size counts the caller, and 0 threads means 1", "[thread_pool]") {
  CHECK(ThreadPool().size() == 1);
  CHECK(ThreadPool(0).size() == 1);
  CHECK(ThreadPool(1).size() == 1);
  CHECK(ThreadPool(4).size() == 4);
}

TEST_CASE("parallel_for covers [0, n) with min(threads, n) disjoint non-empty contiguous chunks", "[thread_pool]") {
  for (const std::size_t threads : kThreadCounts) {
    ThreadPool pool(threads);
    for (const std::size_t n : kSizes) {
      INFO(threads << " threads, n = " << n);
      const auto chunks = chunks_of(pool, n);
      CHECK(chunks.size() == std::min(threads, n));
      std::size_t next = 0;
      for (const auto& [b, e] : chunks) {
        CHECK(b == next);  // contiguous and disjoint
        CHECK(e > b);      // no empty calls
        next = e;
      }
      CHECK(next == n);
      // Balanced: chunk sizes differ by at most one.
      if (!chunks.empty()) {
        std::size_t lo = n, hi = 0;
        for (const auto& [b, e] : chunks) lo = std::min(lo, e - b), hi = std::max(hi, e - b);
        CHECK(hi - lo <= 1);
      }
    }
  }
}

TEST_CASE("parallel_for gives the same results for 1 and N threads", "[thread_pool]") {
  ThreadPool one(1);
  for (const std::size_t threads : kThreadCounts) {
    ThreadPool pool(threads);
    for (const std::size_t n : kSizes) {
      INFO(threads << " threads, n = " << n);
      CHECK(hashes(pool, n) == hashes(one, n));
    }
  }
}

TEST_CASE("One thread runs inline on the caller; more threads use the caller and distinct workers", "[thread_pool]") {
  const auto caller = std::this_thread::get_id();
  for (const std::size_t threads : kThreadCounts) {
    ThreadPool pool(threads);
    std::mutex m;
    std::vector<std::pair<std::size_t, std::thread::id>> who;  // chunk begin -> thread
    pool.parallel_for(100, [&](std::size_t b, std::size_t) {
      std::lock_guard<std::mutex> lock(m);
      who.emplace_back(b, std::this_thread::get_id());
    });
    std::sort(who.begin(), who.end());
    INFO(threads << " threads");
    REQUIRE(who.size() == threads);
    CHECK(who[0].second == caller);  // the first chunk is the caller's
    std::set<std::thread::id> ids;
    for (const auto& w : who) ids.insert(w.second);
    CHECK(ids.size() == threads);  // each chunk on its own thread
  }
}

TEST_CASE("An exception in any chunk reaches the caller after every chunk ran, and the pool stays usable", "[thread_pool]") {
  ThreadPool one(1);
  for (const std::size_t threads : kThreadCounts) {
    ThreadPool pool(threads);
    const auto chunks = chunks_of(pool, 100);
    for (const std::size_t bad : {std::size_t{0}, std::size_t{50}, std::size_t{99}}) {
      INFO(threads << " threads, throwing at index " << bad);
      const auto& failing = *std::find_if(chunks.begin(), chunks.end(), [&](const auto& c) { return c.first <= bad && bad < c.second; });
      std::atomic<std::size_t> done{0};
      CHECK_THROWS_WITH(pool.parallel_for(100,
                                          [&](std::size_t b, std::size_t e) {
                                            if (b <= bad && bad < e) throw std::runtime_error("index " + std::to_string(bad));
                                            done += e - b;
                                          }),
                        "index " + std::to_string(bad));
      // The call waited for the other chunks: each ran to its end.
      CHECK(done == 100 - (failing.second - failing.first));
      CHECK(chunks_of(pool, 100) == chunks);
      CHECK(hashes(pool, 100) == hashes(one, 100));
    }
    // Every chunk throwing: one of the exceptions comes through.
    CHECK_THROWS_AS(pool.parallel_for(64, [](std::size_t, std::size_t) { throw std::logic_error("all"); }), std::logic_error);
    CHECK(hashes(pool, 100) == hashes(one, 100));
  }
}

TEST_CASE("Thousands of calls in a row on one pool each complete with every index", "[thread_pool]") {
  // A lost wake-up or a worker running a stale job would hang or miscount here.
  ThreadPool pool(4);
  std::vector<std::uint64_t> counts(17);
  for (int call = 0; call < 5000; ++call) {
    const std::size_t n = 1 + static_cast<std::size_t>(call) % counts.size();
    pool.parallel_for(n, [&](std::size_t b, std::size_t e) {
      for (std::size_t i = b; i < e; ++i) ++counts[i];  // disjoint chunks: no race
    });
  }
  for (std::size_t i = 0; i < counts.size(); ++i) {
    std::uint64_t expected = 0;
    for (int call = 0; call < 5000; ++call) expected += i < 1 + static_cast<std::size_t>(call) % counts.size();
    CHECK(counts[i] == expected);
  }
}

TEST_CASE("Calls from several threads on one pool take turns and each gets its own results", "[thread_pool]") {
  ThreadPool pool(3);
  const std::vector<std::uint64_t> expected = [] {
    ThreadPool one(1);
    return hashes(one, 257);
  }();
  std::atomic<int> wrong{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&] {
      for (int i = 0; i < 200; ++i) wrong += hashes(pool, 257) != expected;
    });
  for (auto& t : callers) t.join();
  CHECK(wrong == 0);
}
