// Tests for include/eqinfo/corpus_reader.hpp: the format rule, raw and JSON
// Lines corpora (plain and gzip) read back document for document, lines
// longer than the reader's 1 MiB chunk, and the errors for missing,
// malformed and damaged input, each naming the file (and line).
#include "eqinfo/corpus_reader.hpp"

#include <zlib.h>

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"

using eqinfo::CorpusFormat;
using eqinfo_test::TempFile;

namespace {

std::vector<std::string> read_documents(const std::string& path, CorpusFormat format = CorpusFormat::kAuto) {
  std::vector<std::string> docs;
  const std::size_t count = eqinfo::for_each_document(path, format, [&](std::string_view d) { docs.emplace_back(d); });
  CHECK(count == docs.size());  // the return value counts the calls
  return docs;
}

// One gzip member (as `gzip` would write it) holding `parts` in order, with
// a full flush after each: the compressed bytes up to (*cuts)[i] inflate to
// exactly parts[0..i], so a file cut there ends at a part (line) boundary.
std::string gzip_parts(const std::vector<std::string>& parts, std::vector<std::size_t>* cuts = nullptr) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out;
  const auto deflate_part = [&](const std::string& part, int flush) {
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(part.data()));
    z.avail_in = static_cast<uInt>(part.size());
    int status = Z_OK;
    do {
      char buffer[1 << 16];
      z.next_out = reinterpret_cast<Bytef*>(buffer);
      z.avail_out = sizeof buffer;
      status = deflate(&z, flush);
      out.append(buffer, sizeof buffer - z.avail_out);
    } while (z.avail_out == 0 || (flush == Z_FINISH && status != Z_STREAM_END));
  };
  for (const auto& part : parts) {
    deflate_part(part, Z_FULL_FLUSH);
    if (cuts) cuts->push_back(out.size());
  }
  deflate_part("", Z_FINISH);
  deflateEnd(&z);
  return out;
}

std::string gzip(const std::string& bytes) { return gzip_parts({bytes}); }

std::string jsonl(const std::vector<std::string>& docs) {
  std::string s;
  for (const auto& d : docs) s += nlohmann::json{{"text", d}}.dump() + "\n";
  return s;
}

void check_read_fails(const std::string& suffix, const std::string& bytes, const std::string& why) {
  TempFile f(suffix);
  f.write(bytes);
  INFO("file: " << bytes.substr(0, 120));
  CHECK_THROWS_AS(read_documents(f.path()), std::runtime_error);
  CHECK_THROWS_WITH(read_documents(f.path()), Catch::Matchers::Contains(why));
}

}  // namespace

TEST_CASE("The corpus format is JSON Lines exactly for .jsonl and .jsonl.gz unless given", "[corpus_reader]") {
  using F = CorpusFormat;
  struct Case {
    const char* path;
    F given, expected;
  };
  const Case cases[] = {
      {"a.jsonl", F::kAuto, F::kJsonl},        {"dir/a.jsonl.gz", F::kAuto, F::kJsonl}, {"a.txt", F::kAuto, F::kRaw},
      {"a.txt.gz", F::kAuto, F::kRaw},         {"a.json", F::kAuto, F::kRaw},           {"a.jsonl.bak", F::kAuto, F::kRaw},
      {"jsonl", F::kAuto, F::kRaw},            {".jsonl", F::kAuto, F::kJsonl},         {"-", F::kAuto, F::kRaw},
      {"a.JSONL", F::kAuto, F::kRaw},          {"a.jsonl", F::kRaw, F::kRaw},           {"a.txt", F::kJsonl, F::kJsonl},
  };
  for (const auto& c : cases) {
    INFO(c.path << " given " << static_cast<int>(c.given));
    CHECK(eqinfo::resolve_corpus_format(c.path, c.given) == c.expected);
  }
}

TEST_CASE("A raw corpus is one document holding every byte of the file, plain or gzip", "[corpus_reader]") {
  std::mt19937_64 rng(1);
  std::string binary(3 << 20, '\0');  // three of the reader's 1 MiB chunks
  for (auto& c : binary) c = static_cast<char>(rng());
  const std::string texts[] = {"", "x", "two\nlines\r\n", std::string("nul\0inside\n", 11), binary};
  for (const auto& text : texts) {
    for (const bool compressed : {false, true}) {
      INFO(text.size() << " bytes, compressed " << compressed);
      TempFile f(compressed ? ".txt.gz" : ".txt");
      f.write(compressed ? gzip(text) : text);
      const auto docs = read_documents(f.path());
      REQUIRE(docs.size() == 1);
      CHECK(docs[0] == text);
    }
  }
}

TEST_CASE("A JSON Lines corpus yields each line's text in order, plain or gzip", "[corpus_reader]") {
  std::mt19937_64 rng(2);
  // Text with every escape JSON has to write (quotes, backslash, newlines,
  // control bytes), multi-byte UTF-8 and a document longer than a chunk.
  std::vector<std::string> docs = {"", "plain", "quote \" backslash \\ newline \n tab \t cr \r", "\x01\x1f\x7f",
                                   "Grüße, 你好, 안녕하세요", std::string(1536 * 1024, 'y')};
  for (int i = 0; i < 200; ++i) {
    std::string d(rng() % 300, ' ');
    for (auto& c : d) c = static_cast<char>(32 + rng() % 95);
    docs.push_back(d);
  }
  for (const bool compressed : {false, true}) {
    INFO("compressed " << compressed);
    TempFile f(compressed ? ".jsonl.gz" : ".jsonl");
    f.write(compressed ? gzip(jsonl(docs)) : jsonl(docs));
    CHECK(read_documents(f.path()) == docs);
  }
}

TEST_CASE("JSON Lines: blank lines are skipped, CRLF and a missing last newline are accepted", "[corpus_reader]") {
  struct Case {
    const char* what;
    std::string file;
    std::vector<std::string> docs;
  };
  const Case cases[] = {
      {"empty file", "", {}},
      {"only blank lines", "\n \n\t\r\n\n", {}},
      {"no final newline", "{\"text\":\"a\"}\n{\"text\":\"b\"}", {"a", "b"}},
      {"CRLF line ends", "{\"text\":\"a\"}\r\n{\"text\":\"b\"}\r\n", {"a", "b"}},
      {"blank lines between", "\n{\"text\":\"a\"}\n\n  \n{\"text\":\"b\"}\n\n", {"a", "b"}},
      {"other fields ignored", "{\"id\":7,\"text\":\"a\",\"lang\":\"en\"}\n", {"a"}},
      {"unicode escapes", "{\"text\":\"\\u00e9\\ud83d\\ude00\"}\n", {"\xc3\xa9\xf0\x9f\x98\x80"}},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    TempFile f(".jsonl");
    f.write(c.file);
    CHECK(read_documents(f.path()) == c.docs);
  }
}

TEST_CASE("A JSON Lines line that is not an object with a string \"text\" is refused with file and line", "[corpus_reader]") {
  const std::string good = "{\"text\":\"fine\"}\n";
  const char* bad_lines[] = {
      "not json",        "[\"text\"]",       "\"text\"",  "{\"txt\":\"a\"}",          "{\"text\":7}",
      "{\"text\":null}", "{\"text\":[\"a\"]}", "{\"text\":\"a\"", "{\"text\":\"a\"} trailing", "{\"text\":\"a\"}{\"text\":\"b\"}",
  };
  for (const char* bad : bad_lines) {
    // Line 4: blank lines count, so the number is the editor's line number.
    TempFile f(".jsonl");
    f.write(good + "\n" + good + bad + "\n" + good);
    INFO(bad);
    CHECK_THROWS_WITH(read_documents(f.path()),
                      f.path() + ":4: not a JSON object with a string field \"text\"");
  }
}

TEST_CASE("Missing and damaged corpus files are refused, naming the file", "[corpus_reader]") {
  const std::string missing = std::filesystem::temp_directory_path() / "eqinfo_corpus_reader_test_no_such_file.jsonl";
  CHECK_THROWS_WITH(read_documents(missing), missing + ": cannot open: No such file or directory");
  // Byte 10 opens the first deflate block: 0x07 is BFINAL with the reserved
  // block type 3, which zlib rejects ("invalid block type") at once.
  std::string damaged = gzip(jsonl({"some text", "more text"}));
  damaged[10] = '\x07';
  for (const char* suffix : {".jsonl.gz", ".txt.gz"}) {
    TempFile f(suffix);
    f.write(damaged);
    INFO(suffix);
    CHECK_THROWS_WITH(read_documents(f.path()), f.path() + ": damaged gzip data (zlib: invalid block type)");
  }
}

TEST_CASE("A gzip corpus of several members is read through every member", "[corpus_reader]") {
  TempFile f(".jsonl.gz");
  f.write(gzip(jsonl({"first"})) + gzip(jsonl({"second", "third"})) + gzip(""));
  CHECK(read_documents(f.path()) == std::vector<std::string>{"first", "second", "third"});
}

TEST_CASE("A truncated gzip corpus, or one with a wrong CRC, length or trailing bytes, is refused in both formats", "[corpus_reader]") {
  // gzread returned a short read for these, i.e. a shorter corpus and exit 0.
  const std::vector<std::string> lines{jsonl({"first"}), jsonl({"second"}), jsonl({"third"})};
  std::vector<std::size_t> cuts;
  const std::string good = gzip_parts(lines, &cuts);
  const auto refused = [&](const std::string& bytes, const std::string& why) {
    for (const char* suffix : {".jsonl.gz", ".txt.gz"}) {
      TempFile f(suffix);
      f.write(bytes);
      INFO(suffix);
      CHECK_THROWS_WITH(read_documents(f.path()), f.path() + ": " + why);
    }
  };
  const std::string truncated = "truncated gzip data: the file ends before the stream's end marker and CRC (an incomplete copy?)";
  SECTION("cut at a line boundary (read as the first two documents before)") { refused(good.substr(0, cuts[1]), truncated); }
  SECTION("missing its 8-byte trailer") { refused(good.substr(0, good.size() - 8), truncated); }
  SECTION("missing the last trailer byte") { refused(good.substr(0, good.size() - 1), truncated); }
  SECTION("a second member cut short") { refused(good + good.substr(0, cuts[0]), truncated); }
  SECTION("a wrong CRC-32") {
    std::string bad = good;
    bad[bad.size() - 8] ^= 0x01;
    refused(bad, "damaged gzip data (zlib: incorrect data check)");
  }
  SECTION("a wrong length") {
    std::string bad = good;
    bad[bad.size() - 4] ^= 0x01;
    refused(bad, "damaged gzip data (zlib: incorrect length check)");
  }
  SECTION("bytes after the last member that are no member") {
    refused(good + "trailing", "damaged gzip data: the bytes after gzip member 1 are not a gzip member (zlib: incorrect header check)");
  }
}
