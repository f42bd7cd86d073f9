// Tests for include/eqinfo/m1/pair_memo.hpp: a pair keeps the first value inserted for it;
// nothing is kept past the capacity, and what was kept stays findable and unchanged; threads
// inserting and finding at once see either nothing or a complete value, and exactly one value
// per pair survives.
#include "eqinfo/m1/pair_memo.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

using eqinfo::m1::PairMemo;

TEST_CASE("PairMemo keeps the first value of a pair, up to its capacity", "[pair_memo]") {
  PairMemo<std::string> memo(3);
  const auto ab = PairMemo<std::string>::key('a', 'b'), ba = PairMemo<std::string>::key('b', 'a');
  REQUIRE(ab != ba);
  REQUIRE(PairMemo<std::string>::key(255, 255) == PairMemo<std::string>::kSlots - 1);
  REQUIRE(memo.find(ab) == nullptr);
  memo.insert(ab, "first");
  memo.insert(ab, "second");  // a pair is filled once
  REQUIRE(*memo.find(ab) == "first");
  const std::string* kept = memo.find(ab);
  memo.insert(ba, "ba");
  memo.insert(PairMemo<std::string>::key(0, 0), "zero");
  REQUIRE(memo.size() == 3);
  REQUIRE(memo.full());
  memo.insert(PairMemo<std::string>::key(9, 9), "over");  // full: not kept
  REQUIRE(memo.find(PairMemo<std::string>::key(9, 9)) == nullptr);
  REQUIRE(memo.size() == 3);
  REQUIRE(memo.find(ab) == kept);  // what was kept stays where it was
  REQUIRE(*memo.find(ba) == "ba");
  REQUIRE(*memo.find(PairMemo<std::string>::key(0, 0)) == "zero");
}

TEST_CASE("PairMemo under threads: each pair ends with one complete value", "[pair_memo]") {
  // Every thread inserts, for each of 2,000 pairs, a value naming itself and the pair, and
  // checks every value it finds: complete (the pair is right) whoever wrote it.
  PairMemo<std::vector<std::uint32_t>> memo(1500);
  constexpr std::size_t kPairs = 2000, kThreads = 4;
  std::vector<std::thread> threads;
  std::vector<int> bad(kThreads, 0);
  for (std::size_t t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (std::size_t i = 0; i < kPairs; ++i) {
        const std::size_t k = (i * 7919 + t * 13) % kPairs;
        memo.insert(k, std::vector<std::uint32_t>(64, static_cast<std::uint32_t>(k)));
        for (std::size_t j = 0; j < kPairs; j += 97)
          if (const auto* v = memo.find(j))
            for (auto x : *v) bad[t] += x != j;
      }
    });
  for (auto& th : threads) th.join();
  for (int b : bad) REQUIRE(b == 0);
  REQUIRE(memo.size() == 1500);  // the capacity, not more, although 2,000 pairs were offered
  std::size_t found = 0;
  for (std::size_t k = 0; k < kPairs; ++k)
    if (const auto* v = memo.find(k)) {
      ++found;
      REQUIRE(v->size() == 64);
      REQUIRE((*v)[0] == k);
    }
  REQUIRE(found == 1500);
}
