// The benchmarks' input text: deterministic English-like prose (words drawn
// with Zipf weights from a fixed list, fixed seed), shared by
// coder_benchmark.cpp and the M1 benchmarks.  make_english_text(n) is the
// first n bytes of one fixed stream, so shorter texts are prefixes of longer
// ones.
#pragma once

#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace eqinfo::bench {

// Deterministic across platforms: mt19937_64 is fully specified, and we do
// our own integer -> choice mapping (std::*_distribution is not portable).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : gen_(seed) {}
  double unit() { return static_cast<double>(gen_() >> 11) * 0x1p-53; }  // [0, 1)
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(gen_() % n); }

 private:
  std::mt19937_64 gen_;
};

// Frequent English words, roughly in frequency order (rank r gets weight 1/r).
inline constexpr std::array<std::string_view, 200> kWords{
    "the", "of", "and", "to", "a", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on", "not",
    "he", "i", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had", "they", "you", "were",
    "their", "one", "all", "we", "can", "her", "has", "there", "been", "if", "more", "when", "will", "would", "who",
    "so", "no", "she", "other", "its", "may", "these", "what", "them", "than", "some", "him", "time", "into", "only",
    "do", "could", "new", "about", "two", "first", "then", "also", "any", "like", "our", "should", "over", "such",
    "people", "most", "made", "after", "years", "where", "many", "before", "must", "through", "back", "used", "much",
    "your", "way", "well", "down", "work", "state", "between", "world", "under", "life", "because", "great", "system",
    "part", "water", "government", "house", "number", "school", "found", "small", "might", "place", "general",
    "however", "company", "during", "without", "against", "information", "country", "problem", "service",
    "following", "development", "interest", "important", "different", "program", "business", "question", "history",
    "family", "member", "research", "market", "children", "community", "experience", "university", "example",
    "process", "national", "social", "control", "support", "energy", "health", "window", "language", "model",
    "compression", "arithmetic", "token", "probability", "distribution", "network", "training", "learning",
    "sequence", "context", "value", "power", "order", "result", "level", "change", "study", "group", "report",
    "within", "among", "often", "around", "second", "later", "early", "public", "private", "local", "large", "though", "every",
    "until", "while", "since", "almost", "another", "always", "perhaps", "rather", "across", "behind", "clearly",
    "together", "nothing", "something", "already", "common", "city"};
static_assert(std::ranges::none_of(kWords, [](std::string_view w) { return w.empty(); }), "kWords has empty entries");

// `bytes` bytes of paragraphs of 3-8 sentences of 4-23 words each.
inline std::string make_english_text(std::size_t bytes) {
  std::array<double, kWords.size()> cdf{};
  double sum = 0;
  for (std::size_t r = 0; r < kWords.size(); ++r) cdf[r] = (sum += 1.0 / static_cast<double>(r + 1));
  Rng rng(20240403);
  const auto word = [&] {
    const double u = rng.unit() * sum;
    const auto i = static_cast<std::size_t>(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
    return kWords[std::min(i, kWords.size() - 1)];
  };
  std::string text;
  text.reserve(bytes + 4096);
  while (text.size() < bytes) {
    const std::size_t sentences = 3 + rng.below(6);
    for (std::size_t s = 0; s < sentences; ++s) {
      const std::size_t words = 4 + rng.below(20);
      for (std::size_t w = 0; w < words; ++w) {
        std::string_view v = word();
        if (w == 0) {
          text.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(v[0]))));
          v.remove_prefix(1);
        }
        text.append(v);
        if (w + 1 < words) text.append(rng.below(12) == 0 ? ", " : " ");
      }
      const std::size_t end = rng.below(20);
      text.append(end == 0 ? "?" : end == 1 ? "!" : ".");
      if (s + 1 < sentences) text.push_back(' ');
    }
    text.append("\n\n");
  }
  text.resize(bytes);
  return text;
}

}  // namespace eqinfo::bench
