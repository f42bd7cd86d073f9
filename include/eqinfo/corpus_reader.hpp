// Reads documents from a corpus file: plain text (the whole file is one
// document) or JSON Lines with a "text" field per line; either may be
// gzip-compressed (zlib's gzread passes uncompressed files through as is).
#pragma once

#include <zlib.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

namespace eqinfo {

enum class CorpusFormat { kAuto, kRaw, kJsonl };

// kAuto: ".jsonl" or ".jsonl.gz" is JSON Lines, anything else raw.
inline CorpusFormat resolve_corpus_format(const std::string& path, CorpusFormat format) {
  if (format != CorpusFormat::kAuto) return format;
  const auto ends_with = [&](std::string_view s) { return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0; };
  return ends_with(".jsonl") || ends_with(".jsonl.gz") ? CorpusFormat::kJsonl : CorpusFormat::kRaw;
}

namespace detail {
class GzFile {
 public:
  explicit GzFile(const std::string& path) : path_(path), file_(path == "-" ? gzdopen(0, "rb") : gzopen(path.c_str(), "rb")) {
    if (!file_) throw std::runtime_error("cannot open '" + path + "'");
    gzbuffer(file_, 1 << 17);
  }
  ~GzFile() {
    if (file_) gzclose(file_);
  }
  GzFile(const GzFile&) = delete;
  GzFile& operator=(const GzFile&) = delete;

  // Appends up to n bytes; returns how many were read (0 at the end).
  std::size_t read(std::string& out, std::size_t n) {
    const std::size_t old = out.size();
    out.resize(old + n);
    const int got = gzread(file_, out.data() + old, static_cast<unsigned>(n));
    if (got < 0) throw std::runtime_error("error reading '" + path_ + "' (damaged gzip data?)");
    out.resize(old + static_cast<std::size_t>(got));
    return static_cast<std::size_t>(got);
  }

 private:
  std::string path_;
  gzFile file_;
};
}  // namespace detail

// Calls fn(std::string_view document) for every document; returns the count.
// Throws std::runtime_error naming the file and line for unreadable input.
template <class F>
std::size_t for_each_document(const std::string& path, CorpusFormat format, F&& fn) {
  detail::GzFile file(path);
  if (resolve_corpus_format(path, format) == CorpusFormat::kRaw) {
    std::string all;
    while (file.read(all, 1 << 20) > 0) {
    }
    fn(std::string_view(all));
    return 1;
  }
  std::string buffer, line;
  std::size_t start = 0, line_number = 0, documents = 0;
  bool at_end = false;
  while (true) {
    std::size_t nl = buffer.find('\n', start);
    if (nl == std::string::npos && !at_end) {
      buffer.erase(0, start);
      start = 0;
      at_end = file.read(buffer, 1 << 20) == 0;
      continue;
    }
    if (nl == std::string::npos) nl = buffer.size();
    line.assign(buffer, start, nl - start);
    start = nl + 1;
    ++line_number;
    if (line.find_first_not_of(" \t\r") != std::string::npos) {
      const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded() || !j.is_object() || !j.contains("text") || !j["text"].is_string())
        throw std::runtime_error(path + ":" + std::to_string(line_number) + ": not a JSON object with a string field \"text\"");
      fn(std::string_view(j["text"].get_ref<const std::string&>()));
      ++documents;
    }
    if (start > buffer.size()) break;
  }
  return documents;
}

}  // namespace eqinfo
