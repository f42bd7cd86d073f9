// Equal-Info windows: text is cut into windows that each compress to exactly
// b bits; model and coder restart at every window, so every window decodes on
// its own from its b bits and the model alone.
//
// The termination rule (proof in docs/design.md, "Window termination"):
//   * A window's b bits name a cell C = [c 2^-b, (c+1) 2^-b) of [0, 1).
//   * DECODER: emit the next symbol while C lies wholly inside one child
//     interval of the current interval; stop at the first step where C
//     straddles a child boundary, and right after decoding EOS.  Testing
//     "C inside one child" = decoding the two points c.000... and c.111...
//     and checking that they agree.
//   * ENCODER: with s_1..s_k coded (interval I_k), the window may end after
//     s_k iff s_k = EOS and I_k contains a whole cell, or some whole cell of
//     I_k straddles a boundary between two children of I_k.  The encoder adds
//     symbols greedily while the next symbol's interval still contains a
//     whole cell (K symbols), and closes the window at the largest k <= K at
//     which it may end, choosing the lowest such cell as the codeword.
//   * PROGRESS: with P <= b every root child is a union of whole cells; if no
//     k <= K could end the window, every I_k would be cell-aligned and so
//     would I_{K+1}, which then holds a whole cell, contradicting the choice
//     of K.  Hence every window holds >= 1 symbol and a codeword always exists.
//
// Nothing else is needed to decode: no lengths, no look-ahead, no side
// channel, and every b-bit string decodes to >= 1 symbol.
#pragma once

#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eqinfo/arithmetic_coder.hpp"
#include "eqinfo/decode_result.hpp"
#include "eqinfo/model.hpp"

namespace eqinfo {

inline constexpr unsigned kDefaultStateBits = 32;

// The precision constraint of the termination proof: every symbol, even at
// probability 2^-P, must cover at least one whole b-bit cell at the root.
template <unsigned WindowBits, unsigned FrequencyBits>
inline constexpr bool kWindowFitsEverySymbol = FrequencyBits <= WindowBits;

// A loose upper bound on the symbols one window can hold (and so on the steps
// any decoder takes on any window): every child has at most
// 1 - 256/2^P + 2^-(Q-1)*256 <= 1 - 128/2^P of its parent's width, both
// decoder points stay 2^-b apart, so after (b+1) 2^P/128 steps they must part.
template <unsigned WindowBits, unsigned FrequencyBits>
inline constexpr std::size_t kMaxWindowSymbols = (std::size_t{WindowBits} + 1) * (std::size_t{1} << FrequencyBits) / 128 + 16;

struct WindowStats {
  std::size_t windows = 0;
  std::size_t symbols = 0;         // symbols placed in windows (bytes + EOS)
  std::size_t greedy_symbols = 0;  // what greedy filling (K per window) would have placed
  std::size_t fallback_windows = 0;  // windows closed below K

  WindowStats& operator+=(const WindowStats& o) {
    windows += o.windows;
    symbols += o.symbols;
    greedy_symbols += o.greedy_symbols;
    fallback_windows += o.fallback_windows;
    return *this;
  }
};

// Builds one window, one symbol at a time.  A state machine rather than a
// loop over the model so that drivers can batch many windows, or feed
// predictions computed ahead of time.
template <unsigned WindowBits, unsigned FrequencyBits, unsigned StateBits = kDefaultStateBits>
class EqualInfoWindowEncoder {
  static_assert(StateBits >= FrequencyBits + 2, "the window step bound (kMaxWindowSymbols) needs StateBits >= FrequencyBits + 2");
  static_assert(kWindowFitsEverySymbol<WindowBits, FrequencyBits>,
                "Equal-Info windows need FrequencyBits <= WindowBits: a symbol of probability 2^-P must fit in one "
                "b-bit window (docs/design.md, precision constraint)");

 public:
  using Table = FrequencyTable<FrequencyBits>;
  using Encoder = ArithmeticEncoder<StateBits, FrequencyBits>;
  enum class Offer { kAccepted, kClosed };

  EqualInfoWindowEncoder() { steps_.reserve(64); }

  void begin() {
    encoder_.reset();
    steps_.clear();
    best_k_ = 0;
    best_cum_ = 0;
    best_is_eos_ = false;
    greedy_k_ = 0;
  }

  // Offers the next symbol `s`, with the table that predicts it.
  //   kAccepted: s is in the window; offer the next one.
  //   kClosed:   the window is complete and holds window_symbols() of the
  //              symbols offered (the rest belong to the next window).
  Offer offer(const Table& table, Symbol s) {
    const std::size_t k = steps_.size();
    // May the window end after s_1..s_k?  `table` partitions I_k into its children.
    if (k >= 1) {
      if (auto cum = straddled_boundary(table)) {
        best_k_ = k;
        best_cum_ = *cum;
        best_is_eos_ = false;
      }
    }
    encoder_.encode(table, s);
    if (!holds_whole_cell()) {
      greedy_k_ = k;
      close();
      return Offer::kClosed;
    }
    steps_.emplace_back(table.low(s), table.frequency(s));
    EQINFO_INVARIANT((steps_.size() <= kMaxWindowSymbols<WindowBits, FrequencyBits>), "window exceeds its symbol bound");
    if (s == kEos) {
      best_k_ = greedy_k_ = k + 1;
      best_is_eos_ = true;
      close();
      return Offer::kClosed;
    }
    return Offer::kAccepted;
  }

  [[nodiscard]] std::size_t window_symbols() const noexcept { return best_k_; }
  [[nodiscard]] std::size_t greedy_symbols() const noexcept { return greedy_k_; }
  [[nodiscard]] const BitVector& codeword() const noexcept { return codeword_; }

 private:
  // log2 of the cell size in coder units (2^-(n+Q)); <= 0 means cells are no
  // larger than a unit, so every child boundary sits on the cell grid.
  [[nodiscard]] static long cell_shift(const Encoder& e) noexcept {
    return static_cast<long>(e.emitted_bits()) + long{StateBits} - long{WindowBits};
  }

  [[nodiscard]] bool holds_whole_cell() const noexcept {
    const long s = cell_shift(encoder_);
    if (s <= 0) return true;  // range > 2^(Q-1) units >= one cell
    if (s > long{StateBits}) return false;
    return encoder_.aligned_block_fits(static_cast<unsigned>(s));
  }

  // A child boundary of the current interval lying strictly inside a whole
  // cell of it, as its cumulative frequency; nullopt if there is none.
  [[nodiscard]] std::optional<std::uint32_t> straddled_boundary(const Table& table) const noexcept {
    const long shift = cell_shift(encoder_);
    if (shift <= 0 || shift > long{StateBits}) return std::nullopt;
    const unsigned s = static_cast<unsigned>(shift);
    const std::uint64_t mask = (std::uint64_t{1} << s) - 1;
    const std::uint64_t low = encoder_.low(), range = encoder_.range();
    const std::uint64_t first = encoder_.first_aligned(s);        // first whole cell starts here
    const std::uint64_t end = (low + range) & ~mask;                // last whole cell ends here
    if (first >= end) return std::nullopt;                          // no whole cell
    const auto point = [&](std::size_t j) { return low + Encoder::boundary(range, table.cumulative(j)); };
    // Boundaries rise with j: binary-search the first internal one above `first`.
    std::size_t lo = 1, hi = kAlphabetSize;
    while (lo < hi) {
      const std::size_t mid = (lo + hi) / 2;
      if (point(mid) > first) hi = mid; else lo = mid + 1;
    }
    for (std::size_t j = lo; j < kAlphabetSize && point(j) < end; ++j)
      if (point(j) & mask) return table.cumulative(j);
    return std::nullopt;
  }

  void close() {
    EQINFO_INVARIANT(best_k_ >= 1, "Equal-Info progress guarantee violated: no valid codeword");
    if (best_k_ == 0) throw std::logic_error("EqualInfoWindowEncoder: no codeword (progress guarantee violated)");
    Encoder replay;
    for (std::size_t i = 0; i < best_k_; ++i) replay.encode(steps_[i].first, steps_[i].second);
    const long shift = cell_shift(replay);
    std::uint64_t offset;
    if (best_is_eos_) {
      // Any whole cell of I_k will do: EOS stops the decoder.
      offset = shift <= 0 ? replay.low() : replay.first_aligned(static_cast<unsigned>(shift));
    } else {
      const std::uint64_t mask = (std::uint64_t{1} << shift) - 1;
      offset = (replay.low() + Encoder::boundary(replay.range(), best_cum_)) & ~mask;
    }
    codeword_ = replay.codeword_for_cell(offset, WindowBits);
    EQINFO_INVARIANT(codeword_.size() == WindowBits, "window codeword is not exactly b bits");
  }

  Encoder encoder_;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> steps_;  // (cumulative, frequency) of each accepted symbol
  std::size_t best_k_ = 0;
  std::uint32_t best_cum_ = 0;
  bool best_is_eos_ = false;
  std::size_t greedy_k_ = 0;
  BitVector codeword_;
};

// Reads one window back: feed it the prediction for the next symbol, get the
// symbol, or nullopt once the window holds no more.
template <unsigned WindowBits, unsigned FrequencyBits, unsigned StateBits = kDefaultStateBits>
class EqualInfoWindowDecoder {
  static_assert(StateBits >= FrequencyBits + 2, "the window step bound (kMaxWindowSymbols) needs StateBits >= FrequencyBits + 2");

 public:
  using Table = FrequencyTable<FrequencyBits>;

  // The window is bits[begin, begin + WindowBits).
  void begin(const BitVector& bits, std::size_t begin) {
    low_point_.reset({&bits, begin, begin + WindowBits, false});  // c.000...
    high_point_.reset({&bits, begin, begin + WindowBits, true});  // c.111... = just below (c+1) 2^-b
    steps_ = 0;
    done_ = false;
  }

  std::optional<Symbol> next(const Table& table) {
    if (done_) return std::nullopt;
    const Symbol s = low_point_.peek(table);
    if (s != high_point_.peek(table) || steps_ == kMaxWindowSymbols<WindowBits, FrequencyBits>) {
      done_ = true;  // the cell straddles a boundary: the window ends here
      return std::nullopt;
    }
    low_point_.consume(table, s);
    high_point_.consume(table, s);
    ++steps_;
    if (s == kEos) done_ = true;
    return s;
  }

  [[nodiscard]] bool done() const noexcept { return done_; }

 private:
  ArithmeticDecoder<StateBits, FrequencyBits> low_point_, high_point_;
  std::size_t steps_ = 0;
  bool done_ = false;
};

// The segmenter policy: documents <-> a bitstream of b-bit windows.
//
// ModelResetEvery = k resets the MODEL only at every k-th window of a
// document (the coder still restarts at every window, so windows stay exactly
// b bits and self-delimiting); k = 1 is the method proper.  k > 1 is the
// paper's ablation (Table 9: resetting M1 less often destroys learnability).
// With k > 1 a window's context depends on the windows before it, so decoding
// is sequential.
template <Model M, unsigned WindowBits, unsigned ModelResetEvery = 1, unsigned StateBits = kDefaultStateBits>
class EqualInfoSegmenter {
  static_assert(ModelResetEvery >= 1, "ModelResetEvery must be >= 1");

 public:
  static constexpr unsigned kWindowBits = WindowBits;
  static constexpr unsigned kModelResetEvery = ModelResetEvery;
  static constexpr unsigned kFrequencyBits = M::kFrequencyBits;
  using WindowEncoder = EqualInfoWindowEncoder<WindowBits, kFrequencyBits, StateBits>;
  using WindowDecoder = EqualInfoWindowDecoder<WindowBits, kFrequencyBits, StateBits>;

  explicit EqualInfoSegmenter(const M& model, std::size_t decode_batch = 64)
      : model_(&model), decode_batch_(decode_batch == 0 ? 1 : decode_batch) {}

  // For ChunkedTokenizer.  N <= b: the zero padding of the last token (< N
  // bits) can then never hold a whole window (docs/design.md §3.5).
  static EqualInfoSegmenter from_settings(const M& model, unsigned token_bits, std::size_t decode_batch) {
    if (token_bits > WindowBits)
      throw std::invalid_argument("token bits (N = " + std::to_string(token_bits) + ") must not exceed window bits (b = " +
                                  std::to_string(WindowBits) + "): the zero padding of the last token could then hide whole windows");
    return EqualInfoSegmenter(model, decode_batch);
  }

  // Appends the windows of one document (its bytes, then EOS) to `out`.
  void encode_document(std::string_view document, BitVector& out, WindowStats* stats = nullptr) const {
    auto ctx = model_->new_context();
    WindowEncoder window;
    WindowStats local;
    std::size_t pos = 0;          // next symbol of the document to place; index size() is EOS
    std::size_t group_start = 0;  // where the model context was last reset
    std::size_t offered = kFirstWindowOffers;  // symbols the last window was offered
    const std::size_t n = document.size() + 1;
    const auto symbol_at = [&](std::size_t i) -> Symbol {
      return i < document.size() ? static_cast<unsigned char>(document[i]) : kEos;
    };
    while (pos < n) {
      begin_window(ctx, window, local.windows, group_start, pos, symbol_at);
      offered = offer_window(ctx, window, pos, n, offered, symbol_at);
      out.append(window.codeword());
      pos += window.window_symbols();
      count_window(local, window);
    }
    if (stats) *stats += local;
  }

  // Encodes many documents: outs[i] gets the windows of docs[i], bit for bit
  // what encode_document(docs[i], outs[i]) appends.  With a
  // LookaheadBatchModel the documents run in LOCKSTEP, `lanes` at a time:
  // every round, each active document queues its next look-ahead chunk
  // exactly as offer_window would (same chunk sizes, same reset prefix), one
  // predict_each_batch runs all of them as one batch of rows, and then each
  // document offers its tables to its window.  Contexts are independent, so
  // the tables, and hence the tokens, are those of encode_document; only the
  // rows per model call change (2-4 for one document, tens here, where the
  // M1 kernel runs near peak).  At most `lanes` documents (0: kEncodeLanes)
  // are in flight; a finished document's lane takes the next document.
  // Other models: encode_document per document.
  void encode_documents(std::span<const std::string_view> docs, std::span<BitVector> outs, WindowStats* stats = nullptr,
                        std::size_t lanes = 0) const {
    if (outs.size() != docs.size()) throw std::invalid_argument("encode_documents: one output per document");
    if constexpr (LookaheadBatchModel<M>) {
      encode_lockstep(docs, outs, stats, lanes == 0 ? kEncodeLanes : lanes);
    } else {
      (void)lanes;
      for (std::size_t i = 0; i < docs.size(); ++i) encode_document(docs[i], outs[i], stats);
    }
  }

  // Offers symbols pos, pos + 1, ... of the document (n symbols, EOS last) to
  // `window` until it closes, with `ctx` holding the symbols since the last
  // reset queued; returns how many symbols it offered.  A LookaheadModel
  // gets the next several symbols queued at once and returns a table after
  // each of them (teacher forcing), so one model call covers several offers;
  // the window reads exactly the tables the one-at-a-time loop would, so the
  // tokens are the same.  Rows past the window's end are wasted, rows short
  // of it cost one more call: with M1 a row costs ~30 µs in a call of >= 2
  // rows and ~41 µs alone, so the first call covers half the offers of the
  // previous window (windows vary by about ±2 symbols) and later calls a
  // quarter, at least 2 — per window about 20 % less time than one call per
  // offer on b = 16 (docs/performance.md).
  template <class SymbolAt>
  std::size_t offer_window(typename M::Context& ctx, WindowEncoder& window, std::size_t pos, std::size_t n, std::size_t expected,
                           const SymbolAt& symbol_at) const {
    std::size_t next = pos;    // next symbol to offer
    std::size_t queued = pos;  // next symbol to queue
    std::size_t chunk = LookaheadModel<M> ? first_chunk(expected) : 1;
    for (;;) {
      // Tables for offering next .. end-1 need symbols up to end-2 run.
      const std::size_t end = std::min(next + chunk, n);
      for (; queued + 1 < end; ++queued) model_->advance(ctx, symbol_at(queued));
      std::span<const typename WindowEncoder::Table> tables;
      if constexpr (LookaheadModel<M>)
        tables = model_->predict_each(ctx);
      else
        tables = std::span<const typename WindowEncoder::Table>(&model_->predict(ctx), 1);
      const std::size_t first = tables.size() - (end - next);  // tables before `first` follow the reset prefix
      for (std::size_t k = first; next < end; ++k, ++next)
        if (window.offer(tables[k], symbol_at(next)) == WindowEncoder::Offer::kClosed) return next + 1 - pos;
      chunk = LookaheadModel<M> ? later_chunk(expected) : 1;
    }
  }

  // Decodes every whole window of bits[0, size); returns the bits consumed.
  std::size_t decode(const BitVector& bits, DecodeResult& result) const {
    const std::size_t windows = bits.size() / WindowBits;
    std::vector<std::string> text(windows);
    std::vector<char> ends_document(windows, 0);
    if constexpr (ModelResetEvery == 1)
      decode_independent(bits, text, ends_document);
    else
      decode_sequential(bits, text, ends_document);
    // Windows ending in EOS close a document; the rest continue it.
    std::string current;
    bool open = false;
    for (std::size_t w = 0; w < windows; ++w) {
      current += text[w];
      open = true;
      if (ends_document[w]) {
        result.documents.push_back(std::move(current));
        current.clear();
        open = false;
      }
    }
    if (open) {
      result.documents.push_back(std::move(current));
      result.issues |= kUnterminatedDocument;
    }
    result.windows += windows;
    return windows * WindowBits;
  }

  [[nodiscard]] const M& model() const noexcept { return *model_; }

 private:
  // Windows are independent, so they are decoded `decode_batch` at a time in
  // lockstep, giving batch-capable models one call per step.
  void decode_independent(const BitVector& bits, std::vector<std::string>& text, std::vector<char>& ends_document) const {
    const std::size_t windows = text.size();
    std::vector<typename M::Context> contexts;
    std::vector<WindowDecoder> decoders;
    std::vector<std::size_t> active;
    std::vector<typename M::Context*> batch;
    for (std::size_t first = 0; first < windows; first += decode_batch_) {
      const std::size_t count = std::min(decode_batch_, windows - first);
      contexts.clear();
      decoders.assign(count, WindowDecoder{});
      active.clear();
      for (std::size_t i = 0; i < count; ++i) {
        contexts.push_back(model_->new_context());
        model_->reset(contexts.back());
        decoders[i].begin(bits, (first + i) * WindowBits);
        active.push_back(i);
      }
      while (!active.empty()) {
        batch.clear();
        for (auto i : active) batch.push_back(&contexts[i]);
        prepare_batch(*model_, std::span<typename M::Context* const>(batch));
        std::size_t kept = 0;
        for (auto i : active) {
          const auto s = decoders[i].next(model_->predict(contexts[i]));
          if (!s) continue;
          if (*s == kEos) {
            ends_document[first + i] = 1;
            continue;
          }
          text[first + i].push_back(static_cast<char>(*s));
          model_->advance(contexts[i], *s);
          active[kept++] = i;
        }
        active.resize(kept);
      }
    }
  }

  // ModelResetEvery > 1: the model context runs on across the windows of a
  // group, and groups restart at every document.
  void decode_sequential(const BitVector& bits, std::vector<std::string>& text, std::vector<char>& ends_document) const {
    auto ctx = model_->new_context();
    WindowDecoder decoder;
    std::size_t window_in_document = 0;
    for (std::size_t w = 0; w < text.size(); ++w) {
      if (window_in_document % ModelResetEvery == 0) model_->reset(ctx);
      decoder.begin(bits, w * WindowBits);
      while (const auto s = decoder.next(model_->predict(ctx))) {
        if (*s == kEos) {
          ends_document[w] = 1;
          break;
        }
        text[w].push_back(static_cast<char>(*s));
        model_->advance(ctx, *s);
      }
      window_in_document = ends_document[w] ? 0 : window_in_document + 1;
    }
  }

  // One document of encode_lockstep: encode_document's loop and
  // offer_window's loop unrolled into a state machine, one chunk per round.
  struct Lane {
    std::size_t doc = 0;
    std::string_view text;
    typename M::Context ctx;
    WindowEncoder window;
    WindowStats local;
    std::size_t n = 0, pos = 0, group_start = 0, offered = 0;
    std::size_t next = 0, queued = 0, chunk = 0, end = 0;  // offer_window's state
    [[nodiscard]] Symbol symbol_at(std::size_t i) const {
      return i < text.size() ? static_cast<unsigned char>(text[i]) : kEos;
    }
  };

  // encode_document's per-window prologue, then offer_window's entry.
  void start_window(Lane& l) const {
    begin_window(l.ctx, l.window, l.local.windows, l.group_start, l.pos, [&l](std::size_t i) { return l.symbol_at(i); });
    l.next = l.queued = l.pos;
    l.chunk = first_chunk(l.offered);
  }
  // offer_window's queueing of one chunk.
  void queue_chunk(Lane& l) const {
    l.end = std::min(l.next + l.chunk, l.n);
    for (; l.queued + 1 < l.end; ++l.queued) model_->advance(l.ctx, l.symbol_at(l.queued));
  }
  // offer_window's consumption of one chunk's tables; true when the document is done.
  bool consume_chunk(Lane& l, BitVector& out) const {
    const auto tables = model_->predict_each(l.ctx);  // computed by predict_each_batch
    EQINFO_INVARIANT(tables.size() >= l.end - l.next, "lockstep: fewer tables than the chunk offers");
    const std::size_t first = tables.size() - (l.end - l.next);
    for (std::size_t k = first; l.next < l.end; ++k, ++l.next)
      if (l.window.offer(tables[k], l.symbol_at(l.next)) == WindowEncoder::Offer::kClosed) {
        l.offered = l.next + 1 - l.pos;
        out.append(l.window.codeword());
        l.pos += l.window.window_symbols();
        count_window(l.local, l.window);
        if (l.pos >= l.n) return true;
        start_window(l);
        return false;
      }
    l.chunk = later_chunk(l.offered);
    return false;
  }

  void encode_lockstep(std::span<const std::string_view> docs, std::span<BitVector> outs, WindowStats* stats, std::size_t lanes) const {
    lanes = std::max<std::size_t>(1, std::min(lanes, docs.size()));
    std::vector<Lane> lane(lanes);
    std::vector<Lane*> active;
    std::vector<typename M::Context*> batch;
    std::size_t next_doc = 0;
    WindowStats total;
    const auto take = [&](Lane& l) {
      l.doc = next_doc++;
      l.text = docs[l.doc];
      l.n = l.text.size() + 1;
      l.local = WindowStats{};
      l.pos = l.group_start = 0;
      l.offered = kFirstWindowOffers;
      start_window(l);
    };
    for (auto& l : lane) {
      l.ctx = model_->new_context();
      take(l);
      active.push_back(&l);
    }
    while (!active.empty()) {
      batch.clear();
      for (Lane* l : active) {
        queue_chunk(*l);
        batch.push_back(&l->ctx);
      }
      model_->predict_each_batch(std::span<typename M::Context* const>(batch));
      std::size_t kept = 0;
      for (Lane* l : active) {
        if (consume_chunk(*l, outs[l->doc])) {
          total += l->local;
          if (next_doc == docs.size()) continue;  // the lane retires
          take(*l);
        }
        active[kept++] = l;
      }
      active.resize(kept);
    }
    if (stats) *stats += total;
  }

  // Documents encoded in lockstep by default: with M1 (b = 16) 8-16 lanes,
  // 25-50 rows per call, are as fast as any more on one thread (benchmark
  // M1/encode/simd/lockstep:128/lanes:L); 16 leaves 8 per thread on two.
  static constexpr std::size_t kEncodeLanes = 16;

  // Look-ahead rows per model call (offer_window's comment says why): the
  // first call of a window covers half the offers of the previous window,
  // later calls a quarter, at least 2.
  static std::size_t first_chunk(std::size_t expected) { return std::max<std::size_t>(expected / 2, 1); }
  static std::size_t later_chunk(std::size_t expected) { return std::max<std::size_t>(expected / 4, 2); }

  // Starts the window at `pos`, the windows-th of its document.  The context
  // must hold exactly the symbols since the last reset (a new group every
  // ModelResetEvery windows); the window just closed may have advanced it
  // past its end (fallback), so it is rebuilt rather than carried.
  template <class SymbolAt>
  void begin_window(typename M::Context& ctx, WindowEncoder& window, std::size_t windows, std::size_t& group_start,
                    std::size_t pos, const SymbolAt& symbol_at) const {
    if (windows % ModelResetEvery == 0) group_start = pos;
    model_->reset(ctx);
    for (std::size_t i = group_start; i < pos; ++i) model_->advance(ctx, symbol_at(i));
    window.begin();
  }

  static void count_window(WindowStats& stats, const WindowEncoder& window) {
    ++stats.windows;
    stats.symbols += window.window_symbols();
    stats.greedy_symbols += window.greedy_symbols();
    stats.fallback_windows += window.window_symbols() < window.greedy_symbols();
  }

  // The offers a first window is assumed to take (b = 16 with M1: ~5.7).
  static constexpr std::size_t kFirstWindowOffers = 6;

  const M* model_;
  std::size_t decode_batch_;
};

}  // namespace eqinfo
