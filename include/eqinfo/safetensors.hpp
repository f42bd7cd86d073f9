// A safetensors file read into memory once, with every structural property
// checked at open: a truncated, corrupt or inconsistent file gets a clear
// error naming the file and what is wrong, and nothing else.
//
// Format (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON {name: {"dtype", "shape", "data_offsets":
// [begin, end]}, "__metadata__": {string: string}}, then the data; offsets are
// relative to the start of the data.
//
// Why a copy and not a memory map: values validated at open were read again
// from the map later, so a `cp` over the model during a run turned into
// SIGBUS (truncated) or wrong tokens and SIGSEGV (overwritten in place). Why
// aligned storage: the format allows any header length N, and with N % 4 != 0
// every int32 read from a mapped file was misaligned (undefined behaviour).
// Every tensor's bytes here start on an 8-byte boundary.
#pragma once

#include <algorithm>
#include <bit>
#include <cerrno>
#include <optional>
#include <cstdint>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "eqinfo/file_io.hpp"

namespace eqinfo {

enum class TensorDType { kI8, kU8, kI16, kI32, kI64, kF32 };

inline std::size_t dtype_size(TensorDType t) {
  switch (t) {
    case TensorDType::kI8:
    case TensorDType::kU8: return 1;
    case TensorDType::kI16: return 2;
    case TensorDType::kI32:
    case TensorDType::kF32: return 4;
    case TensorDType::kI64: return 8;
  }
  return 0;
}

struct TensorView {
  TensorDType dtype;
  std::vector<std::size_t> shape;
  std::span<const std::uint8_t> bytes;

  [[nodiscard]] std::size_t elements() const {
    std::size_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
  // The data as T; the file's little-endian layout is the host's (checked at open).
  template <class T>
  [[nodiscard]] std::span<const T> as() const {
    return {reinterpret_cast<const T*>(bytes.data()), bytes.size() / sizeof(T)};
  }
};

class SafetensorsFile {
 public:
  // Far above any model of ours (M1 is ~5 MB) and far below what a machine
  // can hold: a larger file is refused before it is read to the end.
  static constexpr std::size_t kMaxFileBytes = std::size_t{1} << 30;

  // A regular file only: a FIFO would block the open, /dev/zero has no end.
  explicit SafetensorsFile(const std::string& path, std::size_t max_bytes = kMaxFileBytes)
      : SafetensorsFile(read_regular_file(path, "model '" + path + "'", max_bytes), path) {}

  // A file's bytes already in memory, with the same checks and errors; `label`
  // stands for the path in them (and is what path() returns).
  [[nodiscard]] static SafetensorsFile from_bytes(std::string_view bytes, std::string label) {
    return SafetensorsFile(bytes, std::move(label));
  }

  // Move-only: a copy's views would point into the source's buffers.
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  SafetensorsFile(SafetensorsFile&&) noexcept = default;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept = default;

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] const std::map<std::string, TensorView>& tensors() const noexcept { return tensors_; }
  [[nodiscard]] const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }
  [[nodiscard]] bool has(const std::string& name) const { return tensors_.count(name) > 0; }

  // The tensor `name`, checked to have `dtype` and `shape`.
  [[nodiscard]] const TensorView& tensor(const std::string& name, TensorDType dtype, const std::vector<std::size_t>& shape) const {
    const auto it = tensors_.find(name);
    if (it == tensors_.end()) throw error("tensor '" + name + "' is missing");
    if (it->second.dtype != dtype) throw error("tensor '" + name + "' has the wrong dtype");
    if (it->second.shape != shape) {
      std::string want, got;
      for (auto d : shape) want += (want.empty() ? "" : ",") + std::to_string(d);
      for (auto d : it->second.shape) got += (got.empty() ? "" : ",") + std::to_string(d);
      throw error("tensor '" + name + "' has shape [" + got + "], expected [" + want + "]");
    }
    return it->second;
  }

  [[nodiscard]] std::runtime_error error(const std::string& what) const {
    return std::runtime_error("model '" + path_ + "': " + what);
  }

 private:
  SafetensorsFile(std::string_view bytes, std::string label) : path_(std::move(label)) {
    static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");
    parse(bytes);
  }

  // One tensor's bytes in 8-byte-aligned storage of its own. Each buffer is a
  // separate heap block, so the views into it survive moves of the file.
  std::span<const std::uint8_t> store(const std::uint8_t* bytes, std::size_t size) {
    auto& words = storage_.emplace_back((size + 7) / 8);
    if (size > 0) std::memcpy(words.data(), bytes, size);
    return {reinterpret_cast<const std::uint8_t*>(words.data()), size};
  }

  static std::optional<TensorDType> parse_dtype(const std::string& s) {
    if (s == "I8") return TensorDType::kI8;
    if (s == "U8") return TensorDType::kU8;
    if (s == "I16") return TensorDType::kI16;
    if (s == "I32") return TensorDType::kI32;
    if (s == "I64") return TensorDType::kI64;
    if (s == "F32") return TensorDType::kF32;
    return std::nullopt;
  }

  // What a file that is not safetensors starts like, if its first 8 bytes are text (a real
  // header length is below 2^56, so its last byte is 0, never text): JSON (the order-0 model, a
  // tokenizer config) or other text; nullopt otherwise.
  static std::optional<std::string> looks_like(std::string_view file) {
    const auto head = file.substr(0, 8);
    const bool text = std::all_of(head.begin(), head.end(), [](char c) {
      return (c >= 0x20 && c < 0x7f) || c == '\t' || c == '\r' || c == '\n';
    });
    if (!text) return std::nullopt;
    const auto first = head.find_first_not_of(" \t\r\n");
    if (first != std::string_view::npos && (head[first] == '{' || head[first] == '['))
      return std::string("it begins with '") + head[first] + "' as JSON text does (a safetensors file begins with an 8-byte header length)";
    std::string shown(head);
    std::replace_if(shown.begin(), shown.end(), [](char c) { return c < 0x20; }, ' ');
    return "it begins with text (\"" + shown + "\"), not with the 8-byte header length of a safetensors file";
  }

  void parse(std::string_view file) {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(file.data());
    const std::size_t size = file.size();
    if (size < 8) throw error("truncated: shorter than the 8-byte header length");
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
    if (n > size - 8) {
      // A length past the end is what a file of another kind reads as (8 bytes of text are a
      // length of at least 2^61): say what the file looks like rather than quote the number.
      if (const auto kind = looks_like(file)) throw error("this is not an M1 safetensors file: " + *kind);
      throw error("truncated or corrupt: header length " + std::to_string(n) + " exceeds the file");
    }
    const auto header = nlohmann::json::parse(bytes + 8, bytes + 8 + n, nullptr, /*allow_exceptions=*/false);
    if (header.is_discarded() || !header.is_object()) throw error("corrupt: the header is not a JSON object");
    const std::uint8_t* base = bytes + 8 + n;
    const std::size_t data_size = size - 8 - n;
    std::vector<std::tuple<std::size_t, std::size_t, std::string>> ranges;  // [begin, end), name
    for (const auto& [name, entry] : header.items()) {
      if (name == "__metadata__") {
        if (!entry.is_object()) throw error("corrupt: __metadata__ is not an object");
        for (const auto& [k, v] : entry.items()) {
          if (!v.is_string()) throw error("corrupt: metadata '" + k + "' is not a string");
          metadata_[k] = v.get<std::string>();
        }
        continue;
      }
      if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
        throw error("corrupt: tensor '" + name + "' lacks dtype/shape/data_offsets");
      const auto& dt = entry["dtype"];
      const auto dtype = dt.is_string() ? parse_dtype(dt.get<std::string>()) : std::nullopt;
      if (!dtype) throw error("tensor '" + name + "' has an unsupported dtype");
      TensorView view{*dtype, {}, {}};
      std::size_t elements = 1;
      if (!entry["shape"].is_array()) throw error("corrupt: shape of '" + name + "'");
      for (const auto& d : entry["shape"]) {
        if (!d.is_number_unsigned() || d.get<std::uint64_t>() > (std::uint64_t{1} << 40)) throw error("corrupt: shape of '" + name + "'");
        view.shape.push_back(d.get<std::size_t>());
        elements *= view.shape.back();
        if (elements > (std::uint64_t{1} << 40)) throw error("corrupt: shape of '" + name + "'");
      }
      const auto& off = entry["data_offsets"];
      if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
        throw error("corrupt: data_offsets of '" + name + "'");
      const auto begin = off[0].get<std::uint64_t>(), end = off[1].get<std::uint64_t>();
      if (begin > end || end > data_size) throw error("truncated or corrupt: tensor '" + name + "' lies outside the file");
      if (end - begin != elements * dtype_size(*dtype))
        throw error("corrupt: tensor '" + name + "' has " + std::to_string(end - begin) + " bytes for its shape");
      ranges.emplace_back(begin, end, name);
      tensors_.emplace(name, std::move(view));
    }
    // Overlap is refused before anything is copied: tensors sharing bytes
    // could otherwise make the copies many times the file.
    std::sort(ranges.begin(), ranges.end());
    std::size_t covered = 0;
    for (const auto& [begin, end, name] : ranges) {
      if (begin < covered) throw error("corrupt: tensors overlap");
      covered = std::max(covered, end);
    }
    for (const auto& [begin, end, name] : ranges) tensors_[name].bytes = store(base + begin, end - begin);
  }

  std::string path_;
  std::vector<std::vector<std::uint64_t>> storage_;  // the tensors' bytes (store())
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace eqinfo
