// BitChunker: cuts a bitstream into N-bit tokens (vocabulary 2^N), most
// significant bit first, zero-padding the last token; and glues tokens back
// into bits.  Tokens may straddle window boundaries when N does not divide
// the window size (the paper's b = 24, N = 16 case).
#pragma once

#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "eqinfo/bit_vector.hpp"
#include "eqinfo/symbols.hpp"

namespace eqinfo {

inline void check_token_bits(unsigned n) {
  if (n < 1 || n > 16) throw std::invalid_argument("token bits must be in [1, 16], got " + std::to_string(n));
}

inline std::vector<Token> chunk_bits(const BitVector& bits, unsigned n) {
  check_token_bits(n);
  std::vector<Token> tokens((bits.size() + n - 1) / n);
  for (std::size_t t = 0; t < tokens.size(); ++t) tokens[t] = static_cast<Token>(bits.read_bits(t * n, n));
  return tokens;
}

// Appends the bits of `tokens` to `bits`.  Returns the number of tokens used:
// all of them, or the index of the first token that does not fit in n bits.
inline std::size_t unchunk_tokens(std::span<const Token> tokens, unsigned n, BitVector& bits) {
  check_token_bits(n);
  bits.reserve(bits.size() + tokens.size() * n);
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    if (tokens[t] >> n) return t;
    bits.append_bits(tokens[t], n);
  }
  return tokens.size();
}

// The chunker stage of the pipeline (docs/design.md §1): N chosen at run
// time, as the tools and the binding choose it.
class BitChunker {
 public:
  explicit BitChunker(unsigned token_bits) : token_bits_(token_bits) { check_token_bits(token_bits); }

  [[nodiscard]] std::vector<Token> chunk(const BitVector& bits) const { return chunk_bits(bits, token_bits_); }
  // Appends the bits of `tokens`; returns how many tokens fit in N bits (see unchunk_tokens).
  std::size_t unchunk(std::span<const Token> tokens, BitVector& bits) const { return unchunk_tokens(tokens, token_bits_, bits); }

  [[nodiscard]] unsigned token_bits() const noexcept { return token_bits_; }
  [[nodiscard]] std::size_t vocabulary_size() const noexcept { return std::size_t{1} << token_bits_; }

 private:
  unsigned token_bits_;
};

}  // namespace eqinfo
