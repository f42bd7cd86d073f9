// The paper's StaticAC: plain AC (ArithmeticTokenizer) driven by the order-0
// byte model.  A header of its own so that tokenizer.hpp depends on no
// concrete model.
#pragma once

#include "eqinfo/static_model.hpp"
#include "eqinfo/tokenizer.hpp"

namespace eqinfo {

template <unsigned FrequencyBits = 14, unsigned TokenBits = 16>
using StaticAcTokenizer = ArithmeticTokenizer<StaticModel<FrequencyBits>, TokenBits>;

}  // namespace eqinfo
