// Lockstep encoding: many documents' encoders driven together, so that a
// batch-capable model runs the queued symbols of all of them in one call.
//
// A document encoder here is a resumable state machine (the Equal-Info one
// is EqualInfoDocumentEncoder) with
//   DocEncoder(const M& model);
//   void start(std::string_view document);
//   typename M::Context& queue(std::size_t sharing);  // queue the next chunk's symbols for a call
//                                     // that carries `sharing` documents; returns context()
//   typename M::Context& context();
//   bool consume(std::span<const Table> tables, BitVector& out);  // true: document done
//   const WindowStats& stats() const; // of the document since start()
// Each round, every active document queues its next chunk, the model runs
// all of them (predict_each_batch for a LookaheadBatchModel, predict_batch
// for a BatchModel, nothing otherwise: queued_tables then computes each
// context alone), and each document consumes its tables.  Contexts are
// independent, so every document's tables, and hence its bits, are those it
// gets alone; only the rows per model call change.  With one lane this is
// the plain per-document loop, which is how EqualInfoSegmenter encodes a
// single document: there is no second copy of the loop.
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "eqinfo/bit_vector.hpp"
#include "eqinfo/model.hpp"
#include "eqinfo/segmenter.hpp"

namespace eqinfo {

// Runs the queued symbols of `batch` in as few model calls as the model allows.
template <Model M>
void run_queued(const M& model, std::span<typename M::Context* const> batch) {
  if constexpr (LookaheadBatchModel<M>)
    model.predict_each_batch(batch);
  else if constexpr (!LookaheadModel<M>)
    prepare_batch(model, batch);
  // A look-ahead model without a batched look-ahead: queued_tables computes
  // each context's tables on its own (predict_batch would keep only the last).
}

// Encodes docs[i] into outs[i] (appending) for every i, at most `lanes`
// documents in flight; a finished document's lane takes the next document.
// Adds the documents' window statistics to *stats.
template <class DocEncoder, Model M>
void encode_lockstep(const M& model, std::span<const std::string_view> docs, std::span<BitVector> outs, WindowStats* stats,
                     std::size_t lanes) {
  if (outs.size() != docs.size()) throw std::invalid_argument("encode_documents: one output per document");
  if (docs.empty()) return;
  lanes = std::clamp<std::size_t>(lanes, 1, docs.size());
  std::vector<DocEncoder> lane;
  lane.reserve(lanes);
  std::vector<std::size_t> doc_of(lanes), active(lanes);
  std::vector<typename M::Context*> batch;
  std::size_t next_doc = 0;
  for (std::size_t i = 0; i < lanes; ++i) {
    lane.emplace_back(model);
    doc_of[i] = next_doc;
    lane[i].start(docs[next_doc++]);
    active[i] = i;
  }
  WindowStats total;
  while (!active.empty()) {
    batch.clear();
    for (std::size_t i : active) batch.push_back(&lane[i].queue(active.size()));
    run_queued(model, std::span<typename M::Context* const>(batch));
    std::size_t kept = 0;
    for (std::size_t i : active) {
      DocEncoder& l = lane[i];
      if (l.consume(queued_tables(model, l.context()), outs[doc_of[i]])) {
        total += l.stats();
        if (next_doc == docs.size()) continue;  // the lane retires
        doc_of[i] = next_doc;
        l.start(docs[next_doc++]);
      }
      active[kept++] = i;
    }
    active.resize(kept);
  }
  if (stats) *stats += total;
}

}  // namespace eqinfo
