// The Model policy: what a coder needs from a probability model.
//
// A model does not change while it codes and is shared by any number of
// threads (weights, counts); all mutable state of one coding pass lives in a
// separate Context.  (TransformerModel::set_kernel switches between two
// bit-identical backends at setup time; it is not for use while the model
// codes.)  That split is what lets one
// model serve many independent windows at once: each window owns a Context,
// and a model may evaluate a whole batch of Contexts in one call
// (predict_batch).  Windows never share context: reset(ctx) starts a fresh
// window, exactly as the Equal-Info method resets M1 at every window.
//
//   ctx = model.new_context();
//   model.reset(ctx);                        // fresh window / document
//   const auto& t = model.predict(ctx);      // FrequencyTable<P> for the next symbol
//   model.advance(ctx, symbol);              // condition on the symbol actually coded
//
// predict's result stays valid until the next advance/reset of that context.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>

#include "eqinfo/frequency_table.hpp"
#include "eqinfo/symbols.hpp"

namespace eqinfo {

template <class M>
concept Model = requires(const M& model, typename M::Context& ctx, Symbol s) {
  typename M::Context;
  { M::kFrequencyBits } -> std::convertible_to<unsigned>;
  { model.new_context() } -> std::same_as<typename M::Context>;
  { model.reset(ctx) };
  { model.predict(ctx) } -> std::same_as<const FrequencyTable<M::kFrequencyBits>&>;
  { model.advance(ctx, s) };
  // Identifies the model's exact behaviour (weights, counts, precision); token
  // files record it so a decoder refuses tokens made with another model.
  { model.fingerprint() } -> std::convertible_to<std::uint64_t>;
};

// Models that evaluate many independent contexts in one call (the transformer
// batches its matrix products this way) provide
//   void predict_batch(std::span<typename M::Context* const>) const;
// after which predict(*ctx) is cheap for each of them.
template <class M>
concept BatchModel = Model<M> && requires(const M& model, std::span<typename M::Context* const> batch) {
  { model.predict_batch(batch) };
};

// Models that run several queued symbols of one context in one call
// (teacher forcing) and return the table after each of them provide
//   std::span<const FrequencyTable<P>> predict_each(typename M::Context&) const;
// tables[i] predicts the symbol after the i-th queued one.  The Equal-Info
// encoder uses it to evaluate a window's upcoming symbols at once.
template <class M>
concept LookaheadModel = Model<M> && requires(const M& model, typename M::Context& ctx) {
  { model.predict_each(ctx) } -> std::convertible_to<std::span<const FrequencyTable<M::kFrequencyBits>>>;
};

// Look-ahead for many contexts in one call: after
//   void predict_each_batch(std::span<typename M::Context* const>) const;
// predict_each(*ctx) returns, without recomputing, the table after every
// position each context had queued.  The Equal-Info encoder uses it to run
// the current windows of many documents in lockstep (encode_documents).
template <class M>
concept LookaheadBatchModel = BatchModel<M> && LookaheadModel<M> && requires(const M& model, std::span<typename M::Context* const> batch) {
  { model.predict_each_batch(batch) };
};

// Prepares predictions for every context of a batch: one batched call where
// the model has one, otherwise nothing (predict computes on demand).
template <Model M>
void prepare_batch(const M& model, std::span<typename M::Context* const> batch) {
  if constexpr (BatchModel<M>) model.predict_batch(batch);
}

// The tables for what a context has queued: after every queued symbol for a
// LookaheadModel (predict_each), otherwise the one table predict gives.
template <Model M>
std::span<const FrequencyTable<M::kFrequencyBits>> queued_tables(const M& model, typename M::Context& ctx) {
  if constexpr (LookaheadModel<M>)
    return model.predict_each(ctx);
  else
    return std::span<const FrequencyTable<M::kFrequencyBits>>(&model.predict(ctx), 1);
}

// How a driver of look-ahead sizes its model calls: a schedule has
//   static std::size_t first_chunk(std::size_t expected, std::size_t sharing);  // offers in a window's first call
//   static std::size_t later_chunk(std::size_t expected, std::size_t sharing);  // ... in each later call
//   static constexpr std::size_t kFirstWindowOffers;  // `expected` for a document's first window
//   static constexpr std::size_t kLanes;              // documents encoded in lockstep
// where `expected` is how many symbols the previous window was offered and
// `sharing` how many documents' rows the call carries (1 alone).  The
// schedule changes how many rows each call runs, never a table, so it is a
// model's speed tuning, declared next to the model as
// `using LookaheadSchedule = ...;` (M1: m1/encode_schedule.hpp).
//
// OneSymbolSchedule is what a model without look-ahead can do (predict gives
// one table per call), and the default for a look-ahead model that declares
// no schedule: one offer per call, one document at a time.
struct OneSymbolSchedule {
  static constexpr std::size_t first_chunk(std::size_t, std::size_t) noexcept { return 1; }
  static constexpr std::size_t later_chunk(std::size_t, std::size_t) noexcept { return 1; }
  static constexpr std::size_t kFirstWindowOffers = 1;
  static constexpr std::size_t kLanes = 1;
};

template <class M>
struct lookahead_schedule {
  using type = OneSymbolSchedule;
};
template <class M>
  requires LookaheadModel<M> && requires { typename M::LookaheadSchedule; }
struct lookahead_schedule<M> {
  using type = typename M::LookaheadSchedule;
};
template <class M>
using lookahead_schedule_t = typename lookahead_schedule<M>::type;

}  // namespace eqinfo
