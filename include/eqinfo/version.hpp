// The eqinfo version: the one place it is written. CMakeLists.txt reads it for project(), and
// pyproject.toml (through scikit-build-core's regex provider) for the Python package, so the
// library, the tools' --version and the wheel cannot disagree.
#pragma once

#include <string_view>

namespace eqinfo {
inline constexpr std::string_view kVersion = "0.1.0";
}  // namespace eqinfo
