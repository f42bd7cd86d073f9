// eqinfo-m1-tables: loads an M1 file (running its self-test) and prints, for
// each input, the FNV-1a 64 hash of the frequency tables at every position of
// [EOS] + input — the quantity the exporter's self-test records.  Lets anyone
// compare kernels, thread counts and machines, or the C++ kernel with the
// NumPy reference (python/tests/test_m1_parity.py).
#pragma once
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include <eqinfo/model_registry.hpp>
#include <eqinfo/transformer_model.hpp>

#include "../cli.hpp"

namespace eqinfo::tools::m1_tables_detail {
inline const char* kUsage =
    "usage: eqinfo-m1-tables [--model PATH.safetensors] [--kernel simd|scalar] [--threads T] HEX...\n"
    "Prints one line per HEX input: the FNV-1a 64 hash of M1's tables over [EOS] + input.\n"
    "--model: an M1 file (m1:PATH also accepted; default the bundled M1); -h help, --version the version.\n";
}  // namespace eqinfo::tools::m1_tables_detail

namespace eqinfo::tools {

// The whole tool: main() of eqinfo-m1-tables, and what the Python console script calls.
inline int m1_tables_main(int argc, char** argv) {
  using namespace m1_tables_detail;
  return cli::run_tool("eqinfo-m1-tables", kUsage, [&] {
    cli::Arguments args(argc, argv, {"--model", "--kernel", "--threads"}, {"--help", "--version"});
    if (cli::print_help_or_version(args, "eqinfo-m1-tables", kUsage)) return 0;
    // The same --model as the other tools: a file recognised by its content, or m1:PATH.
    const std::string spec = args.has("--model") ? resolve_model_spec(args.get("--model", "")) : cli::default_model(Method::kAc);
    if (!spec.starts_with(M1ModelLoader::kPrefix)) throw cli::UsageError("--model must be an M1 file, not '" + spec + "'");
    const std::string kernel = args.get("--kernel", "simd");
    if (kernel != "simd" && kernel != "scalar") throw cli::UsageError("--kernel must be simd or scalar");
    const TransformerModel<16> model(spec.substr(M1ModelLoader::kPrefix.size()), kernel == "simd" ? m1::KernelKind::kSimd : m1::KernelKind::kScalar,
                                     args.get_threads(1));
    for (const auto& hex : args.positional()) {
      const auto bytes = m1::parse_hex_bytes(hex);
      if (!bytes) throw cli::UsageError("input '" + hex + "' is not hex");
      std::printf("%016llx\n", static_cast<unsigned long long>(model.context_tables_hash(*bytes)));
    }
    return 0;
  });
}

}  // namespace eqinfo::tools
