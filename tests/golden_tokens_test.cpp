// Golden tokens through the C++ factory: fixed documents -> the exact tokens
// committed in tests/golden/tokens.json (written by tests/golden/golden_tokens.py
// from the tokenizers as they were before the redesign of issue 10).  Every
// case is checked per document (encode), per document in one call
// (encode_each), and as one multi-document stream (encode_documents, the
// token file eqinfo-encode writes), and the stream must decode back to the
// documents.  A change of any token anywhere in the pipeline fails here.
#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "eqinfo/tokenizer_factory.hpp"

namespace {

using eqinfo::Token;

const std::string kGoldenDir = EQINFO_GOLDEN_DIR;
const std::string kModelsDir = EQINFO_MODELS_DIR;

std::vector<std::string> golden_documents() {
  std::ifstream in(kGoldenDir + "/documents.jsonl");
  REQUIRE(in);
  std::vector<std::string> docs;
  for (std::string line; std::getline(in, line);) docs.push_back(nlohmann::json::parse(line).at("text").get<std::string>());
  return docs;
}

std::vector<Token> parse_hex_tokens(const std::string& hex) {
  REQUIRE(hex.size() % 4 == 0);
  std::vector<Token> tokens;
  for (std::size_t i = 0; i < hex.size(); i += 4) tokens.push_back(static_cast<Token>(std::stoul(hex.substr(i, 4), nullptr, 16)));
  return tokens;
}

// The golden file names the model files it was made with ("models": kind -> path in the repo).
eqinfo::TokenizerSpec spec_of(const nlohmann::json& c, const nlohmann::json& models) {
  eqinfo::TokenizerSpec spec;
  const auto method = eqinfo::parse_method(c.at("method").get<std::string>());
  REQUIRE(method);
  spec.method = *method;
  spec.window_bits = c.at("window_bits").get<unsigned>();
  if (spec.window_bits == 0) spec.window_bits = 16;  // unused by the method; the factory's default
  spec.token_bits = c.at("token_bits").get<unsigned>();
  const std::string model = c.at("model").get<std::string>();
  if (model == "m1" || model == "static") spec.model = model + ":" + kModelsDir + "/../" + models.at(model).get<std::string>();
  if (const auto p = eqinfo::model_frequency_bits(spec.model)) spec.frequency_bits = *p;
  if (c.contains("frequency_bits")) spec.frequency_bits = c["frequency_bits"].get<unsigned>();
  return spec;
}

}  // namespace

TEST_CASE("Every method's tokens equal the committed golden tokens", "[golden]") {
  std::ifstream in(kGoldenDir + "/tokens.json");
  REQUIRE(in);
  const auto golden = nlohmann::json::parse(in);
  REQUIRE(golden.at("format") == "eqinfo-golden-tokens");
  const auto docs = golden_documents();
  const std::vector<std::string_view> views(docs.begin(), docs.end());
  std::size_t checked = 0;
  for (const auto& c : golden.at("cases")) {
    if (c.at("method") == "sentencepiece") continue;  // not a C++ method (Python checks it)
    const std::string id = c.at("id").get<std::string>();
    INFO("case " << id);
    const auto tokenizer = eqinfo::make_tokenizer(spec_of(c, golden.at("models")));
    const auto& want = c.at("per_document");
    REQUIRE(want.size() == docs.size());
    const auto each = tokenizer->encode_each(views);
    for (std::size_t d = 0; d < docs.size(); ++d) {
      INFO("document " << d);
      const auto expected = parse_hex_tokens(want[d].get<std::string>());
      CHECK(tokenizer->encode(docs[d]) == expected);
      CHECK(each[d] == expected);
    }
    const auto stream = parse_hex_tokens(c.at("stream").get<std::string>());
    CHECK(tokenizer->encode_documents(views) == stream);
    const auto back = tokenizer->decode(stream);
    CHECK(back.ok());
    CHECK(back.documents == docs);
    ++checked;
  }
  CHECK(checked >= 25);  // every C++ case of the file was seen
}
