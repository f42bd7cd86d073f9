// Tests for include/eqinfo/equal_info_segmenter.hpp: Equal-Info windows.
//
//   * round trips of many kinds of documents through EqualInfoSegmenter with
//     uniform, static (counted and skewed) and adversarial models;
//   * every window is exactly b bits and holds >= 1 symbol; WindowStats add up;
//   * the window encoder driven directly: its codeword decodes to exactly its
//     symbols; the greedy count K is right (I_K holds a whole b-bit cell,
//     I_{K+1} does not); the chosen k is the largest k <= K with a valid
//     codeword, checked through the window decoder on every candidate cell;
//   * at b = 16, by brute force over all 2^16 codewords: maximality, greedy K,
//     "lowest cell" choice, and totality of the window decoder.
#include "eqinfo/equal_info_segmenter.hpp"

#include <catch2/catch.hpp>

#include <tuple>
#include <type_traits>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "eqinfo/static_model.hpp"
#include "eqinfo/uniform_model.hpp"
#include "test_support.hpp"

using eqinfo::ArithmeticEncoder;
using eqinfo::BitVector;
using eqinfo::DecodeResult;
using eqinfo::EqualInfoSegmenter;
using eqinfo::EqualInfoWindowDecoder;
using eqinfo::EqualInfoWindowEncoder;
using eqinfo::kEos;
using eqinfo::StaticModel;
using eqinfo::Symbol;
using eqinfo::UniformModel;
using eqinfo::WindowStats;
using eqinfo_test::DocShape;
using eqinfo_test::PeakedHashModel;
using eqinfo_test::WrongPeakModel;

namespace {

template <unsigned B, unsigned P, unsigned Q = eqinfo::kDefaultStateBits>
struct Config {
  static constexpr unsigned kWindowBits = B;
  static constexpr unsigned kFrequencyBits = P;
  static constexpr unsigned kStateBits = Q;
};

// ---------------------------------------------------------------------------
// Segmenter round trips.

template <unsigned B, unsigned Q, class M>
WindowStats check_segmenter_round_trip(const M& model, const std::vector<std::string>& docs) {
  const EqualInfoSegmenter<M, B, 1, Q> segmenter(model);
  CHECK(&segmenter.model() == &model);
  BitVector bits;
  WindowStats total;
  for (std::size_t d = 0; d < docs.size(); ++d) {
    INFO("document " << d << " of " << docs.size() << ", " << docs[d].size() << " bytes");
    WindowStats stats;
    const std::size_t before = bits.size();
    segmenter.encode_document(docs[d], bits, &stats);
    REQUIRE(stats.windows >= 1);
    REQUIRE(bits.size() - before == stats.windows * B);   // every window exactly b bits
    REQUIRE(stats.symbols == docs[d].size() + 1);         // every byte and the EOS placed once
    REQUIRE(stats.windows <= stats.symbols);              // >= 1 symbol per window
    REQUIRE(stats.greedy_symbols >= stats.symbols);
    REQUIRE(stats.fallback_windows <= stats.windows);
    REQUIRE((stats.fallback_windows == 0) == (stats.greedy_symbols == stats.symbols));
    total += stats;
    // Stats accumulate into a non-empty WindowStats too.
    WindowStats again = stats;
    BitVector scratch;
    segmenter.encode_document(docs[d], scratch, &again);
    REQUIRE(again.windows == 2 * stats.windows);
    REQUIRE(again.symbols == 2 * stats.symbols);
    BitVector own;
    for (std::size_t i = before; i < bits.size(); ++i) own.push_back(bits[i]);
    REQUIRE(scratch == own);  // deterministic
  }
  for (std::size_t batch : {std::size_t{1}, std::size_t{7}, std::size_t{64}}) {
    const EqualInfoSegmenter<M, B, 1, Q> decoder(model, batch);
    DecodeResult result;
    const std::size_t consumed = decoder.decode(bits, result);
    INFO("decode batch " << batch);
    REQUIRE(consumed == bits.size());
    REQUIRE(result.issues == eqinfo::kDecodeOk);
    REQUIRE(result.windows == total.windows);
    REQUIRE(result.documents.size() == docs.size());
    for (std::size_t d = 0; d < docs.size(); ++d) {
      INFO("document " << d);
      REQUIRE(result.documents[d] == docs[d]);
    }
  }
  return total;
}

std::vector<std::string> shaped_documents(std::mt19937_64& rng, std::size_t scale) {
  std::vector<std::string> docs;
  for (DocShape shape : eqinfo_test::kAllDocShapes) docs.push_back(eqinfo_test::make_document(shape, scale, rng));
  docs.push_back(eqinfo_test::make_document(DocShape::kText, scale * 2, rng));
  docs.push_back("");
  docs.push_back(std::string(1, '\0'));
  docs.push_back(std::string(3, '\xff'));
  return docs;
}

// ---------------------------------------------------------------------------
// Driving the window encoder directly.

struct WindowRecord {
  std::size_t start = 0;   // index of the window's first symbol
  std::size_t symbols = 0;  // window_symbols()
  std::size_t greedy = 0;   // greedy_symbols()
  bool closed_on_eos = false;
  BitVector codeword;
};

template <unsigned B, unsigned P, unsigned Q, class M>
std::vector<WindowRecord> encode_windows(const M& model, const std::vector<Symbol>& symbols) {
  using WindowEncoder = EqualInfoWindowEncoder<B, P, Q>;
  WindowEncoder window;
  auto ctx = model.new_context();
  std::vector<WindowRecord> out;
  std::size_t pos = 0;
  while (pos < symbols.size()) {
    model.reset(ctx);
    window.begin();
    std::size_t i = pos;
    for (;; ++i) {
      REQUIRE(i < symbols.size());  // the encoder must close at EOS at the latest
      if (window.offer(model.predict(ctx), symbols[i]) == WindowEncoder::Offer::kClosed) break;
      model.advance(ctx, symbols[i]);
    }
    WindowRecord r;
    r.start = pos;
    r.symbols = window.window_symbols();
    r.greedy = window.greedy_symbols();
    r.closed_on_eos = symbols[i] == kEos && r.greedy == i - pos + 1;
    r.codeword = window.codeword();
    REQUIRE(r.symbols >= 1);
    REQUIRE(r.symbols <= r.greedy);
    REQUIRE(r.codeword.size() == B);
    REQUIRE(pos + r.symbols <= symbols.size());
    pos += r.symbols;
    out.push_back(std::move(r));
  }
  return out;
}

// Decodes one b-bit window (bits[begin, begin + B)) with the window decoder.
template <unsigned B, unsigned P, unsigned Q, class M>
std::vector<Symbol> decode_window(const M& model, const BitVector& bits, std::size_t begin = 0) {
  EqualInfoWindowDecoder<B, P, Q> decoder;
  decoder.begin(bits, begin);
  auto ctx = model.new_context();
  model.reset(ctx);
  std::vector<Symbol> out;
  constexpr std::size_t cap = eqinfo::kMaxWindowSymbols<B, P>;
  while (out.size() <= cap) {
    const auto s = decoder.next(model.predict(ctx));
    if (!s) break;
    out.push_back(*s);
    if (*s == kEos) break;
    model.advance(ctx, *s);
  }
  EQINFO_FAST_REQUIRE(decoder.done());
  EQINFO_FAST_REQUIRE(out.size() < cap);  // the cap is a loose bound: no window comes near it
  return out;
}

// Cells that could make the window decoder stop right after s_1..s_k: the
// whole b-bit cells of the coder interval I_k that contain an internal child
// boundary, plus their neighbours.  (A cell stops the decoder after exactly
// k symbols iff it lies in I_k and straddles a child boundary.)  Returns
// their codewords.
template <unsigned B, unsigned P, unsigned Q>
std::vector<BitVector> candidate_codewords(const ArithmeticEncoder<Q, P>& e, const eqinfo::FrequencyTable<P>& table) {
  std::vector<BitVector> out;
  const long shift = static_cast<long>(e.emitted_bits()) + long{Q} - long{B};
  if (shift <= 0 || shift > long{Q}) return out;  // cells no larger than a unit, or larger than I_k
  const auto s = static_cast<unsigned>(shift);
  const std::uint64_t cell = std::uint64_t{1} << s;
  const std::uint64_t low = e.low(), range = e.range();
  const std::uint64_t first = e.first_aligned(s);
  std::set<std::uint64_t> starts;
  for (std::size_t j = 1; j < eqinfo::kAlphabetSize; ++j) {
    const std::uint64_t p = low + ArithmeticEncoder<Q, P>::boundary(range, table.cumulative(j));
    const std::uint64_t start = p & ~(cell - 1);
    for (std::uint64_t c : {start - cell, start, start + cell})
      if (start >= cell || c != start - cell)
        if (c >= first && c + cell <= low + range) starts.insert(c);
  }
  for (std::uint64_t c : starts) out.push_back(e.codeword_for_cell(c, B));
  return out;
}

struct MaximalityCounts {
  std::size_t windows = 0, fallback_windows = 0, candidates_checked = 0, enumerated_codewords = 0;
};

// For small b: every b-bit codeword whose cell overlaps I_k (the coder
// interval after the window's first k symbols), computed exactly with
// unsigned __int128.  Only these cells can decode to k or more of the
// window's symbols, so enumerating them is an exhaustive search for
// codewords that decode to s_1..s_k' with k' >= k.
template <unsigned B, unsigned Q, class Encoder>
std::pair<std::uint64_t, std::uint64_t> overlapping_codewords(const Encoder& e) {
  using u128 = unsigned __int128;
  const std::size_t scale = e.emitted_bits() + Q;  // units of 2^-scale
  REQUIRE(scale <= 120);
  u128 out = 0;
  for (std::size_t i = 0; i < e.emitted_bits(); ++i) out = (out << 1) | static_cast<u128>(e.emitted()[i]);
  const u128 low = (out << Q) + e.low(), high = low + e.range();
  if (scale >= B) {
    const std::size_t t = scale - B;
    return {static_cast<std::uint64_t>(low >> t), static_cast<std::uint64_t>((high + (u128{1} << t) - 1) >> t)};
  }
  return {static_cast<std::uint64_t>(low << (B - scale)), static_cast<std::uint64_t>(high << (B - scale))};
}

// All the per-window properties that need no enumeration of codewords.
template <unsigned B, unsigned P, unsigned Q, class M>
void check_windows(const M& model, const std::vector<Symbol>& symbols, MaximalityCounts& counts,
                   std::size_t max_symbols_for_candidates = 400) {
  const auto windows = encode_windows<B, P, Q>(model, symbols);
  BitVector stream;
  for (const auto& w : windows) {
    INFO("window at symbol " << w.start << ": " << w.symbols << " symbols, greedy " << w.greedy);
    ++counts.windows;
    counts.fallback_windows += w.symbols < w.greedy;
    stream.append(w.codeword);
    // (a) the codeword decodes to exactly the window's symbols.
    const auto decoded = decode_window<B, P, Q>(model, w.codeword);
    REQUIRE(decoded == std::vector<Symbol>(symbols.begin() + w.start, symbols.begin() + w.start + w.symbols));
    if (w.closed_on_eos) REQUIRE(w.symbols == w.greedy);
    // Replay the coder over s_1..s_{K+1} with the model's predictions.
    ArithmeticEncoder<Q, P> e;
    e.reset();
    auto ctx = model.new_context();
    model.reset(ctx);
    const std::size_t last = std::min(w.greedy + 1, symbols.size() - w.start);
    for (std::size_t i = 0; i < last; ++i) {
      const auto& table = model.predict(ctx);
      if constexpr (B <= 24) {
        // Exhaustive search where the window closed below greedy: among all
        // codewords overlapping I_k, none decodes to exactly s_1..s_k' for
        // k < k' <= K, and the chosen one is the lowest decoding to s_1..s_k.
        if (i == w.symbols && w.symbols < w.greedy) {
          const auto [first, end] = overlapping_codewords<B, Q>(e);
          if ((end - first) * w.greedy <= 150000) {  // bounded work in Debug builds
            const std::vector<Symbol> window(symbols.begin() + w.start, symbols.begin() + w.start + w.greedy);
            std::uint64_t lowest_exact = end;
            BitVector word;
            for (std::uint64_t c = first; c < end; ++c) {
              ++counts.enumerated_codewords;
              word.clear();
              word.append_bits(c, B);
              const auto got = decode_window<B, P, Q>(model, word);
              const bool extends = got.size() <= window.size() && std::equal(got.begin(), got.end(), window.begin());
              EQINFO_FAST_REQUIRE(!(extends && got.size() > w.symbols));  // would be a longer valid window
              if (extends && got.size() == w.symbols && lowest_exact == end) lowest_exact = c;
            }
            REQUIRE(lowest_exact == w.codeword.read_bits(0, B));
          }
        }
      }
      // k' = i symbols coded so far; table partitions I_i.
      if (i > w.symbols && i <= w.greedy && w.greedy <= max_symbols_for_candidates) {
        // (b) no codeword ends the window after exactly i > k symbols.
        const std::vector<Symbol> prefix(symbols.begin() + w.start, symbols.begin() + w.start + i);
        for (const auto& word : candidate_codewords<B, P, Q>(e, table)) {
          ++counts.candidates_checked;
          REQUIRE(decode_window<B, P, Q>(model, word) != prefix);
        }
      }
      e.encode(table, symbols[w.start + i]);
      model.advance(ctx, symbols[w.start + i]);
      // (c) greedy K: I_1..I_K hold a whole b-bit cell, I_{K+1} does not.
      // An interval holds a whole b-bit cell iff its shortest terminating
      // codeword has <= b bits.
      if (i + 1 <= w.greedy) REQUIRE(e.termination_bits() <= B);
      if (i + 1 == w.greedy + 1) REQUIRE(e.termination_bits() > B);
    }
  }
  // The segmenter writes exactly these windows.
  std::string doc;
  for (std::size_t i = 0; i + 1 < symbols.size(); ++i) doc.push_back(static_cast<char>(symbols[i]));
  BitVector bits;
  EqualInfoSegmenter<M, B, 1, Q>(model).encode_document(doc, bits);
  REQUIRE(bits == stream);
}

}  // namespace

// Window sizes x precisions (x coder state bits) every generic test below runs over.
using WindowConfigs =
    std::tuple<Config<16, 9>, Config<16, 12>, Config<16, 14>, Config<16, 16>, Config<24, 12>, Config<24, 16>, Config<32, 14>,
               Config<32, 16>, Config<64, 9>, Config<64, 14>, Config<128, 12>, Config<128, 16>, Config<16, 12, 20>,
               Config<24, 14, 40>, Config<32, 12, 16>, Config<64, 16, 47>>;

TEMPLATE_LIST_TEST_CASE("Equal-Info segmenter round trips and window properties", "[equal_info]", WindowConfigs) {
  constexpr unsigned B = TestType::kWindowBits;
  constexpr unsigned P = TestType::kFrequencyBits;
  constexpr unsigned Q = TestType::kStateBits;
  STATIC_REQUIRE(eqinfo::kWindowFitsEverySymbol<B, P>);
  std::mt19937_64 rng(B * 1000 + P * 10 + Q);
  WindowStats all;

  SECTION("uniform model") {
    const UniformModel<P> model;
    all += check_segmenter_round_trip<B, Q>(model, shaped_documents(rng, 300));
  }
  SECTION("static model counted on the documents") {
    const auto docs = shaped_documents(rng, 400);
    eqinfo::SymbolCounts counts{};
    for (const auto& d : docs) eqinfo::count_document(counts, d);
    all += check_segmenter_round_trip<B, Q>(StaticModel<P>(counts), docs);
  }
  SECTION("skewed static model: long runs of a very likely byte, and unlikely bytes") {
    const StaticModel<P> model(eqinfo_test::skewed_counts('a'));
    std::vector<std::string> docs = shaped_documents(rng, 200);
    docs.push_back(std::string(3000, 'a'));
    std::string mixed;
    for (int i = 0; i < 8; ++i) {
      mixed.append(200 + rng() % 800, 'a');
      for (int j = 0; j < 3; ++j) mixed.push_back(static_cast<char>(rng() % 256));
    }
    docs.push_back(mixed);
    all += check_segmenter_round_trip<B, Q>(model, docs);
  }
  SECTION("adversarial: peaked hash model (runs of likely symbols, resets out of sync)") {
    const PeakedHashModel<P> model(B + P);
    std::vector<std::string> docs = shaped_documents(rng, 150);
    for (double follow : {1.0, 0.995, 0.9, 0.5}) docs.push_back(model.make_document(1500, follow, rng));
    all += check_segmenter_round_trip<B, Q>(model, docs);
  }
  SECTION("adversarial: wrong-peak model (every symbol unlikely)") {
    const WrongPeakModel<P> model;
    std::vector<std::string> docs = shaped_documents(rng, 100);
    for (int i = 0; i < 4; ++i) docs.push_back(WrongPeakModel<P>::successor_document(200 + rng() % 200, static_cast<unsigned char>(rng())));
    all += check_segmenter_round_trip<B, Q>(model, docs);
  }
}

TEMPLATE_LIST_TEST_CASE("Equal-Info window encoder: exact codewords, greedy K, maximal k", "[equal_info]", WindowConfigs) {
  constexpr unsigned B = TestType::kWindowBits;
  constexpr unsigned P = TestType::kFrequencyBits;
  constexpr unsigned Q = TestType::kStateBits;
  std::mt19937_64 rng(B * 7 + P * 3 + Q);
  MaximalityCounts counts;
  const auto text = eqinfo_test::make_document(DocShape::kText, 600, rng);

  SECTION("uniform model") {
    const UniformModel<P> model;
    for (DocShape shape : eqinfo_test::kAllDocShapes)
      check_windows<B, P, Q>(model, eqinfo_test::document_symbols(eqinfo_test::make_document(shape, 150, rng)), counts);
  }
  SECTION("static model counted on text") {
    const StaticModel<P> model(eqinfo_test::counts_of(text));
    check_windows<B, P, Q>(model, eqinfo_test::document_symbols(text), counts);
    check_windows<B, P, Q>(model, eqinfo_test::document_symbols(eqinfo_test::make_document(DocShape::kBinary, 100, rng)), counts);
  }
  SECTION("skewed static model") {
    const StaticModel<P> model(eqinfo_test::skewed_counts('a'));
    std::string d;
    for (int i = 0; i < 6; ++i) {
      d.append(rng() % 700, 'a');
      d.push_back(static_cast<char>(rng() % 256));
    }
    check_windows<B, P, Q>(model, eqinfo_test::document_symbols(d), counts);
    // About b 2^P / 369 'a's fill a window.  A run that nearly fills one,
    // then a rare byte that does not fit, is where windows close below the
    // greedy count: I_K's whole cells then lie inside the peak child.
    const std::size_t per_window = std::size_t{B} * (std::size_t{1} << P) / 369;
    std::string runs;
    while (runs.size() < 16000) {
      runs.append(per_window * 7 / 10 + rng() % (per_window * 3 / 10 + 1), 'a');
      runs.push_back(static_cast<char>('b' + rng() % 20));
    }
    check_windows<B, P, Q>(model, eqinfo_test::document_symbols(runs), counts);
  }
  SECTION("peaked hash model") {
    const PeakedHashModel<P> model(11);
    for (double follow : {1.0, 0.99, 0.7})
      check_windows<B, P, Q>(model, eqinfo_test::document_symbols(model.make_document(800, follow, rng)), counts);
  }
  SECTION("wrong-peak model") {
    const WrongPeakModel<P> model;
    check_windows<B, P, Q>(model, eqinfo_test::document_symbols(WrongPeakModel<P>::successor_document(300, 7)), counts);
    check_windows<B, P, Q>(model, eqinfo_test::document_symbols(text.substr(0, 200)), counts);
  }
  INFO("windows " << counts.windows << ", below greedy " << counts.fallback_windows << ", candidate cells decoded "
                  << counts.candidates_checked << ", codewords enumerated " << counts.enumerated_codewords);
  CHECK(counts.windows > 0);
}

// ---------------------------------------------------------------------------
// Brute force at b = 16: decode every one of the 2^16 codewords.

namespace {

// Every 16-bit codeword with the sequence it decodes to, sorted by
// (sequence, codeword) so that the lowest codeword of a sequence comes first.
struct Codebook {
  std::vector<std::pair<std::vector<Symbol>, std::uint32_t>> entries;

  [[nodiscard]] const std::pair<std::vector<Symbol>, std::uint32_t>* exact(const std::vector<Symbol>& seq) const {
    auto it = std::lower_bound(entries.begin(), entries.end(), std::make_pair(seq, std::uint32_t{0}));
    return it != entries.end() && it->first == seq ? &*it : nullptr;
  }
  // Some codeword decodes to a sequence that starts with `prefix`.
  [[nodiscard]] bool has_prefix(const std::vector<Symbol>& prefix) const {
    auto it = std::lower_bound(entries.begin(), entries.end(), std::make_pair(prefix, std::uint32_t{0}));
    return it != entries.end() && it->first.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), it->first.begin());
  }
};

template <unsigned P, unsigned Q, class M>
Codebook decode_all_codewords(const M& model) {
  constexpr unsigned B = 16;
  Codebook book;
  book.entries.reserve(1u << B);
  BitVector word;
  for (std::uint32_t c = 0; c < (1u << B); ++c) {
    word.clear();
    word.append_bits(c, B);
    auto seq = decode_window<B, P, Q>(model, word);
    EQINFO_FAST_REQUIRE(!seq.empty());  // totality: every codeword decodes to >= 1 symbol
    book.entries.emplace_back(std::move(seq), c);
  }
  std::sort(book.entries.begin(), book.entries.end());
  return book;
}

template <unsigned P, unsigned Q, class M>
void check_against_codebook(const M& model, const Codebook& book, const std::vector<Symbol>& symbols,
                            std::size_t& fallback_windows) {
  constexpr unsigned B = 16;
  for (const auto& w : encode_windows<B, P, Q>(model, symbols)) {
    INFO("window at symbol " << w.start << ": " << w.symbols << " symbols, greedy " << w.greedy);
    fallback_windows += w.symbols < w.greedy;
    const auto window_prefix = [&](std::size_t k) {
      return std::vector<Symbol>(symbols.begin() + w.start, symbols.begin() + w.start + k);
    };
    // The codeword decodes to the window, and is the lowest one that does.
    const auto* hit = book.exact(window_prefix(w.symbols));
    REQUIRE(hit != nullptr);
    REQUIRE(hit->second == w.codeword.read_bits(0, B));
    // Maximality: no codeword ends the window after k' symbols, k < k' <= K.
    for (std::size_t k = w.symbols + 1; k <= w.greedy; ++k) REQUIRE(book.exact(window_prefix(k)) == nullptr);
    // Greedy K: some codeword's cell lies inside I_K, none inside I_{K+1}.
    REQUIRE(book.has_prefix(window_prefix(w.greedy)));
    if (!w.closed_on_eos) REQUIRE_FALSE(book.has_prefix(window_prefix(w.greedy + 1)));
  }
}

template <unsigned P, unsigned Q, class M>
void brute_force_b16(const M& model, const std::vector<std::string>& docs, std::size_t& fallback_windows) {
  const Codebook book = decode_all_codewords<P, Q>(model);
  REQUIRE(book.entries.size() == (1u << 16));
  for (const auto& d : docs) check_against_codebook<P, Q>(model, book, eqinfo_test::document_symbols(d), fallback_windows);
}

}  // namespace

TEMPLATE_TEST_CASE("Equal-Info b=16 brute force over all 2^16 codewords", "[equal_info][brute_force]",
                   (Config<16, 9>), (Config<16, 12>), (Config<16, 14>), (Config<16, 16>), (Config<16, 9, 11>),
                   (Config<16, 16, 40>)) {
  constexpr unsigned P = TestType::kFrequencyBits;
  constexpr unsigned Q = TestType::kStateBits;
  std::mt19937_64 rng(P * 31 + Q);
  std::vector<std::string> docs;
  for (DocShape shape : eqinfo_test::kAllDocShapes) docs.push_back(eqinfo_test::make_document(shape, 120, rng));
  std::size_t fallback_windows = 0;

  SECTION("uniform model") { brute_force_b16<P, Q>(UniformModel<P>{}, docs, fallback_windows); }
  SECTION("static model counted on text") {
    const auto text = eqinfo_test::make_document(DocShape::kText, 2000, rng);
    docs.push_back(text.substr(0, 400));
    brute_force_b16<P, Q>(StaticModel<P>(eqinfo_test::counts_of(text)), docs, fallback_windows);
  }
  if constexpr (P == 12 || P == 14) SECTION("moderately skewed static model (one byte ~3/4)") {
    eqinfo::SymbolCounts counts{};
    for (auto& c : counts) c = 1;
    counts['a'] = 3 * 257;
    std::string runs;
    for (int i = 0; i < 10; ++i) {
      runs.append(rng() % 60, 'a');
      runs.push_back(static_cast<char>(rng() % 256));
    }
    docs.push_back(runs);
    brute_force_b16<P, Q>(StaticModel<P>(counts), docs, fallback_windows);
  }
  SECTION("context-dependent peaked model (peak 1/2), documents following its chain") {
    // The window decoder resets the model, so a codeword decodes the same
    // wherever it occurs: the codebook holds for context-dependent models too.
    const PeakedHashModel<P> model(P, std::uint32_t{1} << (P - 1));
    for (double follow : {1.0, 0.9, 0.6}) docs.push_back(model.make_document(300, follow, rng));
    brute_force_b16<P, Q>(model, docs, fallback_windows);
  }
  if constexpr (P == 9) {
    SECTION("extremely peaked models (largest peak P = 9 allows)") {
      const PeakedHashModel<P> peaked(77);
      for (double follow : {1.0, 0.95}) docs.push_back(peaked.make_document(400, follow, rng));
      brute_force_b16<P, Q>(peaked, docs, fallback_windows);
    }
    SECTION("wrong-peak model") {
      docs.push_back(WrongPeakModel<P>::successor_document(300, 9));
      brute_force_b16<P, Q>(WrongPeakModel<P>{}, docs, fallback_windows);
    }
  }
  INFO("windows closed below greedy: " << fallback_windows);
  SUCCEED();
}

TEMPLATE_TEST_CASE("Equal-Info window decoder is total on random codewords", "[equal_info]", (Config<16, 9>),
                   (Config<16, 16>), (Config<24, 12>), (Config<32, 16>), (Config<64, 14>), (Config<128, 12>),
                   (Config<32, 12, 16>)) {
  constexpr unsigned B = TestType::kWindowBits;
  constexpr unsigned P = TestType::kFrequencyBits;
  constexpr unsigned Q = TestType::kStateBits;
  std::mt19937_64 rng(B + P + Q);
  const auto check_model = [&](const auto& model, int codewords) {
    BitVector word;
    for (int i = 0; i < codewords; ++i) {
      word.clear();
      for (unsigned j = 0; j < B; ++j) word.push_back(i < 2 ? i == 1 : (rng() & 1));  // all-zero, all-one, random
      const auto seq = decode_window<B, P, Q>(model, word);
      EQINFO_FAST_REQUIRE(!seq.empty());
    }
  };
  check_model(UniformModel<P>{}, 2000);
  check_model(StaticModel<P>(eqinfo_test::skewed_counts(0)), 300);
  check_model(WrongPeakModel<P>{}, 1000);
  if constexpr (P <= 12) check_model(PeakedHashModel<P>(5), 300);
}

TEST_CASE("Equal-Info segmenter on garbage and truncated streams", "[equal_info]") {
  std::mt19937_64 rng(99);
  const UniformModel<14> uniform;
  const StaticModel<14> skewed(eqinfo_test::skewed_counts(' '));

  SECTION("random bits decode window by window without error") {
    for (int trial = 0; trial < 30; ++trial) {
      BitVector bits;
      const std::size_t windows = rng() % 40;
      for (std::size_t i = 0; i < windows * 24 + rng() % 24; ++i) bits.push_back(rng() & 1);
      DecodeResult r;
      const std::size_t consumed = EqualInfoSegmenter<UniformModel<14>, 24>(uniform).decode(bits, r);
      REQUIRE(consumed == windows * 24);
      REQUIRE(r.windows == windows);
      std::size_t bytes = 0;
      for (const auto& d : r.documents) bytes += d.size();
      // Each window yields >= 1 symbol: a byte or a document-ending EOS.
      REQUIRE(bytes + r.documents.size() >= windows - (r.issues & eqinfo::kUnterminatedDocument ? 1 : 0));
      DecodeResult s;
      EqualInfoSegmenter<StaticModel<14>, 24>(skewed).decode(bits, s);
      REQUIRE(s.windows == windows);
    }
  }
  SECTION("an empty stream decodes to nothing") {
    DecodeResult r;
    CHECK(EqualInfoSegmenter<UniformModel<14>, 16>(uniform).decode(BitVector{}, r) == 0);
    CHECK(r.ok());
    CHECK(r.documents.empty());
    CHECK(r.windows == 0);
  }
  SECTION("dropping the last window leaves an unterminated prefix") {
    const std::string doc = eqinfo_test::make_document(DocShape::kText, 200, rng);
    const EqualInfoSegmenter<UniformModel<14>, 16> seg(uniform);
    BitVector bits;
    WindowStats stats;
    seg.encode_document("first", bits, &stats);
    seg.encode_document(doc, bits, &stats);
    REQUIRE(stats.windows > 3);
    for (std::size_t drop = 1; drop <= 3; ++drop) {
      BitVector cut;
      for (std::size_t i = 0; i + drop * 16 < bits.size(); ++i) cut.push_back(bits[i]);
      DecodeResult r;
      REQUIRE(seg.decode(cut, r) == cut.size());
      CHECK(r.issues == eqinfo::kUnterminatedDocument);
      REQUIRE(r.documents.size() == 2);
      CHECK(r.documents[0] == "first");
      // The dropped windows held >= `drop` symbols, one of them the EOS.
      CHECK(r.documents[1].size() + (drop - 1) <= doc.size());
      CHECK(doc.starts_with(r.documents[1]));
    }
  }
  SECTION("a partial trailing window is not decoded") {
    const EqualInfoSegmenter<UniformModel<14>, 32> seg(uniform);
    BitVector bits;
    seg.encode_document("abc", bits);
    const std::size_t whole = bits.size();
    bits.append_bits(0x5, 7);
    DecodeResult r;
    CHECK(seg.decode(bits, r) == whole);
    CHECK(r.ok());
    REQUIRE(r.documents.size() == 1);
    CHECK(r.documents[0] == "abc");
  }
}

TEST_CASE("Equal-Info with a uniform 14-bit model: about 2 bytes per 16-bit window", "[equal_info]") {
  // log2(257) ~ 8.006 bits per symbol: a 16-bit window holds 1 or 2 symbols.
  std::mt19937_64 rng(5);
  const std::string doc = eqinfo_test::make_document(DocShape::kBinary, 2000, rng);
  WindowStats stats;
  BitVector bits;
  EqualInfoSegmenter<UniformModel<14>, 16>(UniformModel<14>{}).encode_document(doc, bits, &stats);
  const double per_window = static_cast<double>(stats.symbols) / static_cast<double>(stats.windows);
  CHECK(per_window > 1.0);
  CHECK(per_window <= 2.0);
  // And b = 128 packs far more per window (~15.9 symbols).
  WindowStats wide;
  BitVector wide_bits;
  EqualInfoSegmenter<UniformModel<14>, 128>(UniformModel<14>{}).encode_document(doc, wide_bits, &wide);
  CHECK(static_cast<double>(wide.symbols) / static_cast<double>(wide.windows) > 14.0);
}

// ---------------------------------------------------------------------------
// ModelResetEvery > 1 (the paper's reset-less-often ablation).

namespace {

// Reference encoder for ModelResetEvery = R: the model context holds exactly
// the document's symbols since the start of the current group of R windows.
template <unsigned B, unsigned R, class M>
BitVector reference_grouped_encode(const M& model, const std::string& doc) {
  using WindowEncoder = EqualInfoWindowEncoder<B, M::kFrequencyBits>;
  const auto symbols = eqinfo_test::document_symbols(doc);
  WindowEncoder window;
  BitVector out;
  std::size_t pos = 0, group_start = 0, windows = 0;
  while (pos < symbols.size()) {
    if (windows % R == 0) group_start = pos;
    auto ctx = model.new_context();
    model.reset(ctx);
    for (std::size_t i = group_start; i < pos; ++i) model.advance(ctx, symbols[i]);
    window.begin();
    for (std::size_t i = pos;; ++i) {
      if (window.offer(model.predict(ctx), symbols[i]) == WindowEncoder::Offer::kClosed) break;
      model.advance(ctx, symbols[i]);
    }
    out.append(window.codeword());
    pos += window.window_symbols();
    ++windows;
  }
  return out;
}

template <unsigned B, unsigned R, class M>
void check_grouped(const M& model, const std::vector<std::string>& docs) {
  const EqualInfoSegmenter<M, B, R> segmenter(model);
  STATIC_REQUIRE(EqualInfoSegmenter<M, B, R>::kModelResetEvery == R);
  BitVector bits;
  WindowStats stats;
  for (const auto& d : docs) {
    const std::size_t before = bits.size();
    segmenter.encode_document(d, bits, &stats);
    BitVector own;
    for (std::size_t i = before; i < bits.size(); ++i) own.push_back(bits[i]);
    REQUIRE(own == reference_grouped_encode<B, R>(model, d));
  }
  REQUIRE(bits.size() == stats.windows * B);
  DecodeResult r;
  REQUIRE(segmenter.decode(bits, r) == bits.size());
  REQUIRE(r.ok());
  REQUIRE(r.windows == stats.windows);
  REQUIRE(r.documents == docs);
  // Under an output limit the sequential decoder stops exactly there.
  std::string all;
  for (const auto& d : docs) all += d;
  for (std::size_t limit : {all.size() - 1, all.size() / 2, std::size_t{0}}) {
    DecodeResult limited;
    limited.output_limit = limit;
    segmenter.decode(bits, limited);
    std::string got;
    for (const auto& d : limited.documents) got += d;
    CHECK(limited.issues == eqinfo::kOutputLimit);
    CHECK(got == all.substr(0, limit));
    CHECK(limited.output_bytes == limit);
  }
}

}  // namespace

TEST_CASE("Equal-Info with the model reset every R windows", "[equal_info][reset_every]") {
  std::mt19937_64 rng(2024);
  const PeakedHashModel<12> peaked(3);
  const WrongPeakModel<12> wrong;
  std::vector<std::string> docs;
  docs.push_back(peaked.make_document(2000, 0.97, rng));
  docs.push_back("");
  docs.push_back(WrongPeakModel<12>::successor_document(300, 40));
  docs.push_back(eqinfo_test::make_document(DocShape::kText, 500, rng));
  docs.push_back("x");
  docs.push_back(peaked.make_document(700, 1.0, rng));

  SECTION("R = 2, 3, 7 round-trip and match a reference encoder") {
    check_grouped<16, 2>(peaked, docs);
    check_grouped<32, 3>(peaked, docs);
    check_grouped<24, 7>(wrong, docs);
    check_grouped<64, 2>(wrong, docs);
  }
  SECTION("R = 1 through the grouped reference is the method proper") {
    BitVector proper;
    EqualInfoSegmenter<PeakedHashModel<12>, 32>(peaked).encode_document(docs[0], proper);
    CHECK(proper == reference_grouped_encode<32, 1>(peaked, docs[0]));
  }
  SECTION("a context-dependent model codes differently with R > 1; a context-free one does not") {
    BitVector r1, r4;
    EqualInfoSegmenter<PeakedHashModel<12>, 32, 1>(peaked).encode_document(docs[0], r1);
    EqualInfoSegmenter<PeakedHashModel<12>, 32, 4>(peaked).encode_document(docs[0], r4);
    // Keeping the context in sync with the document makes the peaked model
    // predict the chain at every window start, so fewer windows are needed.
    CHECK(r4 != r1);
    CHECK(r4.size() < r1.size());
    const UniformModel<14> uniform;
    BitVector u1, u4;
    EqualInfoSegmenter<UniformModel<14>, 32, 1>(uniform).encode_document(docs[3], u1);
    EqualInfoSegmenter<UniformModel<14>, 32, 4>(uniform).encode_document(docs[3], u4);
    CHECK(u1 == u4);
  }
  SECTION("decoding with the wrong R does not reproduce the documents") {
    BitVector bits;
    EqualInfoSegmenter<PeakedHashModel<12>, 32, 4>(peaked).encode_document(docs[0], bits);
    DecodeResult r;
    EqualInfoSegmenter<PeakedHashModel<12>, 32, 1>(peaked).decode(bits, r);
    CHECK((r.documents.size() != 1 || r.documents[0] != docs[0]));
  }
}

// encode_documents with a model that has no batches or look-ahead falls back
// to encode_document per document (the lockstep path is tested with M1 in
// transformer_model_test.cpp).
TEST_CASE("encode_documents == encode_document per document for models without batched look-ahead", "[equal_info]") {
  std::mt19937_64 rng(41);
  std::vector<std::string> docs{"", "a", "The window closes when the next byte no longer fits.", std::string(500, 'x')};
  std::string random_bytes(257, '\0');
  for (auto& c : random_bytes) c = static_cast<char>(rng());
  docs.push_back(random_bytes);
  const std::vector<std::string_view> views(docs.begin(), docs.end());
  const auto same = [&]<unsigned B, unsigned R>(const auto& model) {
    using M = std::remove_cvref_t<decltype(model)>;
    STATIC_REQUIRE(!eqinfo::LookaheadBatchModel<M>);
    const EqualInfoSegmenter<M, B, R> seg(model);
    WindowStats one_stats, many_stats;
    std::vector<BitVector> many(views.size());
    seg.encode_documents(views, many, &many_stats);
    for (std::size_t i = 0; i < views.size(); ++i) {
      BitVector one;
      seg.encode_document(views[i], one, &one_stats);
      REQUIRE(many[i] == one);
    }
    REQUIRE(many_stats.windows == one_stats.windows);
    REQUIRE(many_stats.symbols == one_stats.symbols);
  };
  same.template operator()<16, 1>(UniformModel<12>{});
  same.template operator()<16, 1>(PeakedHashModel<12>(3));
  same.template operator()<32, 2>(PeakedHashModel<14>(4));
}
