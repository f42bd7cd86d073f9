// eqinfo-decode: token file -> text.  Method, b, N and P come from the file's
// header; the model must be given again and must match the fingerprint.
#include <iostream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include <eqinfo/token_file.hpp>
#include <eqinfo/tokenizer_factory.hpp>

#include "cli.hpp"

namespace {

const char* kUsage =
    "usage: eqinfo-decode [options] INPUT OUTPUT\n"
    "Decodes the token file INPUT (- for stdin) into OUTPUT (- for stdout).\n"
    "Method, window bits, token bits and precision are read from INPUT's header;\n"
    "flags that are given must agree with it, and --model must be the model that encoded it.\n"
    "  --output-format F     raw (default: documents written back to back) | jsonl\n"
    "  --stats               print documents, bytes, windows and decode status to stderr\n"
    "Exit status: 0 decoded cleanly; 3 decoded with issues (see stderr); 2 refused; 1 error.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace eqinfo;
  return cli::run_tool("eqinfo-decode", kUsage, [&] {
    const auto command = cli::parse_tool_command_line(argc, argv, kUsage, {"--output-format"}, {"--stats"});
    if (!command) return 0;
    const auto& [args, input, output] = *command;
    const std::string format = cli::get_choice(args, "--output-format", "raw", {"raw", "jsonl"});

    std::vector<Token> tokens;
    TokenFileHeader file;
    const std::string input_name = input == "-" ? "stdin" : input;
    {
      std::istringstream in(cli::read_all(input));
      try {
        file = read_token_file(in, tokens);
      } catch (const std::runtime_error& e) {
        throw file_error(input_name, e.what());
      }
    }
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

    const DecodeResult result = tokenizer->decode(tokens);
    cli::with_output(output, [&](std::ostream& out) {
      for (const auto& d : result.documents) {
        if (format == "raw") {
          out.write(d.data(), static_cast<std::streamsize>(d.size()));
        } else {
          out << nlohmann::json{{"text", d}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
        }
      }
    });
    std::size_t bytes = 0;
    for (const auto& d : result.documents) bytes += d.size();
    if (args.has("--stats"))
      std::cerr << "documents       " << result.documents.size() << "\nbytes out       " << bytes << "\ntokens in       "
                << tokens.size() << "\nwindows         " << result.windows << "\nstatus          " << result.describe() << "\n";
    if (!result.ok()) {
      std::cerr << "eqinfo-decode: decoded with issues: " << result.describe() << "\n";
      return 3;
    }
    return 0;
  });
}
