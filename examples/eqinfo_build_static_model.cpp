// eqinfo-build-static-model: counts bytes (and one EOS per document) over a
// corpus into a StaticModel file, the order-0 model of the StaticAC method.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>

#include <eqinfo/corpus_reader.hpp>
#include <eqinfo/static_model.hpp>

#include "cli.hpp"

namespace {
// The fixed train/validation split shared by every experiment (docs/data.md).
constexpr std::size_t kValidationEvery = 50;

const char* kUsage =
    "usage: eqinfo-build-static-model [--input-format auto|raw|jsonl] [--split all|train|validation] OUTPUT.json INPUT...\n"
    "Counts byte frequencies (plus EOS once per document) over the INPUT files.\n"
    "auto (default): *.jsonl and *.jsonl.gz are JSON Lines with a \"text\" field, anything else\n"
    "one raw document; gzip is read transparently.\n"
    "--split keeps the project's fixed document split (docs/data.md): document i (0-based,\n"
    "per file) is validation iff i % 50 == 0, train otherwise.  Default: all.\n";
}

int main(int argc, char** argv) {
  using namespace eqinfo;
  return cli::run_tool("eqinfo-build-static-model", kUsage, [&] {
    cli::Arguments args(argc, argv, {"--input-format", "--split"}, {"--help"});
    if (args.has("--help")) {
      std::cout << kUsage;
      return 0;
    }
    if (args.positional().size() < 2) throw cli::UsageError("expected OUTPUT.json and at least one INPUT");
    const std::string f = args.get("--input-format", "auto");
    if (f != "auto" && f != "raw" && f != "jsonl") throw cli::UsageError("--input-format must be auto, raw or jsonl");
    const CorpusFormat format = f == "raw" ? CorpusFormat::kRaw : f == "jsonl" ? CorpusFormat::kJsonl : CorpusFormat::kAuto;

    const std::string split = args.get("--split", "all");
    if (split != "all" && split != "train" && split != "validation") throw cli::UsageError("--split must be all, train or validation");

    SymbolCounts counts{};
    std::size_t documents = 0, bytes = 0;
    for (std::size_t i = 1; i < args.positional().size(); ++i) {
      std::size_t index = 0;
      for_each_document(args.positional()[i], format, [&](std::string_view d) {
        const bool validation = index++ % kValidationEvery == 0;
        if (split == "all" || (split == "validation") == validation) {
          count_document(counts, d);
          bytes += d.size();
          ++documents;
        }
      });
    }
    static_model_file::save(counts, args.positional()[0]);

    // Empirical order-0 entropy, in bits per text byte (EOS cost included).
    double total = 0, bits = 0;
    for (auto c : counts) total += double(c);
    for (auto c : counts)
      if (c) bits -= double(c) * std::log2(double(c) / total);
    std::fprintf(stderr, "documents %zu, bytes %zu, order-0 entropy %.4f bits/byte -> %s\n", documents, bytes,
                 bytes ? bits / double(bytes) : 0.0, args.positional()[0].c_str());
    return 0;
  });
}
