// Reads documents from a corpus file: plain text (the whole file is one
// document) or JSON Lines with a "text" field per line; either may be
// gzip-compressed, and a file that does not start with the gzip magic is read
// as it is.  A gzip file is read to its verified end: every member must reach
// its end-of-stream marker and match its CRC-32 and length trailer, and
// anything after the last member must be another member.  A truncated or
// damaged file is refused with its name, never read as a shorter corpus.
#pragma once

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>

#include "eqinfo/file_io.hpp"

namespace eqinfo {

enum class CorpusFormat { kAuto, kRaw, kJsonl };

// kAuto: ".jsonl" or ".jsonl.gz" is JSON Lines, anything else raw.
inline CorpusFormat resolve_corpus_format(const std::string& path, CorpusFormat format) {
  if (format != CorpusFormat::kAuto) return format;
  const auto ends_with = [&](std::string_view s) { return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0; };
  return ends_with(".jsonl") || ends_with(".jsonl.gz") ? CorpusFormat::kJsonl : CorpusFormat::kRaw;
}

namespace detail {
// The bytes of a corpus file ("-": stdin), gunzipped if it is gzip.  zlib's
// gzread is not used: it returns a short read, not an error, when the input
// ends inside a member, and it ignores trailing garbage after a member.
class CorpusBytes {
 public:
  explicit CorpusBytes(const std::string& path)
      : path_(path == "-" ? "stdin" : path), fd_(path == "-" ? ::dup(0) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_.get() < 0) throw file_errno_error(path_, "cannot open", errno);
    const bool have_two = fill_input() && (avail_ >= 2 || fill_input());
    gzip_ = have_two && static_cast<unsigned char>(input_[0]) == 0x1f && static_cast<unsigned char>(input_[1]) == 0x8b;
    if (gzip_ && inflateInit2(&stream_, 15 + 16) != Z_OK) throw file_error(path_, "cannot start zlib");
  }
  ~CorpusBytes() {
    if (gzip_) inflateEnd(&stream_);
  }
  CorpusBytes(const CorpusBytes&) = delete;
  CorpusBytes& operator=(const CorpusBytes&) = delete;

  // Appends up to n bytes to `out`; returns how many (0 only at the end of a
  // complete file).
  std::size_t read(std::string& out, std::size_t n) {
    const std::size_t old = out.size();
    out.resize(old + n);
    const std::size_t got = gzip_ ? inflate_into(out.data() + old, n) : copy_into(out.data() + old, n);
    out.resize(old + got);
    return got;
  }

 private:
  // Moves the unread input to the front and reads more after it; false at
  // the end of the file.
  bool fill_input() {
    std::memmove(input_.data(), input_.data() + next_, avail_);
    next_ = 0;
    while (true) {
      const ssize_t got = ::read(fd_.get(), input_.data() + avail_, input_.size() - avail_);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw file_errno_error(path_, "cannot read", errno);
      avail_ += static_cast<std::size_t>(got);
      return got > 0;
    }
  }

  std::size_t copy_into(char* out, std::size_t n) {
    if (avail_ == 0 && !fill_input()) return 0;
    const std::size_t k = std::min(n, avail_);
    std::memcpy(out, input_.data() + next_, k);
    next_ += k;
    avail_ -= k;
    return k;
  }

  std::size_t inflate_into(char* out, std::size_t n) {
    stream_.next_out = reinterpret_cast<Bytef*>(out);
    stream_.avail_out = static_cast<uInt>(n);
    while (stream_.avail_out > 0) {
      if (member_done_) {
        // After a member: the end of the file, or the next member.
        if (avail_ == 0 && !fill_input()) break;
        inflateReset(&stream_);
        member_done_ = false;
      }
      if (avail_ == 0 && !fill_input())
        throw file_error(path_, "truncated gzip data: the file ends before the stream's end marker and CRC (an incomplete copy?)");
      stream_.next_in = reinterpret_cast<Bytef*>(input_.data() + next_);
      stream_.avail_in = static_cast<uInt>(avail_);
      const int status = inflate(&stream_, Z_NO_FLUSH);
      next_ += avail_ - stream_.avail_in;
      avail_ = stream_.avail_in;
      if (status == Z_STREAM_END) {
        member_done_ = true;
        ++members_;
      } else if (status != Z_OK && status != Z_BUF_ERROR) {
        const std::string why = stream_.msg ? stream_.msg : "error " + std::to_string(status);
        // Nothing inflated yet after a complete member: the bytes that follow it are no gzip member.
        if (members_ > 0 && stream_.total_out == 0)
          throw file_error(path_, "damaged gzip data: the bytes after gzip member " + std::to_string(members_) + " are not a gzip member (zlib: " + why + ")");
        throw file_error(path_, "damaged gzip data (zlib: " + why + ")");
      }
    }
    return n - stream_.avail_out;
  }

  std::string path_;
  FileDescriptor fd_;
  std::array<char, 1 << 17> input_{};
  std::size_t next_ = 0, avail_ = 0;  // unread input: input_[next_, next_ + avail_)
  bool gzip_ = false, member_done_ = false;
  std::size_t members_ = 0;  // gzip members read to their verified end
  z_stream stream_{};
};
}  // namespace detail

// Calls fn(std::string_view document) for every document; returns the count.
// Throws std::runtime_error naming the file and line for unreadable input.
template <class F>
std::size_t for_each_document(const std::string& path, CorpusFormat format, F&& fn) {
  detail::CorpusBytes file(path);
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
