// Prints the Equal-Info tokens (b = 16, N = 16) of a fixed text under the
// bundled M1, and a hash of its tables.  Built twice — at -O0 without SIMD
// and at -O3 -march=native — by tests/CMakeLists.txt; the test compares the
// two outputs, the "-O0 vs -O3 -march=native" leg of the determinism matrix.
#include <cstdio>

#include <eqinfo/tokenizer.hpp>
#include <eqinfo/transformer_model.hpp>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: m1_token_probe MODEL.safetensors\n");
    return 2;
  }
  const eqinfo::TransformerModel<16> model(argv[1]);
  const std::string text = "Integer arithmetic makes neural compression reproducible: 같은 토큰, 同样的结果.";
  const eqinfo::EqualInfoTokenizer<eqinfo::TransformerModel<16>, 16, 16> tokenizer(model);
  for (auto t : tokenizer.encode(text)) std::printf("%u ", unsigned(t));
  std::printf("\ntables %016llx\nkernel %s\n",
              static_cast<unsigned long long>(model.context_tables_hash({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()})),
              eqinfo::m1::simd_kernel_name());
  return 0;
}
