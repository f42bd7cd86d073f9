// Tests for include/eqinfo/sha256.hpp: the FIPS 180-4 example digests, the
// padding edges (55, 56 and 64 bytes: one or two final blocks), and that any
// split of the input into calls gives the same digest.
#include "eqinfo/sha256.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <string>

using eqinfo::Sha256;
using eqinfo::sha256_hex;

TEST_CASE("SHA-256 gives the FIPS 180-4 example digests", "[sha256]") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string(1000000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("SHA-256 padding: 55, 56, 63 and 64 bytes (hashlib's digests)", "[sha256]") {
  // python3 -c "import hashlib; print(hashlib.sha256(b'a' * n).hexdigest())"
  CHECK(sha256_hex(std::string(55, 'a')) == "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  CHECK(sha256_hex(std::string(56, 'a')) == "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
  CHECK(sha256_hex(std::string(63, 'a')) == "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34");
  CHECK(sha256_hex(std::string(64, 'a')) == "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST_CASE("SHA-256 of data given in pieces equals that of the whole", "[sha256]") {
  std::mt19937_64 rng(11);
  std::string data(1000, '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  const std::string whole = sha256_hex(data);
  for (int trial = 0; trial < 50; ++trial) {
    Sha256 h;
    std::size_t at = 0;
    while (at < data.size()) {
      const std::size_t n = std::min<std::size_t>(data.size() - at, rng() % 130);
      h.text(std::string_view(data).substr(at, n));
      at += n;
    }
    CHECK(h.hex() == whole);
  }
}
