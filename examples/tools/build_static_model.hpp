// eqinfo-build-static-model: counts bytes (and one EOS per document) over a
// corpus into a StaticModel file, the order-0 model of the StaticAC method.
#pragma once
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <eqinfo/corpus_reader.hpp>
#include <eqinfo/static_model.hpp>

#include "../cli.hpp"

namespace eqinfo::tools::build_static_model_detail {
// The fixed train/validation split shared by every experiment (docs/data.md).
inline constexpr std::size_t kValidationEvery = 50;

inline const char* kUsage =
    "usage: eqinfo-build-static-model [--input-format auto|raw|jsonl] [--split all|train|validation] [-f]\n"
    "                                 (OUTPUT.json | -o OUTPUT.json) INPUT...\n"
    "Counts byte frequencies (plus EOS once per document) over the INPUT files.\n"
    "auto (default): *.jsonl and *.jsonl.gz are JSON Lines with a \"text\" field, anything else\n"
    "one raw document; gzip is read transparently.\n"
    "--split keeps the project's fixed document split (docs/data.md): document i (0-based,\n"
    "per file) is validation iff i % 50 == 0, train otherwise.  Default: all.\n"
    "An existing OUTPUT.json is refused unless -f (--force) is given; -h help, --version the version.\n";
}  // namespace eqinfo::tools::build_static_model_detail

namespace eqinfo::tools {

// The whole tool: main() of eqinfo-build-static-model, and what the Python console script calls.
inline int build_static_model_main(int argc, char** argv) {
  using namespace build_static_model_detail;
  return cli::run_tool("eqinfo-build-static-model", kUsage, [&] {
    cli::Arguments args(argc, argv, {"--input-format", "--split", "--output"}, {"--help", "--version", "--force"});
    if (cli::print_help_or_version(args, "eqinfo-build-static-model", kUsage)) return 0;
    // OUTPUT.json INPUT..., or -o OUTPUT.json INPUT...
    std::vector<std::string> inputs = args.positional();
    std::string output = args.get("--output", "");
    if (!args.has("--output")) {
      if (inputs.size() < 2) throw cli::UsageError("expected OUTPUT.json and at least one INPUT");
      output = inputs.front();
      inputs.erase(inputs.begin());
    }
    if (output.empty() || output == "-") throw cli::UsageError("OUTPUT.json must be a file name");
    if (inputs.empty()) throw cli::UsageError("expected at least one INPUT");
    cli::refuse_existing_output(output, args.has("--force"));
    const std::string f = args.get("--input-format", "auto");
    if (f != "auto" && f != "raw" && f != "jsonl") throw cli::UsageError("--input-format must be auto, raw or jsonl");
    const CorpusFormat format = f == "raw" ? CorpusFormat::kRaw : f == "jsonl" ? CorpusFormat::kJsonl : CorpusFormat::kAuto;

    const std::string split = args.get("--split", "all");
    if (split != "all" && split != "train" && split != "validation") throw cli::UsageError("--split must be all, train or validation");

    SymbolCounts counts{};
    std::size_t documents = 0, bytes = 0;
    for (const auto& input : inputs) {
      std::size_t index = 0;
      for_each_document(input, format, [&](std::string_view d) {
        const bool validation = index++ % kValidationEvery == 0;
        if (split == "all" || (split == "validation") == validation) {
          count_document(counts, d);
          bytes += d.size();
          ++documents;
        }
      });
    }
    static_model_file::save(counts, output);

    // Empirical order-0 entropy, in bits per text byte (EOS cost included).
    double total = 0, bits = 0;
    for (auto c : counts) total += double(c);
    for (auto c : counts)
      if (c) bits -= double(c) * std::log2(double(c) / total);
    std::fprintf(stderr, "documents %zu, bytes %zu, order-0 entropy %.4f bits/byte -> %s\n", documents, bytes,
                 bytes ? bits / double(bytes) : 0.0, output.c_str());
    return 0;
  });
}

}  // namespace eqinfo::tools
