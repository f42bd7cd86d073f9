// The Python binding of eqinfo: a thin nanobind layer over the run-time
// tokenizer factory (include/eqinfo/tokenizer_factory.hpp).  It converts
// between Python and C++ and releases the GIL around every call that runs a
// tokenizer; all policy (method names, default models, shards) lives in the
// Python package (python/eqinfo/tokenizers.py), and all scheduling (threads
// over documents) in the core (AnyTokenizer::encode_each, decode_each).
//
// The module is the top-level `_eqinfo_core`, not `eqinfo._core`: the in-tree
// package (PYTHONPATH=python, used by the M1 training scripts and the tests)
// shadows the installed `eqinfo`, and a submodule of it would then be looked
// up in python/eqinfo/ where no build output lives.  A top-level module is
// found in site-packages whichever `eqinfo` is imported.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <iostream>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "eqinfo/tokenizer_factory.hpp"
#include "eqinfo/version.hpp"
// The command-line tools, each a function (examples/tools/): run_tool runs them in-process for
// the package's console scripts, so `pip install` users get the same flags, messages and token
// files as the CMake-built tools, from the same code.
#include "tools/build_static_model.hpp"
#include "tools/decode.hpp"
#include "tools/encode.hpp"
#include "tools/m1_tables.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace eqinfo::python {
namespace {

using TokenArray = nb::ndarray<nb::numpy, Token, nb::ndim<1>>;
using TokenInput = nb::ndarray<const Token, nb::ndim<1>, nb::c_contig, nb::device::cpu>;

// Hands a vector to numpy without copying: the array owns it via a capsule.
template <class T>
nb::ndarray<nb::numpy, T, nb::ndim<1>> to_numpy(std::vector<T> values) {
  auto* owned = new std::vector<T>(std::move(values));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return nb::ndarray<nb::numpy, T, nb::ndim<1>>(owned->data(), {owned->size()}, owner);
}

std::string bytes_of(nb::handle h, const char* what) {
  if (!nb::isinstance<nb::bytes>(h))
    throw nb::type_error((std::string(what) + " must be bytes (the Python layer encodes str as UTF-8)").c_str());
  const auto b = nb::borrow<nb::bytes>(h);
  return std::string(b.c_str(), b.size());
}

std::vector<Token> tokens_of(nb::handle h) {
  TokenInput a;
  if (!nb::try_cast(h, a, /*convert=*/false))
    throw nb::type_error("tokens must be a 1-D C-contiguous numpy array of dtype uint16");
  return std::vector<Token>(a.data(), a.data() + a.shape(0));
}

// Parts back to back and their offsets (n + 1).
template <class T>
std::pair<std::vector<T>, std::vector<std::int64_t>> concatenate(std::vector<std::vector<T>> parts) {
  std::vector<std::int64_t> offsets(parts.size() + 1, 0);
  for (std::size_t i = 0; i < parts.size(); ++i) offsets[i + 1] = offsets[i] + static_cast<std::int64_t>(parts[i].size());
  std::vector<T> flat;
  flat.reserve(static_cast<std::size_t>(offsets.back()));
  for (auto& p : parts) flat.insert(flat.end(), p.begin(), p.end());
  return {std::move(flat), std::move(offsets)};
}

nb::dict stats_dict(const WindowStats& s) {
  nb::dict d;
  d["windows"] = s.windows;
  d["window_symbols"] = s.symbols;
  d["greedy_symbols"] = s.greedy_symbols;
  d["fallback_windows"] = s.fallback_windows;
  return d;
}

// One tokenizer built from settings; immutable after construction, so any
// number of threads may encode and decode with it at once.
class CoreTokenizer {
 public:
  CoreTokenizer(const std::string& method, unsigned window_bits, unsigned token_bits, const std::string& model,
                std::optional<unsigned> frequency_bits, const std::string& kernel, std::size_t model_threads) {
    const auto m = parse_method(method);
    if (!m) throw std::invalid_argument("unknown method '" + method + "' (equalinfo, ac, staticac, gzip, gzip-raw, bytes)");
    const auto k = m1::parse_kernel_kind(kernel);
    if (!k) throw std::invalid_argument("kernel must be 'simd' or 'scalar', got '" + kernel + "'");
    if (model_threads < 1 || model_threads > 256) throw std::invalid_argument("model_threads must be in [1, 256]");
    spec_ = {.method = *m, .window_bits = window_bits, .token_bits = token_bits, .model = model, .frequency_bits = frequency_bits,
             .kernel = *k, .threads = model_threads};
    try {
      tokenizer_ = make_tokenizer(spec_);
    } catch (const std::exception& e) {
      // Bad settings and unreadable or foreign model files are both the
      // caller's input: one exception type for Python (ValueError).
      throw std::invalid_argument(e.what());
    }
    header_ = tokenizer_->header();
  }

  TokenArray encode(nb::bytes document) const {
    const std::string text(document.c_str(), document.size());
    std::vector<Token> tokens;
    {
      nb::gil_scoped_release unlocked;
      tokens = tokenizer_->encode(text);
    }
    return to_numpy(std::move(tokens));
  }

  // All documents' tokens back to back plus offsets (n + 1): two arrays
  // instead of n small ones, which the Python layer slices into views.
  nb::tuple encode_batch(nb::list documents, std::size_t threads) const {
    auto [flat, offsets, stats] = encode_flat(documents, threads);
    return nb::make_tuple(to_numpy(std::move(flat)), to_numpy(std::move(offsets)));
  }
  // The same and the window statistics of the encode.
  nb::tuple encode_batch_with_stats(nb::list documents, std::size_t threads) const {
    auto [flat, offsets, stats] = encode_flat(documents, threads);
    return nb::make_tuple(to_numpy(std::move(flat)), to_numpy(std::move(offsets)), stats_dict(stats));
  }

  // Each document's bitstream before chunking: the bits of all documents as
  // one uint8 array of 0/1 values, plus offsets (n + 1), and the statistics.
  nb::tuple encode_bits(nb::list documents, std::size_t threads) const {
    const auto texts = texts_of(documents);
    std::vector<std::vector<std::uint8_t>> parts;
    WindowStats stats;
    {
      nb::gil_scoped_release unlocked;
      for (const auto& b : tokenizer_->encode_bits(views_of(texts), threads, &stats)) {
        std::vector<std::uint8_t> v(b.size());
        for (std::size_t i = 0; i < b.size(); ++i) v[i] = b[i];
        parts.push_back(std::move(v));
      }
    }
    auto [flat, offsets] = concatenate(std::move(parts));
    return nb::make_tuple(to_numpy(std::move(flat)), to_numpy(std::move(offsets)), stats_dict(stats));
  }

  DecodeResult decode(nb::handle tokens) const {
    const auto input = tokens_of(tokens);
    nb::gil_scoped_release unlocked;
    return tokenizer_->decode(input);
  }

  std::vector<DecodeResult> decode_batch(nb::list streams, std::size_t threads) const {
    std::vector<std::vector<Token>> inputs;
    inputs.reserve(streams.size());
    for (nb::handle s : streams) inputs.push_back(tokens_of(s));
    nb::gil_scoped_release unlocked;
    return tokenizer_->decode_each(inputs, threads);
  }

  [[nodiscard]] const TokenizerSpec& spec() const { return spec_; }
  [[nodiscard]] const TokenFileHeader& header() const { return header_; }
  [[nodiscard]] std::size_t vocab_size() const { return tokenizer_->vocabulary_size(); }

 private:
  struct Flat {
    std::vector<Token> tokens;
    std::vector<std::int64_t> offsets;
    WindowStats stats;
  };
  Flat encode_flat(nb::list documents, std::size_t threads) const {
    const auto texts = texts_of(documents);
    std::vector<std::vector<Token>> parts;
    WindowStats stats;
    {
      nb::gil_scoped_release unlocked;
      parts = tokenizer_->encode_each(views_of(texts), threads, &stats);
    }
    auto [flat, offsets] = concatenate(std::move(parts));
    return {std::move(flat), std::move(offsets), stats};
  }

  static std::vector<std::string> texts_of(nb::list documents) {
    std::vector<std::string> texts;
    texts.reserve(documents.size());
    for (nb::handle d : documents) texts.push_back(bytes_of(d, "every document"));
    return texts;
  }
  static std::vector<std::string_view> views_of(const std::vector<std::string>& texts) {
    return std::vector<std::string_view>(texts.begin(), texts.end());
  }

  TokenizerSpec spec_;
  std::unique_ptr<AnyTokenizer> tokenizer_;
  TokenFileHeader header_;
};

nb::list documents_as_bytes(const DecodeResult& r) {
  // bytes, not str: tokens from M2 may decode to invalid UTF-8.
  nb::list out;
  for (const auto& d : r.documents) out.append(nb::bytes(d.data(), d.size()));
  return out;
}

// The tools run_tool knows, by their command names.
using ToolMain = int (*)(int, char**);
inline constexpr std::pair<std::string_view, ToolMain> kTools[] = {
    {"eqinfo-encode", &tools::encode_main},
    {"eqinfo-decode", &tools::decode_main},
    {"eqinfo-build-static-model", &tools::build_static_model_main},
    {"eqinfo-m1-tables", &tools::m1_tables_main},
};

int run_tool(const std::string& name, const std::vector<std::string>& args) {
  for (const auto& [tool, main] : kTools) {
    if (tool != name) continue;
    std::vector<std::string> owned{name};
    owned.insert(owned.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : owned) argv.push_back(a.data());
    argv.push_back(nullptr);
    nb::gil_scoped_release release;  // a tool runs for as long as its input takes
    const int status = main(static_cast<int>(owned.size()), argv.data());
    std::cout.flush();
    std::cerr.flush();
    return status;
  }
  throw std::invalid_argument("unknown tool '" + name + "'");
}

}  // namespace
}  // namespace eqinfo::python

NB_MODULE(_eqinfo_core, m) {
  using namespace eqinfo;
  using python::CoreTokenizer;
  m.doc() = "eqinfo C++ core (tokenizers). Use the `eqinfo` package; this module is its engine.";
  m.attr("source_dir") = EQINFO_SOURCE_DIR;  // the repository the extension was built from
  m.attr("simd_kernel") = m1::simd_kernel_name();
  m.attr("version") = std::string(kVersion);
  m.def("tool_names", [] {
    std::vector<std::string> names;
    for (const auto& [name, main] : python::kTools) names.emplace_back(name);
    return names;
  }, "the command-line tools run_tool can run");
  m.def("run_tool", &python::run_tool, "name"_a, "args"_a,
        "Runs a command-line tool (eqinfo-encode, ...) in this process with these arguments (argv[1:]); "
        "returns its exit status. It reads stdin and writes stdout/stderr through the C++ streams.");

  m.attr("ISSUE_UNTERMINATED_DOCUMENT") = static_cast<std::uint32_t>(kUnterminatedDocument);
  m.attr("ISSUE_NONZERO_PADDING") = static_cast<std::uint32_t>(kNonzeroPadding);
  m.attr("ISSUE_EXTRA_TOKENS") = static_cast<std::uint32_t>(kExtraTokens);
  m.attr("ISSUE_INVALID_TOKEN") = static_cast<std::uint32_t>(kInvalidToken);
  m.attr("ISSUE_CORRUPT_STREAM") = static_cast<std::uint32_t>(kCorruptStream);

  nb::class_<DecodeResult>(m, "DecodeResult", "What decode returns: the documents recovered and issue flags (never raises on input).")
      .def_prop_ro("documents", &python::documents_as_bytes, "list[bytes], EOS not included")
      .def_ro("issues", &DecodeResult::issues, "bit set of ISSUE_* flags; 0 = exactly what an encoder writes")
      .def_ro("windows", &DecodeResult::windows, "Equal-Info windows decoded (0 for other methods)")
      .def_prop_ro("ok", &DecodeResult::ok)
      .def("describe", &DecodeResult::describe)
      .def("__repr__", [](const DecodeResult& r) {
        return "DecodeResult(documents=" + std::to_string(r.documents.size()) + ", issues='" + r.describe() + "')";
      });

  m.def("method_names", [] {
    std::vector<std::string> names;
    for (auto [method, name] : kMethodNames) names.emplace_back(name);
    return names;
  }, "the C++ factory's method names (the Python registry is checked against them)");
  m.def("chunk_bits", [](nb::ndarray<const std::uint8_t, nb::ndim<1>, nb::c_contig, nb::device::cpu> bits, unsigned token_bits) {
    BitVector v;
    v.reserve(bits.shape(0));
    for (std::size_t i = 0; i < bits.shape(0); ++i) {
      if (bits.data()[i] > 1) throw std::invalid_argument("bits must be 0 or 1");
      v.push_back(bits.data()[i] != 0);
    }
    const BitChunker chunker(token_bits);
    return python::to_numpy(chunker.chunk(v));
  }, "bits"_a, "token_bits"_a, "uint8 0/1 bits -> uint16 tokens of N bits, MSB first, the last zero-padded (BitChunker)");

  nb::class_<CoreTokenizer>(m, "CoreTokenizer", "One tokenizer from run-time settings (TokenizerSpec).")
      .def(nb::init<const std::string&, unsigned, unsigned, const std::string&, std::optional<unsigned>, const std::string&,
                    std::size_t>(),
           "method"_a, "window_bits"_a = 16, "token_bits"_a = 16, "model"_a = "uniform", "frequency_bits"_a = nb::none(),
           "kernel"_a = "simd", "model_threads"_a = 1,
           // Loading M1 validates the file and runs its self-test: seconds, not microseconds.
           nb::call_guard<nb::gil_scoped_release>())
      .def("encode", &CoreTokenizer::encode, "document"_a, "bytes -> uint16 tokens (EOS appended)")
      .def("encode_batch", &CoreTokenizer::encode_batch, "documents"_a, "threads"_a = 1,
           "list[bytes] -> (uint16 tokens of all documents back to back, int64 offsets [n + 1])")
      .def("encode_batch_with_stats", &CoreTokenizer::encode_batch_with_stats, "documents"_a, "threads"_a = 1,
           "list[bytes] -> (tokens, offsets, window stats dict: windows, window_symbols, greedy_symbols, fallback_windows)")
      .def("encode_bits", &CoreTokenizer::encode_bits, "documents"_a, "threads"_a = 1,
           "list[bytes] -> (uint8 0/1 bits of all documents back to back, int64 offsets [n + 1], window stats dict)")
      .def("decode", &CoreTokenizer::decode, "tokens"_a)
      .def("decode_batch", &CoreTokenizer::decode_batch, "streams"_a, "threads"_a = 1)
      .def_prop_ro("method", [](const CoreTokenizer& t) { return std::string(method_name(t.spec().method)); })
      .def_prop_ro("window_bits", [](const CoreTokenizer& t) { return unsigned{t.header().window_bits}; })
      .def_prop_ro("token_bits", [](const CoreTokenizer& t) { return unsigned{t.header().token_bits}; })
      .def_prop_ro("frequency_bits", [](const CoreTokenizer& t) { return unsigned{t.header().frequency_bits}; })
      .def_prop_ro("model", [](const CoreTokenizer& t) { return t.spec().model; })
      .def_prop_ro("fingerprint", [](const CoreTokenizer& t) { return t.header().fingerprint; },
                   "FNV-1a 64 of the model's behaviour; 0 for methods without a model")
      .def_prop_ro("vocab_size", &CoreTokenizer::vocab_size);
}
