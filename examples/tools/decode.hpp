// eqinfo-decode: token file -> text.  Method, b, N and P come from the file's
// header; the model must be given again and must match the fingerprint.
#pragma once
#include <algorithm>
#include <cstdint>
#include <iostream>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include <eqinfo/token_file.hpp>
#include <eqinfo/tokenizer_factory.hpp>

#include "../cli.hpp"

namespace eqinfo::tools::decode_detail {

inline const char* kUsage =
    "usage: eqinfo-decode [options] [INPUT [OUTPUT]]\n"
    "Decodes the token file INPUT (- or none: stdin) into OUTPUT (- or none: stdout).\n"
    "Method, window bits, token bits and precision are read from INPUT's header;\n"
    "flags that are given must agree with it, and --model must be the model that encoded it.\n"
    "  --output-format F     raw (default: documents written back to back) | jsonl\n"
    "                        (jsonl refuses text that is not valid UTF-8: JSON cannot hold it)\n"
    "  --max-output BYTES    refuse to decode more than BYTES bytes of text (default 4294967296)\n"
    "  --max-ratio R         gzip methods: refuse more than R bytes of text per token-file byte,\n"
    "                        beyond the first 16 MiB (default 100; deflate allows ~1032)\n"
    "  --stats               print documents, bytes, windows and decode status to stderr\n"
    "Exit status: 0 decoded cleanly; 3 decoded with issues (see stderr); 2 refused; 1 error.\n";

// Defaults of the output limits (docs/formats.md, "What the tools check"):
// far above any corpus we decode in one file, far below what a 1 MB token
// file could otherwise ask for.
inline constexpr std::uint64_t kDefaultMaxOutput = std::uint64_t{1} << 32;
inline constexpr std::uint64_t kDefaultMaxRatio = 100, kRatioFreeBytes = std::uint64_t{16} << 20;

}  // namespace eqinfo::tools::decode_detail

namespace eqinfo::tools {

// The whole tool: main() of eqinfo-decode, and what the Python console script calls.
inline int decode_main(int argc, char** argv) {
  using namespace decode_detail;
  return cli::run_tool("eqinfo-decode", kUsage, [&] {
    const auto command =
        cli::parse_tool_command_line(argc, argv, "eqinfo-decode", kUsage, {"--output-format", "--max-output", "--max-ratio"}, {"--stats"});
    if (!command) return 0;
    const auto& [args, input, output, force] = *command;
    const std::string format = cli::get_choice(args, "--output-format", "raw", {"raw", "jsonl"});
    const std::uint64_t max_output = args.get_u64("--max-output", kDefaultMaxOutput, 0, std::numeric_limits<std::uint64_t>::max());
    const std::uint64_t max_ratio = args.get_u64("--max-ratio", kDefaultMaxRatio, 1, std::uint64_t{1} << 32);

    std::vector<Token> tokens;
    TokenFileHeader file;
    const std::string input_name = input == "-" ? "stdin" : input;
    cli::with_input(input, [&](std::istream& in) {  // read straight into `tokens`: the file is held once
      try {
        file = read_token_file(in, tokens);
      } catch (const std::runtime_error& e) {
        throw file_error(input_name, e.what());
      }
    });
    const auto method = static_cast<Method>(file.method);
    if (method_name(method) == "unknown")
      throw std::invalid_argument(input_name + ": token file names unknown method " + std::to_string(file.method));
    TokenizerSpec base;
    base.method = method;
    base.token_bits = file.token_bits;
    if (file.window_bits) base.window_bits = file.window_bits;
    if (file.frequency_bits) base.frequency_bits = file.frequency_bits;
    const TokenizerSpec spec = cli::spec_from(args, base);
    const auto tokenizer = make_tokenizer(spec);
    if (const std::string why = tokenizer->mismatch(file); !why.empty())
      throw std::invalid_argument("refusing to decode '" + input + "': " + why);

    // The output limit: --max-output, and for gzip also the ratio guard
    // (deflate turns a 1 MB token file into up to ~1 GB of text).
    std::uint64_t limit = max_output;
    const std::size_t token_count = tokens.size();
    if (method == Method::kGzip || method == Method::kGzipRaw) {
      const std::uint64_t file_bytes = TokenFileHeader::kSize + 2 * std::uint64_t{token_count};
      const std::uint64_t ratio_limit =
          file_bytes > (std::numeric_limits<std::uint64_t>::max() - kRatioFreeBytes) / max_ratio ? std::numeric_limits<std::uint64_t>::max()
                                                                                                : kRatioFreeBytes + max_ratio * file_bytes;
      limit = std::min(limit, ratio_limit);
    }
    DecodeLimits limits;
    limits.max_output_bytes = static_cast<std::size_t>(std::min<std::uint64_t>(limit, std::numeric_limits<std::size_t>::max()));
    const DecodeResult result = tokenizer->decode(std::move(tokens), limits);
    if (result.stopped_at_limit())
      throw file_error(input_name, "the decoded text reached the limit of " + std::to_string(limit) +
                                       " bytes; nothing was written (--max-output" +
                                       (limit < max_output ? std::string(" and --max-ratio raise it)") : std::string(" raises it)")));
    if (format == "jsonl")  // checked before anything is written: stdout cannot be taken back
      for (std::size_t i = 0; i < result.documents.size(); ++i)
        if (const auto at = first_invalid_utf8(result.documents[i]))
          throw file_error(input_name, "document " + std::to_string(i) + " is not valid UTF-8 (byte " + std::to_string(*at) +
                                           "), which JSON cannot hold; nothing was written (use --output-format raw)");
    cli::with_output(output, force, [&](std::ostream& out) {
      for (const auto& d : result.documents) {
        if (format == "raw") {
          out.write(d.data(), static_cast<std::streamsize>(d.size()));
        } else {
          out << nlohmann::json{{"text", d}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict) << '\n';
        }
      }
    });
    const std::size_t bytes = result.output_bytes;
    if (args.has("--stats"))
      std::cerr << "documents       " << result.documents.size() << "\nbytes out       " << bytes << "\ntokens in       "
                << token_count << "\nwindows         " << result.windows << "\nstatus          " << result.describe() << "\n";
    if (!result.ok()) {
      std::cerr << "eqinfo-decode: decoded with issues: " << result.describe() << "\n";
      return 3;
    }
    return 0;
  });
}

}  // namespace eqinfo::tools
