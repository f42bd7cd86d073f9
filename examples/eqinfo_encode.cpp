// eqinfo-encode: text -> token file (docs/formats.md).
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <eqinfo/corpus_reader.hpp>
#include <eqinfo/token_file.hpp>
#include <eqinfo/tokenizer_factory.hpp>

#include "cli.hpp"

namespace {

const char* kUsage =
    "usage: eqinfo-encode [options] INPUT OUTPUT\n"
    "Tokenizes INPUT (a file, or - for stdin) into the token file OUTPUT (- for stdout).\n"
    "  --input-format F      raw (default: the whole input is one document) | jsonl\n"
    "                        (one JSON object per line, field \"text\"; .gz is read transparently)\n"
    "  --stats               print bytes, tokens, bytes/token, bits/byte and windows to stderr\n";

void print_stats(const eqinfo::AnyTokenizer& tok, const eqinfo::TokenizerSpec& spec, std::size_t documents, std::size_t bytes,
                 std::size_t tokens, const eqinfo::WindowStats& windows) {
  const auto h = tok.header();
  std::fprintf(stderr, "method          %s", std::string(eqinfo::method_name(spec.method)).c_str());
  if (spec.method == eqinfo::Method::kEqualInfo) std::fprintf(stderr, "  b=%u", spec.window_bits);
  std::fprintf(stderr, "  N=%u (vocabulary %zu)", unsigned(h.token_bits), tok.vocabulary_size());
  if (h.frequency_bits) std::fprintf(stderr, "  P=%u  model=%s", unsigned(h.frequency_bits), spec.model.c_str());
  std::fprintf(stderr, "\ndocuments       %zu\nbytes in        %zu\ntokens out      %zu\n", documents, bytes, tokens);
  const double bits = spec.method == eqinfo::Method::kBytes ? 8.0 * static_cast<double>(tokens) : double(h.token_bits) * static_cast<double>(tokens);
  std::fprintf(stderr, "bytes/token     %.4f\nbits/byte       %.4f\n", tokens ? double(bytes) / double(tokens) : 0.0,
               bytes ? bits / double(bytes) : 0.0);
  if (windows.windows) {
    std::fprintf(stderr, "windows         %zu  (%.4f symbols/window incl. EOS)\n", windows.windows,
                 double(windows.symbols) / double(windows.windows));
    std::fprintf(stderr, "termination     %zu windows closed below the greedy maximum (%.3f%%); greedy would hold %.4f symbols/window (%.3f%% more)\n",
                 windows.fallback_windows, 100.0 * double(windows.fallback_windows) / double(windows.windows),
                 double(windows.greedy_symbols) / double(windows.windows),
                 100.0 * (double(windows.greedy_symbols) / double(windows.symbols) - 1.0));
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace eqinfo;
  return cli::run_tool("eqinfo-encode", kUsage, [&] {
    auto valued = cli::kSpecFlags;
    valued.insert("--input-format");
    cli::Arguments args(argc, argv, valued, {"--stats", "--help"});
    if (args.has("--help")) {
      std::cout << kUsage << cli::kSpecHelp;
      return 0;
    }
    if (args.positional().size() != 2) throw cli::UsageError("expected INPUT and OUTPUT");
    const std::string format = args.get("--input-format", "raw");
    if (format != "raw" && format != "jsonl") throw cli::UsageError("--input-format must be raw or jsonl");
    const TokenizerSpec spec = cli::spec_from(args);
    const auto tokenizer = make_tokenizer(spec);

    std::vector<std::string> documents;
    if (format == "raw") {
      documents.push_back(cli::read_all(args.positional()[0]));
    } else {
      for_each_document(args.positional()[0], CorpusFormat::kJsonl, [&](std::string_view d) { documents.emplace_back(d); });
    }
    std::vector<std::string_view> views(documents.begin(), documents.end());
    WindowStats windows;
    const auto tokens = tokenizer->encode_documents(views, &windows);
    cli::with_output(args.positional()[1], [&](std::ostream& out) { write_token_file(out, tokenizer->header(), tokens); });
    if (args.has("--stats")) {
      std::size_t bytes = 0;
      for (const auto& d : documents) bytes += d.size();
      print_stats(*tokenizer, spec, documents.size(), bytes, tokens.size(), windows);
    }
    return 0;
  });
}
