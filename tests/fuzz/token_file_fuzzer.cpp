// libFuzzer target for the token-file reader (token_file.hpp), read from
// memory (scripts/fuzz.sh builds and runs it):
//
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude \
//           tests/fuzz/token_file_fuzzer.cpp -lz -o build-fuzz/token_file_fuzzer
//
// The input is a whole token file.  read_token_file must accept it or refuse
// it with a std::runtime_error with a message that says it is no token file
// or a damaged one.  What it accepts must have header.token_count ==
// tokens.size(), and write_token_file(header, tokens) must give back exactly
// the input's bytes (the format has one encoding of each file).
//
// Anything else (another exception type, an empty message, a sanitizer
// report, a leak) aborts, which libFuzzer reports as a crash.
//
// Seeds: EQINFO_FUZZ_WRITE_SEEDS=DIR build-fuzz/token_file_fuzzer writes
// token files of the Bytes and GZip tokenizers' tokens for a short English
// text, an empty one and a few damaged ones to DIR, then exits.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "eqinfo/bytes_tokenizer.hpp"
#include "eqinfo/gzip_tokenizer.hpp"
#include "eqinfo/token_file.hpp"

#include "fuzz_seeds.hpp"

namespace {

using namespace eqinfo;

[[noreturn]] void fail(const std::string& what, const std::string& detail = {}) {
  std::fprintf(stderr, "token_file_fuzzer: %s%s%s\n", what.c_str(), detail.empty() ? "" : ": ", detail.c_str());
  std::abort();
}

std::string to_bytes(const TokenFileHeader& header, const std::vector<Token>& tokens) {
  std::ostringstream out;
  write_token_file(out, header, tokens);
  return out.str();
}

void write_seeds(const std::string& dir) {
  const auto put = [&](const std::string& name, const std::string& bytes) { std::ofstream(dir + "/" + name, std::ios::binary) << bytes; };
  const std::string text = "The quick brown fox jumps over the lazy dog.\nIt was the best of times.\n";
  const std::vector<std::string_view> docs = {text, "second document"};
  TokenFileHeader h;
  h.method = 1;  // Method::kBytes
  h.token_bits = 9;
  put("bytes", to_bytes(h, BytesTokenizer{}.encode_documents(docs)));
  h.method = 2;  // Method::kGzip
  h.token_bits = 16;
  put("gzip-n16", to_bytes(h, GzipTokenizer(16, GzipTokenizer::Framing::kGzip).encode_documents(docs)));
  h = {6, 8, 16, 14, 0x0123456789abcdefULL, 0};  // Method::kEqualInfo
  const std::string empty = to_bytes(h, {});
  put("empty", empty);
  put("truncated-header", empty.substr(0, 20));
  std::string one = to_bytes(h, {0x1234});
  put("one", one);
  put("odd-body", one + "x");
  one[12] = 1;
  put("reserved-set", one);
}

}  // namespace

EQINFO_FUZZ_SEED_WRITER(write_seeds)

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  std::istringstream in(bytes);
  std::vector<Token> tokens;
  TokenFileHeader header;
  try {
    header = read_token_file(in, tokens);
  } catch (const std::runtime_error& e) {
    const std::string_view msg = e.what();
    if (msg.find("token file") == std::string_view::npos) fail("a refusal does not say what is wrong", std::string(msg));
    return 0;
  } catch (const std::exception& e) {
    fail("refused with an exception that is not a std::runtime_error", e.what());
  }
  if (header.token_count != tokens.size()) fail("token_count != the number of tokens read");
  if (to_bytes(header, tokens) != bytes) fail("the file does not re-serialise to the same bytes");
  return 0;
}
