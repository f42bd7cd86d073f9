// Round-trips a sentence through the installed headers; exit 0 on success.
#include <eqinfo/tokenizer.hpp>
#include <eqinfo/uniform_model.hpp>

#include <cstdio>
#include <string>

int main() {
  const std::string text = "Equal-Info windows, consumed from an installed package.";
  const eqinfo::EqualInfoTokenizer<eqinfo::UniformModel<14>, 16> tokenizer{eqinfo::UniformModel<14>{}};
  const auto tokens = tokenizer.encode(text);
  const auto back = tokenizer.decode(tokens);
  const bool ok = back.ok() && back.documents.size() == 1 && back.documents[0] == text;
  std::printf("%zu tokens, round trip %s\n", tokens.size(), ok ? "exact" : "FAILED");
  return ok ? 0 : 1;
}
