// libFuzzer target for every tokenizer, both directions (scripts/fuzz.sh
// builds and runs it):
//
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
//           tests/fuzz/decode_fuzzer.cpp -lz -o build-fuzz/decode_fuzzer
//
// Input: byte 0 selects a tokenizer (bits 0-4, modulo the 29 configurations
// in configs(): Equal-Info b in {12,16,24,32,128}, N in {5,8,16}, P in
// {12,14,16}, uniform / English / skewed static models; AC; StaticAC; gzip
// and gzip-raw; bytes) and options (bit 5: kMaskTokens, bit 6: kSplit,
// bit 7: kRepeat); the rest is the PAYLOAD.
//
//   DECODE   the payload read as uint16 little-endian tokens (an odd last
//            byte is dropped).  With option kMaskTokens the tokens are first
//            cut to N bits, so that N < 16 tokenizers see valid tokens.
//            decode() is documented total (decode_result.hpp): it must not
//            throw, crash, trip a sanitizer or an invariant, or hang.  For
//            Equal-Info, decoding in batches of 1, 3 and 64 windows must give
//            the same result.  Whatever it decodes (garbage included) is then
//            re-encoded and must decode back exactly, with no issues.
//   ENCODE   the payload read as a DOCUMENT (option kSplit: as documents
//            separated by '\n'; option kRepeat, gzip and bytes only: first
//            repeated to within 256 bytes of 16, 32 or 48 KB, past what
//            -max_len allows and across the gzip decoder's 16 KB output
//            buffer), encoded, decoded; the round trip must give the same
//            documents with no issues, and for Equal-Info the window count
//            must match the encoder's WindowStats.
//
// A property violation calls abort(), which libFuzzer reports as a crash.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "eqinfo/bytes_tokenizer.hpp"
#include "eqinfo/gzip_tokenizer.hpp"
#include "eqinfo/static_ac_tokenizer.hpp"
#include "eqinfo/static_model.hpp"
#include "eqinfo/tokenizer.hpp"
#include "eqinfo/uniform_model.hpp"

namespace {

using namespace eqinfo;

constexpr unsigned kP = 14;
// Re-encoding what garbage decodes to is skipped above this size (a few KB of
// deflate can inflate to megabytes); it would only slow the fuzzer down.
constexpr std::size_t kMaxReencodeBytes = 1 << 16;

enum Option : std::uint8_t { kMaskTokens = 1u << 5, kSplit = 1u << 6, kRepeat = 1u << 7 };

[[noreturn]] void fail(const char* config, const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "decode_fuzzer: %s: %s%s%s\n", config, what, detail.empty() ? "" : ": ", detail.c_str());
  std::abort();
}

template <unsigned P = kP>
StaticModel<P> model_from(std::string_view text) {
  SymbolCounts counts{};
  count_document(counts, text);
  return StaticModel<P>(counts);
}

constexpr std::string_view kEnglish =
      "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of "
      "a wife. However little known the feelings or views of such a man may be on his first entering a neighbourhood, "
      "this truth is so well fixed in the minds of the surrounding families, that he is considered the rightful "
      "property of some one or other of their daughters.\n";

// An English unigram (max probability ~ 1/6: windows never fall back) ...
template <unsigned P = kP>
const StaticModel<P>& english_model() {
  static const StaticModel<P> m = model_from<P>(kEnglish);
  return m;
}
// ... and a very skewed one ('a' ~ 90%), where Equal-Info windows do close
// below the greedy K (the fallback path of the encoder) and hold many symbols.
template <unsigned P = kP>
const StaticModel<P>& skewed_model() {
  static const StaticModel<P> m = model_from<P>(std::string(2000, 'a') + "bcabcab the end\n");
  return m;
}

struct Config {
  const char* name;
  unsigned token_bits;
  std::function<std::vector<Token>(std::span<const std::string_view>, WindowStats*)> encode;
  std::function<DecodeResult(std::span<const Token>)> decode;
  // Equal-Info only: decode with another decode batch size.
  std::function<DecodeResult(std::span<const Token>, std::size_t)> decode_batched;
  // kRepeat applies (gzip, bytes: cheap, and gzip streams through 16 KB
  // buffers; the AC coders have no fixed-size buffers and would cost ~100 ms
  // per input under ASan).
  bool repeat = false;
};

template <class Tok>
Config make(const char* name, unsigned token_bits, Tok tok) {
  constexpr bool repeat = std::is_same_v<Tok, GzipTokenizer> || std::is_same_v<Tok, BytesTokenizer>;
  auto shared = std::make_shared<Tok>(std::move(tok));
  Config c{name, token_bits,
           [shared](std::span<const std::string_view> docs, WindowStats* stats) {
             if constexpr (requires { shared->encode_documents(docs, stats); })
               return shared->encode_documents(docs, stats);
             else
               return shared->encode_documents(docs);
           },
           [shared](std::span<const Token> tokens) { return shared->decode(tokens); },
           {},
           repeat};
  return c;
}

template <class M, unsigned B, unsigned N>
Config make_equal_info(const char* name, const M& model) {
  Config c = make(name, N, EqualInfoTokenizer<M, B, N>(model));
  c.decode_batched = [model](std::span<const Token> tokens, std::size_t batch) {
    return EqualInfoTokenizer<M, B, N>(model, batch).decode(tokens);
  };
  return c;
}

const std::vector<Config>& configs() {
  static const std::vector<Config> all = [] {
    const UniformModel<kP> uniform;
    const auto& english = english_model<kP>();
    const auto& skewed = skewed_model<kP>();
    return std::vector<Config>{
        make_equal_info<UniformModel<kP>, 16, 8>("equalinfo b16 N8 uniform", uniform),
        make_equal_info<UniformModel<kP>, 16, 16>("equalinfo b16 N16 uniform", uniform),
        make_equal_info<UniformModel<kP>, 32, 8>("equalinfo b32 N8 uniform", uniform),
        make_equal_info<UniformModel<kP>, 32, 16>("equalinfo b32 N16 uniform", uniform),
        make_equal_info<StaticModel<kP>, 16, 8>("equalinfo b16 N8 static-english", english),
        make_equal_info<StaticModel<kP>, 16, 16>("equalinfo b16 N16 static-english", english),
        make_equal_info<StaticModel<kP>, 32, 8>("equalinfo b32 N8 static-english", english),
        make_equal_info<StaticModel<kP>, 32, 16>("equalinfo b32 N16 static-english", english),
        make_equal_info<StaticModel<kP>, 16, 8>("equalinfo b16 N8 static-skewed", skewed),
        make_equal_info<StaticModel<kP>, 16, 16>("equalinfo b16 N16 static-skewed", skewed),
        make_equal_info<StaticModel<kP>, 32, 8>("equalinfo b32 N8 static-skewed", skewed),
        make_equal_info<StaticModel<kP>, 32, 16>("equalinfo b32 N16 static-skewed", skewed),
        make("ac N8 uniform", 8, ArithmeticTokenizer<UniformModel<kP>, 8>(uniform)),
        make("ac N16 uniform", 16, ArithmeticTokenizer<UniformModel<kP>, 16>(uniform)),
        make("staticac N16 static-english", 16, StaticAcTokenizer<kP, 16>(english)),
        make("staticac N8 static-skewed", 8, StaticAcTokenizer<kP, 8>(skewed)),
        make("gzip N8", 8, GzipTokenizer(8, GzipTokenizer::Framing::kGzip)),
        make("gzip N16", 16, GzipTokenizer(16, GzipTokenizer::Framing::kGzip)),
        make("gzip-raw N8", 8, GzipTokenizer(8, GzipTokenizer::Framing::kRaw)),
        make("gzip-raw N16", 16, GzipTokenizer(16, GzipTokenizer::Framing::kRaw)),
        make("bytes", 9, BytesTokenizer{}),  // tokens 0..256: "9 bits" for masking, 257..511 stay invalid
        // Edge cases of the precision constraint and of the chunker:
        // P = b (the tightest case of the termination proof), b = 24 with
        // N = 16 (tokens straddle windows), odd N, the widest window.
        make_equal_info<UniformModel<16>, 16, 16>("equalinfo b16 N16 P16 uniform", UniformModel<16>{}),
        make_equal_info<StaticModel<16>, 16, 16>("equalinfo b16 N16 P16 static-skewed", skewed_model<16>()),
        make_equal_info<StaticModel<12>, 12, 8>("equalinfo b12 N8 P12 static-english", english_model<12>()),
        make_equal_info<StaticModel<kP>, 24, 16>("equalinfo b24 N16 static-english", english),
        make_equal_info<UniformModel<kP>, 16, 5>("equalinfo b16 N5 uniform", uniform),
        make_equal_info<StaticModel<kP>, 128, 16>("equalinfo b128 N16 static-skewed", skewed),
        make("staticac N3 P16 static-skewed", 3, StaticAcTokenizer<16, 3>(skewed_model<16>())),
        make("gzip-raw N7", 7, GzipTokenizer(7, GzipTokenizer::Framing::kRaw)),
    };
  }();
  return all;
}

bool same(const DecodeResult& a, const DecodeResult& b) {
  return a.documents == b.documents && a.issues == b.issues && a.windows == b.windows;
}

std::size_t total_size(const std::vector<std::string>& docs) {
  std::size_t n = 0;
  for (const auto& d : docs) n += d.size();
  return n;
}

// Encode `docs`, decode, and demand the exact documents back with no issues.
void round_trip(const Config& c, const std::vector<std::string>& docs, const char* origin) {
  std::vector<std::string_view> views(docs.begin(), docs.end());
  WindowStats stats;
  const std::vector<Token> tokens = c.encode(views, &stats);
  for (Token t : tokens)
    if (c.token_bits < 16 && (t >> c.token_bits) != 0) fail(c.name, origin, "encoder wrote a token wider than N bits");
  const DecodeResult back = c.decode(tokens);
  if (!back.ok()) fail(c.name, origin, "round trip reports issues: " + back.describe());
  if (back.documents != docs) fail(c.name, origin, "round trip changed the documents");
  if (c.decode_batched && back.windows != stats.windows)
    fail(c.name, origin, "decoded " + std::to_string(back.windows) + " windows, encoder wrote " + std::to_string(stats.windows));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const auto& all = configs();
  if (all.size() > 32) fail("configs", "more than 32 configurations: the selector's 5 bits cannot reach them all");
  const Config& c = all[(selector & 0x1f) % all.size()];
  const std::string_view payload(reinterpret_cast<const char*>(data + 1), size - 1);

  // DECODE: tokens -> documents.
  std::vector<Token> tokens(payload.size() / 2);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    tokens[i] = static_cast<Token>(static_cast<std::uint8_t>(payload[2 * i]) |
                                   static_cast<std::uint8_t>(payload[2 * i + 1]) << 8);
    if ((selector & kMaskTokens) && c.token_bits < 16) tokens[i] &= static_cast<Token>((1u << c.token_bits) - 1);
  }
  const DecodeResult decoded = c.decode(tokens);  // must not throw
  if (c.decode_batched) {
    for (std::size_t batch : {std::size_t{1}, std::size_t{3}})
      if (!same(decoded, c.decode_batched(tokens, batch))) fail(c.name, "decode depends on the batch size");
  }
  if (total_size(decoded.documents) <= kMaxReencodeBytes) round_trip(c, decoded.documents, "re-encoding decoded tokens");

  // ENCODE: the payload as text -> tokens -> the same text.
  std::string text(payload);
  if ((selector & kRepeat) && c.repeat && !payload.empty()) {
    // Within 256 bytes of 16, 32 or 48 KB: where fixed-size buffers of the
    // coders (the gzip decoder's 16 KB output buffer) end mid-symbol.
    const auto first = static_cast<unsigned char>(payload[0]);
    const std::size_t target = 16384 * (1 + first % 3) + (payload.size() * 131 + first) % 512 - 256;
    while (text.size() < target) text += payload;
    text.resize(target);
  }
  std::vector<std::string> docs;
  if (selector & kSplit) {
    std::size_t start = 0;
    for (std::size_t i = 0; i <= text.size(); ++i)
      if (i == text.size() || text[i] == '\n') {
        docs.emplace_back(text.substr(start, i - start));
        start = i + 1;
      }
  } else {
    docs.push_back(std::move(text));
  }
  round_trip(c, docs, "encoding the input as text");
  return 0;
}
