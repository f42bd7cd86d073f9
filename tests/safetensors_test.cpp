// Tests for include/eqinfo/safetensors.hpp: a hand-built file read back
// tensor by tensor (dtype, shape, bytes, values, metadata), the typed lookup
// and its errors, moves, and every structural defect the reader refuses,
// each with the message that names the file and what is wrong; every
// truncation of a valid file is refused. The file is read once: unaligned
// headers and tensors read back aligned, a file changed after the open
// changes nothing, and a file over the size limit is refused. from_bytes
// (the same file from memory) reads and refuses exactly as the file does.
#include "eqinfo/safetensors.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_support.hpp"

using eqinfo::SafetensorsFile;
using eqinfo::TensorDType;
using eqinfo_test::TempFile;

namespace {

// The 8-byte little-endian header length, the header, then the data.
std::string safetensors_bytes(const std::string& header, const std::string& data) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>(static_cast<std::uint64_t>(header.size()) >> (8 * i));
  return s + header + data;
}

// Little-endian bytes of a value, as the format stores it.
template <class T>
std::string le(T v) {
  std::string s(sizeof(T), '\0');
  std::memcpy(s.data(), &v, sizeof(T));  // the reader asserts a little-endian host
  return s;
}

// A file of every dtype.  The header is 8-byte padded with spaces (as the
// reference writer does), so every tensor is aligned for its type.
const std::string kHeader =
    R"({"__metadata__":{"format":"pt","note":"golden"},)"
    R"("i8":{"dtype":"I8","shape":[2,2],"data_offsets":[0,4]},)"
    R"("u8":{"dtype":"U8","shape":[3],"data_offsets":[4,7]},)"
    R"("scalar":{"dtype":"I16","shape":[],"data_offsets":[8,10]},)"
    R"("i32":{"dtype":"I32","shape":[2],"data_offsets":[12,20]},)"
    R"("i64":{"dtype":"I64","shape":[1],"data_offsets":[24,32]},)"
    R"("f32":{"dtype":"F32","shape":[1,1],"data_offsets":[32,36]},)"
    R"("empty":{"dtype":"I32","shape":[4,0],"data_offsets":[36,36]}})";

std::string golden_data() {
  std::string d;
  d += std::string("\x01\xff\x7f\x80", 4) + "abc" + '\0';  // i8, u8, pad
  d += le<std::int16_t>(-2) + std::string(2, '\0');          // scalar, pad
  d += le<std::int32_t>(-123456789) + le<std::int32_t>(0x7fffffff) + std::string(4, '\0');
  d += le<std::int64_t>(-(std::int64_t{1} << 40));
  d += le<float>(0.5f);
  return d;
}

std::string padded(std::string header) {
  while (header.size() % 8 != 0) header += ' ';
  return header;
}

std::string golden_file_bytes() { return safetensors_bytes(padded(kHeader), golden_data()); }

std::string open_error(const std::string& bytes) {
  TempFile f(".safetensors");
  f.write(bytes);
  // The same bytes from memory (from_bytes, labelled with the path) get the
  // same verdict and the same message.
  std::string from_memory = "opened";
  try {
    (void)SafetensorsFile::from_bytes(bytes, f.path());
  } catch (const std::runtime_error& e) {
    from_memory = e.what();
  }
  try {
    SafetensorsFile file(f.path());
    CHECK(from_memory == "opened");
    return "opened";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    const std::string prefix = "model '" + f.path() + "': ";
    CHECK(what.rfind(prefix, 0) == 0);  // every message names the file
    CHECK(from_memory == what);
    return what.rfind(prefix, 0) == 0 ? what.substr(prefix.size()) : what;
  }
}

// A one-tensor file whose entry for "w" is `entry`, with `data` bytes.
std::string one_tensor(const std::string& entry, std::size_t data = 4) {
  return safetensors_bytes(R"({"w":)" + entry + "}", std::string(data, '\0'));
}

}  // namespace

TEST_CASE("A valid file reads back every tensor's dtype, shape, bytes and values, and its metadata", "[safetensors]") {
  TempFile f(".safetensors");
  f.write(golden_file_bytes());
  const SafetensorsFile file(f.path());
  CHECK(file.path() == f.path());
  CHECK(file.metadata() == std::map<std::string, std::string>{{"format", "pt"}, {"note", "golden"}});
  CHECK(file.tensors().size() == 7);
  CHECK(file.has("i8"));
  CHECK_FALSE(file.has("__metadata__"));
  CHECK_FALSE(file.has("missing"));

  const auto& i8 = file.tensor("i8", TensorDType::kI8, {2, 2});
  CHECK(i8.elements() == 4);
  CHECK(std::vector<std::int8_t>(i8.as<std::int8_t>().begin(), i8.as<std::int8_t>().end()) == std::vector<std::int8_t>{1, -1, 127, -128});
  const auto& u8 = file.tensor("u8", TensorDType::kU8, {3});
  CHECK(std::string(u8.bytes.begin(), u8.bytes.end()) == "abc");
  const auto& scalar = file.tensor("scalar", TensorDType::kI16, {});
  CHECK(scalar.elements() == 1);  // shape [] is one element
  CHECK(scalar.as<std::int16_t>()[0] == -2);
  const auto i32 = file.tensor("i32", TensorDType::kI32, {2}).as<std::int32_t>();
  REQUIRE(i32.size() == 2);
  CHECK(i32[0] == -123456789);
  CHECK(i32[1] == 0x7fffffff);
  CHECK(file.tensor("i64", TensorDType::kI64, {1}).as<std::int64_t>()[0] == -(std::int64_t{1} << 40));
  CHECK(file.tensor("f32", TensorDType::kF32, {1, 1}).as<float>()[0] == 0.5f);
  const auto& empty = file.tensor("empty", TensorDType::kI32, {4, 0});
  CHECK(empty.elements() == 0);
  CHECK(empty.bytes.empty());
}

TEST_CASE("from_bytes reads a file's bytes from memory as the file constructor reads the file", "[safetensors]") {
  const std::string bytes = golden_file_bytes();
  TempFile f(".safetensors");
  f.write(bytes);
  const SafetensorsFile from_file(f.path());
  const SafetensorsFile from_memory = SafetensorsFile::from_bytes(bytes, "in-memory model");
  CHECK(from_memory.path() == "in-memory model");
  CHECK(from_memory.metadata() == from_file.metadata());
  REQUIRE(from_memory.tensors().size() == from_file.tensors().size());
  for (const auto& [name, t] : from_file.tensors()) {
    INFO(name);
    const auto& m = from_memory.tensors().at(name);
    CHECK(m.dtype == t.dtype);
    CHECK(m.shape == t.shape);
    CHECK(std::vector<std::uint8_t>(m.bytes.begin(), m.bytes.end()) == std::vector<std::uint8_t>(t.bytes.begin(), t.bytes.end()));
  }
  // Errors name the label where the file constructor names the path.
  CHECK_THROWS_WITH(SafetensorsFile::from_bytes(bytes.substr(0, 5), "in-memory model"),
                    "model 'in-memory model': truncated: shorter than the 8-byte header length");
  CHECK_THROWS_WITH(from_memory.tensor("nope", TensorDType::kI8, {1}), "model 'in-memory model': tensor 'nope' is missing");
}

TEST_CASE("dtype_size is the element size of every dtype", "[safetensors]") {
  CHECK(eqinfo::dtype_size(TensorDType::kI8) == 1);
  CHECK(eqinfo::dtype_size(TensorDType::kU8) == 1);
  CHECK(eqinfo::dtype_size(TensorDType::kI16) == 2);
  CHECK(eqinfo::dtype_size(TensorDType::kI32) == 4);
  CHECK(eqinfo::dtype_size(TensorDType::kF32) == 4);
  CHECK(eqinfo::dtype_size(TensorDType::kI64) == 8);
}

TEST_CASE("tensor() refuses a missing name, another dtype or another shape, saying which", "[safetensors]") {
  TempFile f(".safetensors");
  f.write(golden_file_bytes());
  const SafetensorsFile file(f.path());
  const std::string prefix = "model '" + f.path() + "': ";
  CHECK_THROWS_WITH(file.tensor("nope", TensorDType::kI8, {1}), prefix + "tensor 'nope' is missing");
  CHECK_THROWS_WITH(file.tensor("i32", TensorDType::kI64, {2}), prefix + "tensor 'i32' has the wrong dtype");
  CHECK_THROWS_WITH(file.tensor("i8", TensorDType::kI8, {4}), prefix + "tensor 'i8' has shape [2,2], expected [4]");
  CHECK_THROWS_WITH(file.tensor("scalar", TensorDType::kI16, {1}), prefix + "tensor 'scalar' has shape [], expected [1]");
}

TEST_CASE("A moved SafetensorsFile keeps its tensors readable after the source is gone", "[safetensors]") {
  TempFile f(".safetensors");
  f.write(golden_file_bytes());
  std::optional<SafetensorsFile> b;
  {
    SafetensorsFile a(f.path());
    b.emplace(std::move(a));
  }  // a's destructor must not free what b now holds
  CHECK(b->tensor("u8", TensorDType::kU8, {3}).bytes[2] == 'c');
  SafetensorsFile c(f.path());
  {
    SafetensorsFile d(f.path());
    c = std::move(d);  // c's old mapping is released, d's is kept
  }
  CHECK(c.tensor("i32", TensorDType::kI32, {2}).as<std::int32_t>()[1] == 0x7fffffff);
  CHECK(c.path() == f.path());
}

TEST_CASE("Any header length and any tensor offset read back aligned for the tensor's type", "[safetensors]") {
  // The format allows any header length and offsets: with a 5-byte-longer
  // header the data starts at an odd address, and "i32" below starts at
  // data offset 1. Read from a map, every int32 read was misaligned (UBSan).
  const std::string header = R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                             R"("i32":{"dtype":"I32","shape":[2],"data_offsets":[1,9]},)"
                             R"("i64":{"dtype":"I64","shape":[1],"data_offsets":[9,17]}})";
  for (const std::string pad : {"", " ", "  ", "   ", "     "}) {
    INFO("header length " << header.size() + pad.size());
    TempFile f(".safetensors");
    f.write(safetensors_bytes(header + pad, "z" + le<std::int32_t>(-7) + le<std::int32_t>(1 << 30) + le<std::int64_t>(-5)));
    const SafetensorsFile file(f.path());
    for (const auto& [name, view] : file.tensors())
      CHECK(reinterpret_cast<std::uintptr_t>(view.bytes.data()) % 8 == 0);
    const auto i32 = file.tensor("i32", TensorDType::kI32, {2}).as<std::int32_t>();
    CHECK(i32[0] == -7);
    CHECK(i32[1] == (1 << 30));
    CHECK(file.tensor("i64", TensorDType::kI64, {1}).as<std::int64_t>()[0] == -5);
  }
}

TEST_CASE("The file is read once: overwriting or truncating it after the open changes nothing", "[safetensors]") {
  // With a memory map, a `cp` over the model during a run gave SIGBUS
  // (truncated) or changed values that had been validated (overwritten).
  TempFile f(".safetensors");
  f.write(golden_file_bytes());
  const SafetensorsFile file(f.path());
  f.write(std::string(golden_file_bytes().size(), '\xff'));  // overwritten in place
  CHECK(file.tensor("i32", TensorDType::kI32, {2}).as<std::int32_t>()[0] == -123456789);
  f.write("");  // truncated to nothing
  CHECK(file.tensor("u8", TensorDType::kU8, {3}).bytes[2] == 'c');
  CHECK(file.metadata().at("note") == "golden");
}

TEST_CASE("A file over the size limit is refused by name before it is read to the end", "[safetensors]") {
  TempFile f(".safetensors");
  const std::string bytes = golden_file_bytes();
  f.write(bytes);
  CHECK_NOTHROW(SafetensorsFile(f.path(), bytes.size()));
  CHECK_THROWS_WITH(SafetensorsFile(f.path(), bytes.size() - 1),
                    "model '" + f.path() + "': is larger than the limit of " + std::to_string(bytes.size() - 1) + " bytes");
  CHECK(SafetensorsFile::kMaxFileBytes == std::size_t{1} << 30);
}

TEST_CASE("Structural defects are refused with the file's name and what is wrong", "[safetensors]") {
  struct Case {
    const char* what;
    std::string bytes, error;
  };
  std::string long_header(8, '\0');
  long_header[0] = static_cast<char>(200);  // 200 bytes of header promised, 2 present
  long_header += "{}";
  const Case cases[] = {
      {"empty file", "", "truncated: shorter than the 8-byte header length"},
      {"7 bytes", std::string(7, '\0'), "truncated: shorter than the 8-byte header length"},
      {"header past the end", long_header, "truncated or corrupt: header length 200 exceeds the file"},
      {"header length 2^64 - 1", std::string(8, '\xff'), "truncated or corrupt: header length 18446744073709551615 exceeds the file"},
      {"header not JSON", safetensors_bytes("{\"w\":", ""), "corrupt: the header is not a JSON object"},
      {"header an array", safetensors_bytes("[]", ""), "corrupt: the header is not a JSON object"},
      {"metadata not an object", safetensors_bytes(R"({"__metadata__":[]})", ""), "corrupt: __metadata__ is not an object"},
      {"metadata value not a string", safetensors_bytes(R"({"__metadata__":{"k":1}})", ""), "corrupt: metadata 'k' is not a string"},
      {"entry not an object", one_tensor("3"), "corrupt: tensor 'w' lacks dtype/shape/data_offsets"},
      {"no data_offsets", one_tensor(R"({"dtype":"I8","shape":[4]})"), "corrupt: tensor 'w' lacks dtype/shape/data_offsets"},
      {"no dtype", one_tensor(R"({"shape":[4],"data_offsets":[0,4]})"), "corrupt: tensor 'w' lacks dtype/shape/data_offsets"},
      {"unsupported dtype", one_tensor(R"({"dtype":"F16","shape":[2],"data_offsets":[0,4]})"), "tensor 'w' has an unsupported dtype"},
      {"dtype not a string", one_tensor(R"({"dtype":8,"shape":[4],"data_offsets":[0,4]})"), "tensor 'w' has an unsupported dtype"},
      {"shape not an array", one_tensor(R"({"dtype":"I8","shape":4,"data_offsets":[0,4]})"), "corrupt: shape of 'w'"},
      {"negative dimension", one_tensor(R"({"dtype":"I8","shape":[-4],"data_offsets":[0,4]})"), "corrupt: shape of 'w'"},
      {"fractional dimension", one_tensor(R"({"dtype":"I8","shape":[4.0],"data_offsets":[0,4]})"), "corrupt: shape of 'w'"},
      {"dimension over 2^40", one_tensor(R"({"dtype":"I8","shape":[1099511627777],"data_offsets":[0,4]})"), "corrupt: shape of 'w'"},
      {"element count over 2^40", one_tensor(R"({"dtype":"I8","shape":[1048576,1048577],"data_offsets":[0,4]})"),
       "corrupt: shape of 'w'"},
      {"one offset", one_tensor(R"({"dtype":"I8","shape":[4],"data_offsets":[4]})"), "corrupt: data_offsets of 'w'"},
      {"negative offset", one_tensor(R"({"dtype":"I8","shape":[4],"data_offsets":[-1,3]})"), "corrupt: data_offsets of 'w'"},
      {"offsets not an array", one_tensor(R"({"dtype":"I8","shape":[4],"data_offsets":"0,4"})"), "corrupt: data_offsets of 'w'"},
      {"begin after end", one_tensor(R"({"dtype":"I8","shape":[0],"data_offsets":[4,2]})"),
       "truncated or corrupt: tensor 'w' lies outside the file"},
      {"end past the data", one_tensor(R"({"dtype":"I8","shape":[5],"data_offsets":[0,5]})"),
       "truncated or corrupt: tensor 'w' lies outside the file"},
      {"bytes not matching the shape", one_tensor(R"({"dtype":"I32","shape":[2],"data_offsets":[0,4]})"),
       "corrupt: tensor 'w' has 4 bytes for its shape"},
      {"overlapping tensors",
       safetensors_bytes(R"({"a":{"dtype":"I16","shape":[1],"data_offsets":[0,2]},"b":{"dtype":"I8","shape":[2],"data_offsets":[1,3]}})",
                         std::string(4, '\0')),
       "corrupt: tensors overlap"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    CHECK(open_error(c.bytes) == c.error);
  }
  const std::string missing = std::filesystem::temp_directory_path() / "eqinfo_safetensors_test_no_such_file.safetensors";
  CHECK_THROWS_WITH(SafetensorsFile(missing), "model '" + missing + "': cannot open: No such file or directory");
  // Only a regular file: a FIFO's open waited forever for a writer, and
  // /dev/zero (size 0 to fstat) was called "truncated".
  eqinfo_test::TempFile fifo(".safetensors");
  REQUIRE(::mkfifo(fifo.path().c_str(), 0600) == 0);
  CHECK_THROWS_WITH(SafetensorsFile(fifo.path()), "model '" + fifo.path() + "': is a FIFO, not a regular file");
  CHECK_THROWS_WITH(SafetensorsFile("/dev/zero"), "model '/dev/zero': is a character device, not a regular file");
}

TEST_CASE("A file of another kind is named as not an M1 file, saying what it looks like", "[safetensors]") {
  // The order-0 model and other JSON: its first 8 bytes would be a header length of ~10^19.
  CHECK(open_error("{\n  \"counts\": [1, 2, 3]\n}\n") ==
        "this is not an M1 safetensors file: it begins with '{' as JSON text does (a safetensors file begins with an "
        "8-byte header length)");
  CHECK(open_error("  [1, 2, 3, 4, 5]") ==
        "this is not an M1 safetensors file: it begins with '[' as JSON text does (a safetensors file begins with an "
        "8-byte header length)");
  CHECK(open_error("hello world, a text file\n") ==
        "this is not an M1 safetensors file: it begins with text (\"hello wo\"), not with the 8-byte header length of a "
        "safetensors file");
  CHECK(open_error("line 1\tx\nmore") ==
        "this is not an M1 safetensors file: it begins with text (\"line 1 x\"), not with the 8-byte header length of a "
        "safetensors file");
  // A real file cut short keeps its own message: a header length's last byte is 0, never text,
  // even when its first byte is '{' (a header of 123 bytes).
  std::string cut(8, '\0');
  cut[0] = '{';
  CHECK(open_error(cut + "{}") == "truncated or corrupt: header length 123 exceeds the file");
}

TEST_CASE("Edge cases that are valid: no tensors, only metadata, adjacent and zero-size tensors", "[safetensors]") {
  CHECK(open_error(safetensors_bytes("{}", "")) == "opened");
  CHECK(open_error(safetensors_bytes(R"({"__metadata__":{}})", "trailing bytes are allowed")) == "opened");
  CHECK(open_error(safetensors_bytes(R"({"a":{"dtype":"I8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"I8","shape":[2],"data_offsets":[2,4]}})",
                                     "abcd")) == "opened");
  // Two zero-size tensors at the same offset occupy nothing, so they do not overlap.
  CHECK(open_error(safetensors_bytes(R"({"a":{"dtype":"I8","shape":[0],"data_offsets":[1,1]},"b":{"dtype":"I32","shape":[0],"data_offsets":[1,1]}})",
                                     "ab")) == "opened");
}

TEST_CASE("Every truncation of a valid file is refused", "[safetensors]") {
  // The last tensor ends at the end of the file, so any prefix cuts the
  // length, the header or a tensor; none may open or crash.
  const std::string bytes = golden_file_bytes();
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    INFO(n << " of " << bytes.size() << " bytes");
    CHECK_THAT(open_error(bytes.substr(0, n)), Catch::Matchers::Contains("truncated"));
  }
  CHECK(open_error(bytes) == "opened");
}
