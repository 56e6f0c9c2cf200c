// Untrusted text (requests, inbound records, headers) meets logs, Kafka headers and events here:
// UTF-8 decoding, and one escaping for showing such text where raw bytes do not belong.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sales {

// Decodes the code point starting at s[i] into *cp and returns its length in bytes (1-4), or 0
// when s[i] does not start a well-formed UTF-8 sequence (overlong forms, surrogates and values
// above U+10FFFF are not well-formed). Requires i < s.size().
size_t DecodeUtf8(std::string_view s, size_t i, char32_t* cp);

bool IsValidUtf8(std::string_view s);

// The longest prefix of `s` of at most `max_bytes` bytes that does not end inside a UTF-8
// sequence (so valid UTF-8 stays valid when cut).
std::string_view Utf8Prefix(std::string_view s, size_t max_bytes);

// The text made safe to show in one line of a log or a header: valid UTF-8 is kept as it is;
// control characters become \n, \r, \t or \xNN, and every byte that is not part of well-formed
// UTF-8 becomes \xNN. The result is valid UTF-8 without control characters.
std::string EscapeForDisplay(std::string_view s);

}  // namespace sales
