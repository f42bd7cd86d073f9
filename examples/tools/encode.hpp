// eqinfo-encode: text -> token file (docs/formats.md).
#pragma once
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <eqinfo/corpus_reader.hpp>
#include <eqinfo/token_file.hpp>
#include <eqinfo/tokenizer_factory.hpp>

#include "../cli.hpp"

namespace eqinfo::tools::encode_detail {

inline const char* kUsage =
    "usage: eqinfo-encode [options] [INPUT [OUTPUT]]\n"
    "Tokenizes INPUT (a file; - or none: stdin) into the token file OUTPUT (- or none: stdout).\n"
    "  --input-format F      auto (default: *.jsonl and *.jsonl.gz are jsonl, anything else raw)\n"
    "                        | raw (the whole input is one document) | jsonl (one JSON object per\n"
    "                        line, field \"text\"; .gz is read transparently)\n"
    "  --stats               print bytes, tokens, bytes/token, bits/byte and windows to stderr (for people)\n"
    "  --stats-json PATH     write the same statistics as one JSON object to PATH (- for stdout when\n"
    "                        OUTPUT is a file); fields in docs/formats.md\n";

// What an encode run measured: printed for people (--stats) or as JSON for
// programs (--stats-json), from the same numbers.
struct EncodeStats {
  eqinfo::TokenFileHeader header;
  std::string model;
  std::size_t vocabulary_size = 0, documents = 0, bytes = 0, tokens = 0;
  eqinfo::WindowStats windows;

  [[nodiscard]] double bits_per_token() const {
    return static_cast<eqinfo::Method>(header.method) == eqinfo::Method::kBytes ? 8.0 : double(header.token_bits);
  }
  [[nodiscard]] double bytes_per_token() const { return tokens ? double(bytes) / double(tokens) : 0.0; }
  [[nodiscard]] double bits_per_byte() const { return bytes ? bits_per_token() * double(tokens) / double(bytes) : 0.0; }

  [[nodiscard]] nlohmann::json to_json() const {
    char fingerprint[17];
    std::snprintf(fingerprint, sizeof fingerprint, "%016llx", static_cast<unsigned long long>(header.fingerprint));
    const bool has_model = header.frequency_bits != 0;
    return {{"method", std::string(eqinfo::method_name(static_cast<eqinfo::Method>(header.method)))},
            {"window_bits", header.window_bits},
            {"token_bits", header.token_bits},
            {"vocabulary_size", vocabulary_size},
            {"frequency_bits", header.frequency_bits},
            {"model", has_model ? nlohmann::json(model) : nlohmann::json(nullptr)},
            {"fingerprint", fingerprint},
            {"documents", documents},
            {"bytes", bytes},
            {"tokens", tokens},
            {"bytes_per_token", bytes_per_token()},
            {"bits_per_byte", bits_per_byte()},
            {"windows", windows.windows},
            {"window_symbols", windows.symbols},
            {"greedy_symbols", windows.greedy_symbols},
            {"fallback_windows", windows.fallback_windows}};
  }

  void print(std::FILE* out) const {
    std::fprintf(out, "method          %s", std::string(eqinfo::method_name(static_cast<eqinfo::Method>(header.method))).c_str());
    if (header.window_bits) std::fprintf(out, "  b=%u", unsigned(header.window_bits));
    std::fprintf(out, "  N=%u (vocabulary %zu)", unsigned(header.token_bits), vocabulary_size);
    if (header.frequency_bits) std::fprintf(out, "  P=%u  model=%s", unsigned(header.frequency_bits), model.c_str());
    std::fprintf(out, "\ndocuments       %zu\nbytes in        %zu\ntokens out      %zu\n", documents, bytes, tokens);
    std::fprintf(out, "bytes/token     %.4f\nbits/byte       %.4f\n", bytes_per_token(), bits_per_byte());
    if (windows.windows) {
      const double w = double(windows.windows);
      std::fprintf(out, "windows         %zu  (%.4f symbols/window incl. EOS)\n", windows.windows, double(windows.symbols) / w);
      std::fprintf(out,
                   "termination     %zu windows closed below the greedy maximum (%.3f%%); greedy would hold %.4f symbols/window "
                   "(%.3f%% more)\n",
                   windows.fallback_windows, 100.0 * double(windows.fallback_windows) / w, double(windows.greedy_symbols) / w,
                   100.0 * (double(windows.greedy_symbols) / double(windows.symbols) - 1.0));
    }
  }
};

}  // namespace eqinfo::tools::encode_detail

namespace eqinfo::tools {

// The whole tool: main() of eqinfo-encode, and what the Python console script calls.
inline int encode_main(int argc, char** argv) {
  using namespace encode_detail;
  return cli::run_tool("eqinfo-encode", kUsage, [&] {
    const auto command =
        cli::parse_tool_command_line(argc, argv, "eqinfo-encode", kUsage, {"--input-format", "--stats-json"}, {"--stats"});
    if (!command) return 0;
    const auto& [args, input, output, force] = *command;
    const std::string choice = cli::get_choice(args, "--input-format", "auto", {"auto", "raw", "jsonl"});
    const CorpusFormat format = resolve_corpus_format(
        input, choice == "raw" ? CorpusFormat::kRaw : choice == "jsonl" ? CorpusFormat::kJsonl : CorpusFormat::kAuto);
    const std::string stats_json = args.get("--stats-json", "");
    if (args.has("--stats-json") && stats_json.empty()) throw cli::UsageError("--stats-json needs a path");
    if (stats_json == "-" && output == "-") throw cli::UsageError("--stats-json - and OUTPUT - would share stdout");
    TokenizerSpec spec = cli::spec_from(args);

    std::vector<std::string> documents;
    if (format == CorpusFormat::kRaw) {
      documents.push_back(cli::read_all(input));
    } else {
      for_each_document(input, CorpusFormat::kJsonl, [&](std::string_view d) { documents.emplace_back(d); });
    }
    // --threads T: several documents go to T threads, one document each (the
    // model single-threaded); a single document splits M1's rows instead.
    const std::size_t threads = spec.threads;
    if (documents.size() > 1) spec.threads = 1;
    const auto tokenizer = make_tokenizer(spec);
    const std::vector<std::string_view> views(documents.begin(), documents.end());
    EncodeStats stats;
    const auto tokens = tokenizer->encode_documents(views, documents.size() > 1 ? threads : 1, &stats.windows);
    cli::with_output(output, force, [&](std::ostream& out) { write_token_file(out, tokenizer->header(), tokens); });

    stats.header = tokenizer->header();
    stats.model = spec.model;
    stats.vocabulary_size = tokenizer->vocabulary_size();
    stats.documents = documents.size();
    stats.tokens = tokens.size();
    for (const auto& d : documents) stats.bytes += d.size();
    if (args.has("--stats")) stats.print(stderr);
    if (!stats_json.empty())
      cli::with_output(stats_json, force, [&](std::ostream& out) { out << stats.to_json().dump(1) << '\n'; });
    return 0;
  });
}

}  // namespace eqinfo::tools
