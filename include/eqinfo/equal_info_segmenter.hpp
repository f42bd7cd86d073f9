// Equal-Info windows over documents: the segmenter policy that cuts each
// document (its bytes, then EOS) into windows of exactly b bits, and reads
// them back.  The rule of one window is equal_info_window.hpp; driving many
// documents at once is lockstep_encoder.hpp; how many look-ahead rows each
// model call runs is the model's LookaheadSchedule (model.hpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "eqinfo/decode_result.hpp"
#include "eqinfo/equal_info_window.hpp"
#include "eqinfo/lockstep_encoder.hpp"
#include "eqinfo/model.hpp"
#include "eqinfo/segmenter.hpp"

namespace eqinfo {

// One document on its way into windows, as a resumable state machine (the
// document encoder of lockstep_encoder.hpp): queue() puts the symbols the
// next chunk of offers needs into the model context, consume() offers the
// tables the model computed for them to the current window, and a closed
// window's codeword is appended to the output.  A LookaheadModel gets
// several symbols queued per call (teacher forcing) and returns a table after
// each; the window reads exactly the tables the one-symbol-at-a-time loop
// would, so the bits do not depend on the chunk sizes (the schedule).
//
// ModelResetEvery = k resets the model context at every k-th window of the
// document only; the coder restarts at every window regardless.
template <Model M, unsigned WindowBits, unsigned ModelResetEvery, unsigned StateBits>
class EqualInfoDocumentEncoder {
 public:
  using WindowEncoder = EqualInfoWindowEncoder<WindowBits, M::kFrequencyBits, StateBits>;
  using Table = typename WindowEncoder::Table;
  using Schedule = lookahead_schedule_t<M>;

  explicit EqualInfoDocumentEncoder(const M& model) : model_(&model), ctx_(model.new_context()) {}

  void start(std::string_view document) {
    text_ = document;
    n_ = document.size() + 1;
    pos_ = group_start_ = 0;
    offered_ = Schedule::kFirstWindowOffers;
    stats_ = WindowStats{};
    start_window();
  }

  // `sharing`: how many documents' rows the coming model call carries (lockstep), which the
  // schedule sizes the chunk by.
  typename M::Context& queue(std::size_t sharing) {
    // Tables for offering next_ .. end_-1 need the symbols up to end_-2 run.
    const std::size_t chunk = first_call_ ? Schedule::first_chunk(offered_, sharing) : Schedule::later_chunk(offered_, sharing);
    end_ = std::min(next_ + chunk, n_);
    for (; queued_ + 1 < end_; ++queued_) model_->advance(ctx_, symbol_at(queued_));
    return ctx_;
  }

  // `tables` ends with the tables for the chunk's offers; those before follow
  // the context's reset prefix.  Returns true when the document is done.
  bool consume(std::span<const Table> tables, BitVector& out) {
    EQINFO_INVARIANT(tables.size() >= end_ - next_, "fewer tables than the chunk offers");
    const std::size_t first = tables.size() - (end_ - next_);
    for (std::size_t k = first; next_ < end_; ++k, ++next_)
      if (window_.offer(tables[k], symbol_at(next_)) == WindowEncoder::Offer::kClosed) {
        offered_ = next_ + 1 - pos_;
        out.append(window_.codeword());
        pos_ += window_.window_symbols();
        count_window();
        if (pos_ >= n_) return true;
        start_window();
        return false;
      }
    first_call_ = false;
    return false;
  }

  [[nodiscard]] typename M::Context& context() noexcept { return ctx_; }
  [[nodiscard]] const WindowStats& stats() const noexcept { return stats_; }

 private:
  [[nodiscard]] Symbol symbol_at(std::size_t i) const {
    return i < text_.size() ? static_cast<unsigned char>(text_[i]) : kEos;
  }

  // Starts the window at pos_, the stats_.windows-th of the document.  The
  // context must hold exactly the symbols since the last reset (a new group
  // every ModelResetEvery windows); the window just closed may have advanced
  // it past its end (fallback), so it is rebuilt rather than carried.
  void start_window() {
    if (stats_.windows % ModelResetEvery == 0) group_start_ = pos_;
    model_->reset(ctx_);
    for (std::size_t i = group_start_; i < pos_; ++i) model_->advance(ctx_, symbol_at(i));
    window_.begin();
    next_ = queued_ = pos_;
    first_call_ = true;
  }

  void count_window() {
    ++stats_.windows;
    stats_.symbols += window_.window_symbols();
    stats_.greedy_symbols += window_.greedy_symbols();
    stats_.fallback_windows += window_.window_symbols() < window_.greedy_symbols();
  }

  const M* model_;
  typename M::Context ctx_;
  WindowEncoder window_;
  WindowStats stats_;
  std::string_view text_;
  std::size_t n_ = 0;            // symbols of the document: its bytes, then EOS (index size())
  std::size_t pos_ = 0;          // first symbol of the current window
  std::size_t group_start_ = 0;  // where the model context was last reset
  std::size_t offered_ = 0;      // symbols the last window was offered (the schedule's `expected`)
  std::size_t next_ = 0;         // next symbol to offer
  std::size_t queued_ = 0;       // next symbol to queue
  bool first_call_ = true;       // the next queue() is the current window's first
  std::size_t end_ = 0;          // the current chunk offers next_ .. end_-1
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
  using DocumentEncoder = EqualInfoDocumentEncoder<M, WindowBits, ModelResetEvery, StateBits>;

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

  // Appends the windows of one document (its bytes, then EOS) to `out`: the
  // lockstep encoder with one lane.
  void encode_document(std::string_view document, BitVector& out, WindowStats* stats = nullptr) const {
    encode_lockstep<DocumentEncoder>(*model_, std::span<const std::string_view>(&document, 1), std::span<BitVector>(&out, 1), stats, 1);
  }

  // Encodes many documents: outs[i] gets the windows of docs[i], bit for bit
  // what encode_document(docs[i], outs[i]) appends, with `lanes` documents in
  // lockstep (0: the model's LookaheadSchedule::kLanes; 1 for models without
  // one).  With M1 that puts tens of rows in every model call, where its
  // kernel runs near peak, instead of 2-4 for one document.
  void encode_documents(std::span<const std::string_view> docs, std::span<BitVector> outs, WindowStats* stats = nullptr,
                        std::size_t lanes = 0) const {
    encode_lockstep<DocumentEncoder>(*model_, docs, outs, stats, lanes == 0 ? lookahead_schedule_t<M>::kLanes : lanes);
  }

  // Decodes every whole window of bits[0, size); returns the bits consumed.
  // Each window's text goes into its document as soon as its batch is done,
  // so memory follows the output, not the number of windows (one string per
  // window was ~20x the token file).
  std::size_t decode(const BitVector& bits, DecodeResult& result) const {
    const std::size_t windows = bits.size() / WindowBits;
    DocumentAssembler documents(result);
    if constexpr (ModelResetEvery == 1)
      decode_independent(bits, windows, documents);
    else
      decode_sequential(bits, windows, documents);
    documents.finish();
    return windows * WindowBits;
  }

  [[nodiscard]] const M& model() const noexcept { return *model_; }

 private:
  // Joins windows into documents: a window ending in EOS closes its document,
  // the rest continue it. Counts the windows it was given.
  class DocumentAssembler {
   public:
    explicit DocumentAssembler(DecodeResult& result) : result_(result) {}
    [[nodiscard]] DecodeResult& result() noexcept { return result_; }
    // The bytes of the open document: what room_for() must count besides a window's own.
    [[nodiscard]] std::size_t open_bytes() const noexcept { return current_.size(); }
    void add_window(std::string_view text, bool ends_document) {
      current_ += text;
      open_ = true;
      ++result_.windows;
      if (ends_document) {
        result_.add_document(std::move(current_));
        current_.clear();
        open_ = false;
      }
    }
    // The stream ended inside a document (or decoding stopped at the output limit).
    void finish() {
      if (!open_) return;
      result_.add_document(std::move(current_));
      if (!result_.stopped_at_limit()) result_.issues |= kUnterminatedDocument;
    }

   private:
    DecodeResult& result_;
    std::string current_;
    bool open_ = false;
  };

  // Windows are independent, so they are decoded `decode_batch` at a time in
  // lockstep, giving batch-capable models one call per step. The output
  // limit is checked per symbol against everything decoded so far.
  void decode_independent(const BitVector& bits, std::size_t windows, DocumentAssembler& documents) const {
    DecodeResult& result = documents.result();
    std::vector<typename M::Context> contexts;
    std::vector<WindowDecoder> decoders;
    std::vector<std::size_t> active;
    std::vector<typename M::Context*> batch;
    std::vector<std::string> text;
    std::vector<char> ends_document, done;
    for (std::size_t first = 0; first < windows; first += decode_batch_) {
      const std::size_t count = std::min(decode_batch_, windows - first);
      // Contexts are reused from group to group (reset keeps their caches' capacity): a new
      // context per window cost an allocation per layer and cache, ~3 % of M1's decode time.
      while (contexts.size() < count) contexts.push_back(model_->new_context());
      decoders.assign(count, WindowDecoder{});
      text.assign(count, std::string());
      ends_document.assign(count, 0);
      done.assign(count, 0);
      active.clear();
      for (std::size_t i = 0; i < count; ++i) {
        model_->reset(contexts[i]);
        decoders[i].begin(bits, (first + i) * WindowBits);
        active.push_back(i);
      }
      std::size_t batch_bytes = 0;
      bool full = false;
      while (!active.empty() && !full) {
        batch.clear();
        for (auto i : active) batch.push_back(&contexts[i]);
        prepare_batch(*model_, std::span<typename M::Context* const>(batch));
        std::size_t kept = 0;
        for (auto i : active) {
          const auto s = decoders[i].next(model_->predict(contexts[i]));
          if (!s || *s == kEos) {
            ends_document[i] = s.has_value();
            done[i] = 1;
            continue;
          }
          if (!result.room_for(documents.open_bytes() + batch_bytes + 1)) {
            full = true;
            break;
          }
          text[i].push_back(static_cast<char>(*s));
          ++batch_bytes;
          model_->advance(contexts[i], *s);
          active[kept++] = i;
        }
        active.resize(kept);
      }
      // At the limit the documents stay a prefix of the stream's text: the
      // windows up to the first unfinished one, that one cut where it stopped.
      for (std::size_t i = 0; i < count; ++i) {
        documents.add_window(text[i], ends_document[i] != 0);
        if (!done[i]) return;
      }
    }
  }

  // ModelResetEvery > 1: the model context runs on across the windows of a
  // group, and groups restart at every document.
  void decode_sequential(const BitVector& bits, std::size_t windows, DocumentAssembler& documents) const {
    DecodeResult& result = documents.result();
    auto ctx = model_->new_context();
    WindowDecoder decoder;
    std::size_t window_in_document = 0;
    std::string text;
    for (std::size_t w = 0; w < windows; ++w) {
      if (window_in_document % ModelResetEvery == 0) model_->reset(ctx);
      decoder.begin(bits, w * WindowBits);
      text.clear();
      bool ends_document = false;
      while (const auto s = decoder.next(model_->predict(ctx))) {
        if (*s == kEos) {
          ends_document = true;
          break;
        }
        if (!result.room_for(documents.open_bytes() + text.size() + 1)) {
          documents.add_window(text, false);
          return;
        }
        text.push_back(static_cast<char>(*s));
        model_->advance(ctx, *s);
      }
      documents.add_window(text, ends_document);
      window_in_document = ends_document ? 0 : window_in_document + 1;
    }
  }

  const M* model_;
  std::size_t decode_batch_;
};

}  // namespace eqinfo
