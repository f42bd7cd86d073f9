// eqinfo-m1-tables: loads an M1 file (running its self-test) and prints, for
// each input, the FNV-1a 64 hash of the frequency tables at every position of
// [EOS] + input — the quantity the exporter's self-test records.  Lets anyone
// compare kernels, thread counts and machines, or the C++ kernel with the
// NumPy reference (python/tests/test_m1_parity.py).
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <eqinfo/transformer_model.hpp>

#include "cli.hpp"

namespace {
const char* kUsage =
    "usage: eqinfo-m1-tables --model PATH.safetensors [--kernel simd|scalar] [--threads T] HEX...\n"
    "Prints one line per HEX input: the FNV-1a 64 hash of M1's tables over [EOS] + input.\n";
}

int main(int argc, char** argv) {
  using namespace eqinfo;
  return cli::run_tool("eqinfo-m1-tables", kUsage, [&] {
    cli::Arguments args(argc, argv, {"--model", "--kernel", "--threads"}, {"--help"});
    if (args.has("--help")) {
      std::cout << kUsage;
      return 0;
    }
    if (!args.has("--model")) throw cli::UsageError("--model is required");
    const std::string kernel = args.get("--kernel", "simd");
    if (kernel != "simd" && kernel != "scalar") throw cli::UsageError("--kernel must be simd or scalar");
    const TransformerModel<16> model(args.get("--model", ""), kernel == "simd" ? m1::KernelKind::kSimd : m1::KernelKind::kScalar,
                                     args.get_threads(1));
    for (const auto& hex : args.positional()) {
      const auto bytes = m1::parse_hex_bytes(hex);
      if (!bytes) throw cli::UsageError("input '" + hex + "' is not hex");
      std::printf("%016llx\n", static_cast<unsigned long long>(model.context_tables_hash(*bytes)));
    }
    return 0;
  });
}
