// The C++ methods by name: what a token file's header records and what the
// tools' --method takes.  The experiment's method names (bytes, ac-v65k,
// equalinfo-b16-v65k, ...) are rows of the Python registry over these
// (python/eqinfo/methods.py); a test checks that both agree.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace eqinfo {

enum class Method : std::uint8_t { kBytes = 1, kGzip = 2, kGzipRaw = 3, kAc = 4, kStaticAc = 5, kEqualInfo = 6 };

inline constexpr std::array<std::pair<Method, std::string_view>, 6> kMethodNames{{
    {Method::kBytes, "bytes"},
    {Method::kGzip, "gzip"},
    {Method::kGzipRaw, "gzip-raw"},
    {Method::kAc, "ac"},
    {Method::kStaticAc, "staticac"},
    {Method::kEqualInfo, "equalinfo"},
}};

inline std::optional<Method> parse_method(std::string_view name) {
  for (auto [m, n] : kMethodNames)
    if (n == name) return m;
  return std::nullopt;
}
inline std::string_view method_name(Method method) {
  for (auto [m, n] : kMethodNames)
    if (m == method) return n;
  return "unknown";
}

// Methods whose coder is driven by a model (--model applies to them).
inline constexpr bool uses_model(Method m) noexcept { return m == Method::kAc || m == Method::kStaticAc || m == Method::kEqualInfo; }

}  // namespace eqinfo
