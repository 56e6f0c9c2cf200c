// StrCat / StrAppend that also take std::string_view. Debian's Abseil is built with its own
// absl::string_view (not an alias of std::string_view), so absl::StrCat refuses std::string_view
// arguments; these forward everything else to Abseil unchanged.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>

#include "absl/strings/str_cat.h"

namespace sales {
namespace strings_internal {

template <typename T>
decltype(auto) Forward(const T& v) {
  if constexpr (std::is_same_v<T, std::string_view>) {
    return absl::string_view(v.data(), v.size());
  } else {
    return (v);
  }
}

}  // namespace strings_internal

template <typename... A>
std::string StrCat(const A&... args) {
  return absl::StrCat(strings_internal::Forward(args)...);
}

template <typename... A>
void StrAppend(std::string* out, const A&... args) {
  absl::StrAppend(out, strings_internal::Forward(args)...);
}

// absl::string_view <-> std::string_view.
inline std::string_view ToStd(absl::string_view v) { return {v.data(), v.size()}; }

}  // namespace sales
