// Where the bundled models are, for programs built against eqinfo.
//
//   const auto m1 = eqinfo::bundled_models::path("m1");          // .../models/m1-v2.safetensors
//   make_tokenizer({.method = Method::kEqualInfo, .model = "m1:" + m1.string()});
//
// The models folder holds bundled.json, which names the file of each role ("m1", "static",
// "sentencepiece"); it is the one table of the bundled models, read here, by the Python package
// (python/eqinfo/resources.py) and by the install rules. The folder is looked for, in order:
//   1. $EQINFO_MODELS_DIR, when set (a user's own copy; the Python console scripts set it to the
//      wheel's models);
//   2. the folders a caller adds (the command-line tools add <exe>/../share/eqinfo/models, so an
//      installed tool finds the models installed beside it wherever the prefix was moved);
//   3. EQINFO_MODELS_DIR as compiled in: the CMake target eqinfo::eqinfo defines it, as the
//      source tree's models/ in a build tree and as <prefix>/share/eqinfo/models once installed
//      (cmake/eqinfoConfig.cmake.in also sets the CMake variable EQINFO_MODELS_DIR).
// A folder counts only if it holds bundled.json, so a stale or unrelated directory is skipped,
// and a failure names every folder tried.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace eqinfo::bundled_models {

inline constexpr std::string_view kIndexFile = "bundled.json";

// The folders that may hold the bundled models, most specific first (see the file comment).
inline std::vector<std::filesystem::path> candidate_directories(std::span<const std::filesystem::path> extra = {}) {
  std::vector<std::filesystem::path> dirs;
  if (const char* env = std::getenv("EQINFO_MODELS_DIR"); env && *env) dirs.emplace_back(env);
  dirs.insert(dirs.end(), extra.begin(), extra.end());
#ifdef EQINFO_MODELS_DIR
  dirs.emplace_back(EQINFO_MODELS_DIR);
#endif
  return dirs;
}

// The first candidate folder holding bundled.json; std::runtime_error naming all of them if none.
inline std::filesystem::path directory(std::span<const std::filesystem::path> extra = {}) {
  std::string tried;
  for (const auto& dir : candidate_directories(extra)) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(dir / kIndexFile, ec)) return dir;
    tried += (tried.empty() ? "" : ", ") + dir.string();
  }
  throw std::runtime_error("cannot find the bundled models (a folder with " + std::string(kIndexFile) + "; looked in: " +
                           (tried.empty() ? std::string("nowhere") : tried) +
                           "): set EQINFO_MODELS_DIR or pass a model file explicitly");
}

// The file of a role ("m1", "static", "sentencepiece") in the bundled models.
inline std::filesystem::path path(std::string_view role, std::span<const std::filesystem::path> extra = {}) {
  const auto dir = directory(extra);
  const auto index_path = dir / kIndexFile;
  std::ifstream in(index_path);
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(index_path.string() + ": not valid JSON: " + e.what());
  }
  const auto it = index.find(std::string(role));
  if (it == index.end() || !it->is_string())
    throw std::runtime_error(index_path.string() + " names no bundled model for '" + std::string(role) + "'");
  return dir / it->get<std::string>();
}

}  // namespace eqinfo::bundled_models
