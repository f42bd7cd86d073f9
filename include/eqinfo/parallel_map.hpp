// Runs fn(i) for every i in [0, n) on `threads` threads and stores each result
// in slot i.  The document-parallel encode and decode of the factory's
// tokenizers (AnyTokenizer::encode_each, decode_each) run on it.
//
// Determinism: each slot is written by exactly one call whose input is item i
// alone, so the results are the same for every thread count; only the order
// in which items are *processed* changes.  Items are handed out one at a time
// from a shared counter (not in fixed contiguous chunks as
// ThreadPool::parallel_for does) because corpus documents differ in length by
// orders of magnitude, and fixed chunks would leave threads idle.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <vector>

#include "eqinfo/thread_pool.hpp"

namespace eqinfo {

template <class R, class F>
std::vector<R> parallel_map(std::size_t n, std::size_t threads, F&& fn) {
  std::vector<R> out(n);
  std::atomic<std::size_t> next{0};
  ThreadPool pool(threads);
  // One part per worker; each part pulls items until none are left.  The first
  // exception stops the hand-out and parallel_for rethrows it to the caller.
  pool.parallel_for(std::min(pool.size(), n), [&](std::size_t, std::size_t) {
    for (std::size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
      try {
        out[i] = fn(i);
      } catch (...) {
        next.store(n);
        throw;
      }
    }
  });
  return out;
}

}  // namespace eqinfo
