// Throughput of the coding stack: the raw arithmetic coder, every tokenizer's
// encode and decode, and zlib itself for context.
//
// Input: a deterministic 256 KiB English-like text (bench_text.hpp: words
// drawn with Zipf frequencies from a fixed list, fixed seed), coded as ONE
// document, so that every method and zlib see the same bytes.  Bytes/s are
// bytes of that text (encode: consumed; decode: recovered), whatever the
// method's token count.  The StaticModel (P = 14) is the text's own byte
// unigram, as StaticAC would be trained on its corpus.
//
// Counters: bytes_per_token (text bytes / tokens; N = 16 except Bytes, whose
// tokens are bytes + EOS), and for Equal-Info windows, windows,
// symbols_per_window and fallback_frac (share of windows closed below the
// greedy K, from WindowStats).  zlib: ratio = text bytes / compressed bytes.
//
// The whole suite runs in well under a minute (MinTime 0.5 s per benchmark).
#include <benchmark/benchmark.h>
#include <zlib.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bench_text.hpp"
#include "eqinfo/arithmetic_coder.hpp"
#include "eqinfo/bytes_tokenizer.hpp"
#include "eqinfo/gzip_tokenizer.hpp"
#include "eqinfo/static_ac_tokenizer.hpp"
#include "eqinfo/static_model.hpp"
#include "eqinfo/tokenizer.hpp"
#include "eqinfo/uniform_model.hpp"

namespace {

using namespace eqinfo;

constexpr std::size_t kTextBytes = 256 * 1024;
constexpr std::size_t kRawSymbols = std::size_t{1} << 20;
constexpr unsigned kP = 14;   // frequency bits
constexpr unsigned kN = 16;   // token bits
constexpr double kMinTime = 0.5;

using bench::Rng;

const std::string& text() {
  static const std::string t = bench::make_english_text(kTextBytes);
  return t;
}

const StaticModel<kP>& static_model() {
  static const StaticModel<kP> model = [] {
    SymbolCounts counts{};
    count_document(counts, text());
    return StaticModel<kP>(counts);
  }();
  return model;
}

// ---------------------------------------------------------------------------
// Raw arithmetic coder: symbols drawn from the skewed static table.

struct RawStream {
  std::vector<Symbol> symbols;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> cum_freq;
  BitVector bits;  // the encoded stream, terminated
};

const RawStream& raw_stream() {
  static const RawStream stream = [] {
    RawStream r;
    const auto& table = static_model().table();
    Rng rng(7);
    r.symbols.reserve(kRawSymbols);
    r.cum_freq.reserve(kRawSymbols);
    for (std::size_t i = 0; i < kRawSymbols; ++i) {
      const Symbol s = table.symbol_for(static_cast<std::uint32_t>(rng.below(FrequencyTable<kP>::kTotal)));
      r.symbols.push_back(s);
      r.cum_freq.emplace_back(table.low(s), table.frequency(s));
    }
    ArithmeticEncoder<32, kP> enc;
    for (auto [c, f] : r.cum_freq) enc.encode(c, f);
    r.bits = enc.terminate();
    return r;
  }();
  return stream;
}

void BM_ArithmeticEncoder(benchmark::State& state) {
  const auto& r = raw_stream();
  ArithmeticEncoder<32, kP> enc;
  for (auto _ : state) {
    enc.reset();
    for (auto [c, f] : r.cum_freq) enc.encode(c, f);
    benchmark::DoNotOptimize(enc.emitted_bits());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * r.symbols.size()));
  state.counters["bits_per_symbol"] = static_cast<double>(enc.termination_bits()) / static_cast<double>(r.symbols.size());
}
BENCHMARK(BM_ArithmeticEncoder)->MinTime(kMinTime)->Unit(benchmark::kMillisecond);

void BM_ArithmeticDecoder(benchmark::State& state) {
  const auto& r = raw_stream();
  const auto& table = static_model().table();
  ArithmeticDecoder<32, kP> dec;
  {  // correctness, once, outside the timing
    dec.reset({&r.bits, 0, r.bits.size(), false});
    for (Symbol s : r.symbols)
      if (dec.decode(table) != s) {
        state.SkipWithError("raw decoder mismatch");
        return;
      }
  }
  for (auto _ : state) {
    dec.reset({&r.bits, 0, r.bits.size(), false});
    std::uint64_t check = 0;
    for (std::size_t i = 0; i < r.symbols.size(); ++i) check += dec.decode(table);
    benchmark::DoNotOptimize(check);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * r.symbols.size()));
}
BENCHMARK(BM_ArithmeticDecoder)->MinTime(kMinTime)->Unit(benchmark::kMillisecond);

// ---------------------------------------------------------------------------
// Tokenizers, encode and decode of the whole text.

struct Gzip : GzipTokenizer {
  Gzip() : GzipTokenizer(kN, Framing::kGzip) {}
};
struct GzipRaw : GzipTokenizer {
  GzipRaw() : GzipTokenizer(kN, Framing::kRaw) {}
};
struct Ac : ArithmeticTokenizer<UniformModel<kP>, kN> {
  Ac() : ArithmeticTokenizer(UniformModel<kP>{}) {}
};
struct StaticAc : StaticAcTokenizer<kP, kN> {
  StaticAc() : ArithmeticTokenizer(static_model()) {}
};
template <unsigned B>
struct EqualInfo : EqualInfoTokenizer<StaticModel<kP>, B, kN> {
  EqualInfo() : EqualInfoTokenizer<StaticModel<kP>, B, kN>(static_model()) {}
};

template <class Tok>
const Tok& tokenizer() {
  static const Tok t{};
  return t;
}

template <class Tok>
std::vector<Token> encode(const Tok& tok, WindowStats* stats) {
  if constexpr (requires { tok.encode(std::string_view{}, stats); })
    return tok.encode(text(), stats);
  else
    return tok.encode(text());
}

template <class Tok>
const std::vector<Token>& encoded() {
  static const std::vector<Token> tokens = encode(tokenizer<Tok>(), nullptr);
  return tokens;
}

template <class Tok>
void BM_Encode(benchmark::State& state) {
  const Tok& tok = tokenizer<Tok>();
  std::vector<Token> tokens;
  for (auto _ : state) {
    tokens = encode(tok, nullptr);
    benchmark::DoNotOptimize(tokens.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text().size()));
  state.counters["bytes_per_token"] = static_cast<double>(text().size()) / static_cast<double>(tokens.size());
  if constexpr (requires { Tok::kWindowBits; }) {
    WindowStats stats;
    encode(tok, &stats);
    state.counters["windows"] = static_cast<double>(stats.windows);
    state.counters["symbols_per_window"] = static_cast<double>(stats.symbols) / static_cast<double>(stats.windows);
    state.counters["fallback_frac"] = static_cast<double>(stats.fallback_windows) / static_cast<double>(stats.windows);
  }
}

template <class Tok>
void BM_Decode(benchmark::State& state) {
  const Tok& tok = tokenizer<Tok>();
  const auto& tokens = encoded<Tok>();
  {  // correctness, once, outside the timing
    const DecodeResult r = tok.decode(tokens);
    if (!r.ok() || r.documents.size() != 1 || r.documents[0] != text()) {
      state.SkipWithError("round trip failed");
      return;
    }
  }
  for (auto _ : state) {
    DecodeResult r = tok.decode(tokens);
    benchmark::DoNotOptimize(r.documents.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text().size()));
  state.counters["bytes_per_token"] = static_cast<double>(text().size()) / static_cast<double>(tokens.size());
}

#define EQINFO_TOKENIZER_BENCHMARKS(Tok, name)                                                                   \
  BENCHMARK_TEMPLATE(BM_Encode, Tok)->Name("Encode/" name)->MinTime(kMinTime)->Unit(benchmark::kMillisecond);   \
  BENCHMARK_TEMPLATE(BM_Decode, Tok)->Name("Decode/" name)->MinTime(kMinTime)->Unit(benchmark::kMillisecond)

EQINFO_TOKENIZER_BENCHMARKS(BytesTokenizer, "bytes");
EQINFO_TOKENIZER_BENCHMARKS(Gzip, "gzip");
EQINFO_TOKENIZER_BENCHMARKS(GzipRaw, "gzip-raw");
EQINFO_TOKENIZER_BENCHMARKS(Ac, "ac");
EQINFO_TOKENIZER_BENCHMARKS(StaticAc, "staticac");
EQINFO_TOKENIZER_BENCHMARKS(EqualInfo<16>, "equalinfo_b16");
EQINFO_TOKENIZER_BENCHMARKS(EqualInfo<32>, "equalinfo_b32");
EQINFO_TOKENIZER_BENCHMARKS(EqualInfo<128>, "equalinfo_b128");

// ---------------------------------------------------------------------------
// zlib's own one-shot API on the same text, for context.

std::vector<Bytef> zlib_compress(int level) {
  uLongf size = compressBound(static_cast<uLong>(text().size()));
  std::vector<Bytef> out(size);
  if (compress2(out.data(), &size, reinterpret_cast<const Bytef*>(text().data()), static_cast<uLong>(text().size()), level) != Z_OK)
    return {};
  out.resize(size);
  return out;
}

void BM_ZlibCompress(benchmark::State& state) {
  const int level = static_cast<int>(state.range(0));
  std::vector<Bytef> out;
  for (auto _ : state) {
    out = zlib_compress(level);
    benchmark::DoNotOptimize(out.data());
  }
  if (out.empty()) {
    state.SkipWithError("compress2 failed");
    return;
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text().size()));
  state.counters["ratio"] = static_cast<double>(text().size()) / static_cast<double>(out.size());
}
BENCHMARK(BM_ZlibCompress)->Name("zlib/compress2")->Arg(9)->Arg(6)->MinTime(kMinTime)->Unit(benchmark::kMillisecond);

void BM_ZlibUncompress(benchmark::State& state) {
  const std::vector<Bytef> packed = zlib_compress(static_cast<int>(state.range(0)));
  std::string out(text().size(), '\0');
  for (auto _ : state) {
    uLongf size = static_cast<uLongf>(out.size());
    if (uncompress(reinterpret_cast<Bytef*>(out.data()), &size, packed.data(), static_cast<uLong>(packed.size())) != Z_OK) {
      state.SkipWithError("uncompress failed");
      return;
    }
    benchmark::DoNotOptimize(out.data());
  }
  if (out != text()) {
    state.SkipWithError("zlib round trip failed");
    return;
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text().size()));
  state.counters["ratio"] = static_cast<double>(text().size()) / static_cast<double>(packed.size());
}
BENCHMARK(BM_ZlibUncompress)->Name("zlib/uncompress")->Arg(9)->Arg(6)->MinTime(kMinTime)->Unit(benchmark::kMillisecond);

}  // namespace
