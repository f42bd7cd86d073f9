// Bytes baseline: one token per byte, plus token 256 (EOS) after every
// document.  Vocabulary 257; not bit-chunked.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "eqinfo/decode_result.hpp"
#include "eqinfo/segmenter.hpp"
#include "eqinfo/symbols.hpp"

namespace eqinfo {

class BytesTokenizer {
 public:
  static constexpr std::size_t kVocabularySize = kAlphabetSize;

  std::vector<Token> encode(std::string_view document) const {
    return encode_documents(std::span<const std::string_view>(&document, 1));
  }
  // Window statistics do not apply (no windows, no coder): `stats` is untouched.
  std::vector<Token> encode_documents(std::span<const std::string_view> documents, WindowStats* /*stats*/ = nullptr) const {
    std::vector<Token> tokens;
    for (auto d : documents) {
      for (unsigned char c : d) tokens.push_back(c);
      tokens.push_back(kEos);
    }
    return tokens;
  }
  std::vector<std::vector<Token>> encode_each(std::span<const std::string_view> documents, WindowStats* stats = nullptr) const {
    std::vector<std::vector<Token>> tokens;
    tokens.reserve(documents.size());
    for (auto d : documents) tokens.push_back(encode_documents(std::span<const std::string_view>(&d, 1), stats));
    return tokens;
  }
  DecodeResult decode(std::span<const Token> tokens, DecodeLimits limits = {}) const {
    DecodeResult result;
    result.output_limit = limits.max_output_bytes;
    std::string current;
    bool open = false;
    for (Token t : tokens) {
      if (t > kEos) {
        result.issues |= kInvalidToken;
        break;
      }
      if (t == kEos) {
        result.add_document(std::move(current));
        current.clear();
        open = false;
      } else {
        if (!result.room_for(current.size() + 1)) break;
        current.push_back(static_cast<char>(t));
        open = true;
      }
    }
    if (open) {
      result.add_document(std::move(current));
      if (!result.stopped_at_limit()) result.issues |= kUnterminatedDocument;
    }
    return result;
  }
};

}  // namespace eqinfo
