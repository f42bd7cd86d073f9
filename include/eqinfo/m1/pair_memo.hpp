// A capped memo from a pair of bytes to an immutable value, shared by threads: what the M1
// window-prefix cache keeps for position 2 of a window ([EOS, s1, s2]; TransformerModel).
//
// Why a memo and not a table computed at load, as for positions 0 and 1: position 2 has
// 256 x 256 = 65,536 possible states, ~4 KB each (every layer's key and value row, and the
// frequency table after it) and 2.4M MACs to compute: 260 MB and seconds of load for states
// of which a text meets a few thousand. So each state is kept the first time a window meets
// it, up to kCapacity (4,096) of them (constant memory: ~16 MB for M1's d = 256, 3 layers), and every
// later window that starts with the same two bytes copies it.
//
// Exactness does not depend on the memo: a state is a deterministic function of the three
// symbols (integer arithmetic, the row attends only to positions 0..2), so a copied state is
// bit-identical to a recomputed one, whichever thread computed it first and whether or not the
// memo is full. Only the speed depends on what was met before.
//
// Threads: find() is one acquire load, lock-free. insert() takes a mutex, and publishes a
// value only once it is complete (release store); a value is never changed or freed while the
// memo lives, so a pointer find() returned stays valid. A slot is filled at most once: two
// threads that computed the same state keep the first.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace eqinfo::m1 {

template <class Value>
class PairMemo {
 public:
  static constexpr std::size_t kSlots = 256 * 256;
  static constexpr std::size_t kCapacity = 4096;

  explicit PairMemo(std::size_t capacity = kCapacity) : capacity_(capacity) {
    for (auto& s : slots_) s.store(nullptr, std::memory_order_relaxed);
  }
  PairMemo(const PairMemo&) = delete;
  PairMemo& operator=(const PairMemo&) = delete;

  [[nodiscard]] static constexpr std::size_t key(std::uint8_t first, std::uint8_t second) noexcept {
    return std::size_t{first} << 8 | second;
  }
  // The value kept for the pair, or nullptr.
  [[nodiscard]] const Value* find(std::size_t k) const noexcept { return slots_[k].load(std::memory_order_acquire); }
  // Keeps `value` for the pair unless the pair already has one or the memo is full.
  void insert(std::size_t k, Value value) {
    const std::lock_guard lock(mutex_);
    if (owned_.size() >= capacity_ || slots_[k].load(std::memory_order_relaxed) != nullptr) return;
    owned_.push_back(std::make_unique<const Value>(std::move(value)));
    slots_[k].store(owned_.back().get(), std::memory_order_release);
  }
  [[nodiscard]] std::size_t size() const {
    const std::lock_guard lock(mutex_);
    return owned_.size();
  }
  [[nodiscard]] bool full() const { return size() >= capacity_; }

 private:
  std::size_t capacity_;
  std::array<std::atomic<const Value*>, kSlots> slots_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<const Value>> owned_;
};

}  // namespace eqinfo::m1
