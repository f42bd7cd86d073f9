// UniformModel<P>: every symbol equally likely (as nearly as 2^P allows).
// The simplest Model; useful as a baseline and in tests.
#pragma once

#include <cstdint>

#include "eqinfo/fingerprint.hpp"
#include "eqinfo/frequency_table.hpp"
#include "eqinfo/model.hpp"

namespace eqinfo {

template <unsigned FrequencyBits = 14>
class UniformModel {
 public:
  static constexpr unsigned kFrequencyBits = FrequencyBits;
  struct Context {};

  [[nodiscard]] Context new_context() const { return {}; }
  void reset(Context&) const {}
  [[nodiscard]] const FrequencyTable<FrequencyBits>& predict(Context&) const { return table_; }
  void advance(Context&, Symbol) const {}
  [[nodiscard]] std::uint64_t fingerprint() const { return Fnv1a64{}.text("uniform").u64(FrequencyBits).value(); }

 private:
  FrequencyTable<FrequencyBits> table_{};
};

static_assert(Model<UniformModel<14>>);

}  // namespace eqinfo
