// A read-only, memory-mapped safetensors file with every structural property
// checked at open: a truncated, corrupt or inconsistent file gets a clear
// error naming the file and what is wrong, and nothing else.
//
// Format (https://github.com/huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON {name: {"dtype", "shape", "data_offsets":
// [begin, end]}, "__metadata__": {string: string}}, then the data; offsets are
// relative to the start of the data.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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
  explicit SafetensorsFile(const std::string& path) : path_(path) {
    static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");
    // A regular file only: a FIFO would block the open, /dev/zero has no end.
    const FileDescriptor fd = open_regular_file(path, "model '" + path + "'");
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw error("cannot stat");
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd.get(), 0);
      if (p == MAP_FAILED) throw error("cannot map");
      data_ = static_cast<const std::uint8_t*>(p);
    }
    try {
      parse();
    } catch (...) {
      unmap();
      throw;
    }
  }
  ~SafetensorsFile() { unmap(); }
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  SafetensorsFile(SafetensorsFile&& o) noexcept { *this = std::move(o); }
  SafetensorsFile& operator=(SafetensorsFile&& o) noexcept {
    if (this != &o) {
      unmap();
      path_ = std::move(o.path_);
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      tensors_ = std::move(o.tensors_);
      metadata_ = std::move(o.metadata_);
    }
    return *this;
  }

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
  void unmap() noexcept {
    if (data_) ::munmap(const_cast<std::uint8_t*>(data_), size_);
    data_ = nullptr;
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

  void parse() {
    if (size_ < 8) throw error("truncated: shorter than the 8-byte header length");
    std::uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | data_[i];
    if (n > size_ - 8) throw error("truncated or corrupt: header length " + std::to_string(n) + " exceeds the file");
    const auto header = nlohmann::json::parse(data_ + 8, data_ + 8 + n, nullptr, /*allow_exceptions=*/false);
    if (header.is_discarded() || !header.is_object()) throw error("corrupt: the header is not a JSON object");
    const std::uint8_t* base = data_ + 8 + n;
    const std::size_t data_size = size_ - 8 - n;
    std::vector<std::pair<std::size_t, std::size_t>> ranges;
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
      view.bytes = {base + begin, static_cast<std::size_t>(end - begin)};
      ranges.emplace_back(begin, end);
      tensors_.emplace(name, std::move(view));
    }
    std::sort(ranges.begin(), ranges.end());
    for (std::size_t i = 1; i < ranges.size(); ++i)
      if (ranges[i].first < ranges[i - 1].second) throw error("corrupt: tensors overlap");
  }

  std::string path_;
  const std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace eqinfo
