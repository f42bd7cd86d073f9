// Prints the model's fingerprint, the Equal-Info tokens (b = 16, N = 16) of
// a fixed text under it, a hash of its tables, and whether the tokens decode
// back to the text; the kernel in use goes to stderr.  Built twice — at -O0
// without SIMD and at -O3 -march=native — by tests/CMakeLists.txt, whose
// m1_build_determinism_test compares each build's output with the committed
// tests/golden/m1_token_probe.txt: the "-O0 vs -O3 -march=native" leg of the
// determinism matrix, anchored so that a change in both builds is caught too.
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
  const auto tokens = tokenizer.encode(text);
  // The model's fingerprint first: when it differs from the golden file's,
  // the model was replaced and the file needs regenerating (tests/golden/README.md).
  std::printf("model %016llx\ntokens", static_cast<unsigned long long>(model.fingerprint()));
  for (auto t : tokens) std::printf(" %u", unsigned(t));
  const auto back = tokenizer.decode(tokens);
  std::printf("\ntables %016llx\ndecodes %s\n",
              static_cast<unsigned long long>(model.context_tables_hash({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()})),
              back.ok() && back.documents.size() == 1 && back.documents[0] == text ? "to the text" : "WRONG");
  std::fprintf(stderr, "kernel %s\n", eqinfo::m1::simd_kernel_name());
  return 0;
}
