// A downstream program built against the installed package: round-trips a sentence through
// Equal-Info with the bundled M1, which it finds through the package (eqinfo/bundled_models.hpp:
// the installed share/eqinfo/models), whatever directory it runs from. Exit 0 on success.
#include <eqinfo/bundled_models.hpp>
#include <eqinfo/tokenizer_factory.hpp>

#include <cstdio>
#include <string>

int main() {
  const std::string text = "Equal-Info windows, consumed from an installed package.";
  const auto m1 = eqinfo::bundled_models::path("m1");
  const auto tokenizer = eqinfo::make_tokenizer({.method = eqinfo::Method::kEqualInfo, .model = "m1:" + m1.string()});
  const auto tokens = tokenizer->encode(text);
  const auto back = tokenizer->decode(tokens);
  const bool ok = back.ok() && back.documents.size() == 1 && back.documents[0] == text;
  std::printf("%s: %zu tokens, round trip %s\n", m1.string().c_str(), tokens.size(), ok ? "exact" : "FAILED");
  return ok ? 0 : 1;
}
