#include "common/unicode/unicode.h"

#include <unicode/bytestream.h>
#include <unicode/idna.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/ucnv.h>
#include <unicode/unistr.h>

#include <memory>

#include "absl/strings/ascii.h"
#include "common/base/strings.h"
#include "common/base/text.h"

namespace sales::unicode {
namespace {

icu::UnicodeString FromUtf8(std::string_view s) {
  return icu::UnicodeString::fromUTF8(icu::StringPiece(s.data(), static_cast<int32_t>(s.size())));
}

std::string ToUtf8(const icu::UnicodeString& s) {
  std::string out;
  s.toUTF8String(out);
  return out;
}

// UTS #46 with the checks registries apply (non-transitional, as browsers do since 2016).
const icu::IDNA& Idna() {
  static const icu::IDNA* idna = [] {
    UErrorCode ec = U_ZERO_ERROR;
    icu::IDNA* made = icu::IDNA::createUTS46Instance(UIDNA_USE_STD3_RULES | UIDNA_CHECK_BIDI | UIDNA_CHECK_CONTEXTJ |
                                                         UIDNA_NONTRANSITIONAL_TO_ASCII |
                                                         UIDNA_NONTRANSITIONAL_TO_UNICODE,
                                                     ec);
    return U_SUCCESS(ec) ? made : nullptr;
  }();
  return *idna;
}

bool IsAsciiAtext(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+/=?^_`{|}~-").find(c) != std::string_view::npos;
}

// RFC 6531 allows any non-ASCII UTF-8 in a local part; we keep out what cannot be seen or typed
// back: controls, format characters (bidirectional controls among them), separators, private use,
// unassigned code points.
bool IsVisibleNonAscii(char32_t c) {
  switch (u_charType(static_cast<UChar32>(c))) {
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_SPACE_SEPARATOR:
    case U_LINE_SEPARATOR:
    case U_PARAGRAPH_SEPARATOR:
    case U_PRIVATE_USE_CHAR:
    case U_SURROGATE:
    case U_UNASSIGNED:
      return false;
    default:
      return true;
  }
}

bool ValidLocalPart(std::string_view local) {
  if (local.empty() || local.size() > 64 || local.front() == '.' || local.back() == '.' ||
      local.find("..") != std::string_view::npos) {
    return false;
  }
  char32_t c;
  for (size_t i = 0; i < local.size();) {
    const size_t n = DecodeUtf8(local, i, &c);
    if (n == 0) return false;
    if (c < 0x80 ? !(c == '.' || IsAsciiAtext(static_cast<char>(c))) : !IsVisibleNonAscii(c)) return false;
    i += n;
  }
  return true;
}

// An ASCII host name with a top-level domain: labels of letters, digits and '-' (not at either
// end), 1-63 bytes; the last alphabetic (or an IDN "xn--" label) and at least 2 long.
bool ValidAsciiHost(std::string_view host) {
  if (host.size() < 4 || host.size() > 253 || host.find('.') == std::string_view::npos) return false;
  size_t start = 0;
  while (start <= host.size()) {
    size_t dot = host.find('.', start);
    if (dot == std::string_view::npos) dot = host.size();
    const std::string_view label = host.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    if (dot == host.size()) {
      if (label.size() < 2) return false;
      if (label.rfind("xn--", 0) != 0) {
        for (char c : label) {
          if (!absl::ascii_isalpha(static_cast<unsigned char>(c))) return false;
        }
      }
    }
    start = dot + 1;
  }
  return true;
}

// The domain in ASCII (punycode) form, or empty when it is not a valid domain name.
std::string DomainToAscii(std::string_view domain) {
  if (domain.empty() || !IsValidUtf8(domain)) return "";
  std::string out;
  icu::StringByteSink<std::string> sink(&out);
  icu::IDNAInfo info;
  UErrorCode ec = U_ZERO_ERROR;
  Idna().nameToASCII_UTF8(icu::StringPiece(domain.data(), static_cast<int32_t>(domain.size())), sink, info, ec);
  if (U_FAILURE(ec) || info.hasErrors()) return "";
  return out;
}

std::string Trimmed(std::string_view s) { return std::string(absl::StripAsciiWhitespace(absl::string_view(s.data(), s.size()))); }

// Line number (1-based) of the end of `decoded`: its line ends counted (LF, CRLF, lone CR).
int64_t LineAt(const icu::UnicodeString& decoded, int32_t length) {
  int64_t line = 1;
  for (int32_t i = 0; i < length; ++i) {
    const char16_t c = decoded.charAt(i);
    if (c == u'\n' || (c == u'\r' && (i + 1 >= length || decoded.charAt(i + 1) != u'\n'))) ++line;
  }
  return line;
}

std::string HexBytes(std::string_view bytes) {
  std::string out;
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char b : bytes) {
    if (!out.empty()) out.push_back(' ');
    StrAppend(&out, "0x", std::string(1, kHex[b >> 4]), std::string(1, kHex[b & 15]));
  }
  return out;
}

std::string NameKey(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c != '-' && c != '_' && c != ' ') out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace

std::string MatchKey(std::string_view text) {
  UErrorCode ec = U_ZERO_ERROR;
  const icu::Normalizer2* nfkd = icu::Normalizer2::getNFKDInstance(ec);
  if (U_FAILURE(ec)) return "";
  icu::UnicodeString decomposed = nfkd->normalize(FromUtf8(text), ec);
  if (U_FAILURE(ec)) return "";
  decomposed.foldCase(U_FOLD_CASE_DEFAULT);
  icu::UnicodeString key;
  for (int32_t i = 0; i < decomposed.length();) {
    const UChar32 c = decomposed.char32At(i);
    i += U16_LENGTH(c);
    if (c == 0xFFFD || u_charType(c) == U_NON_SPACING_MARK) continue;
    if (u_isalnum(c)) key.append(c);
  }
  return ToUtf8(key);
}

std::string SingleLine(std::string_view text) {
  // The length of a line break or tab starting at text[i], 0 if none.
  auto break_at = [&](size_t i) -> size_t {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\r' || c == '\n' || c == '\t' || c == '\v' || c == '\f') return 1;
    if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x85) return 2;
    if (c == 0xE2 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x80 &&
        (static_cast<unsigned char>(text[i + 2]) == 0xA8 || static_cast<unsigned char>(text[i + 2]) == 0xA9)) {
      return 3;
    }
    return 0;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t n = break_at(i);
    if (n == 0) {
      out.push_back(text[i++]);
      continue;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    while (i < text.size()) {
      if (text[i] == ' ') {
        ++i;
      } else if ((n = break_at(i)) != 0) {
        i += n;
      } else {
        break;
      }
    }
    out.push_back(' ');
  }
  return out;
}

int DisplayWidth(std::string_view text) {
  UErrorCode ec = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(ec);
  icu::UnicodeString s = FromUtf8(text);  // ill-formed bytes become U+FFFD: one column each
  if (U_SUCCESS(ec)) {
    icu::UnicodeString normalized = nfc->normalize(s, ec);
    if (U_SUCCESS(ec)) s = normalized;
  }
  int width = 0;
  for (int32_t i = 0; i < s.length();) {
    const UChar32 c = s.char32At(i);
    i += U16_LENGTH(c);
    const auto category = static_cast<UCharCategory>(u_charType(c));
    if (category == U_NON_SPACING_MARK || category == U_ENCLOSING_MARK || category == U_FORMAT_CHAR ||
        category == U_CONTROL_CHAR || (c >= 0x1160 && c <= 0x11FF)) {
      continue;
    }
    const auto east_asian = static_cast<UEastAsianWidth>(u_getIntPropertyValue(c, UCHAR_EAST_ASIAN_WIDTH));
    width += east_asian == U_EA_WIDE || east_asian == U_EA_FULLWIDTH ? 2 : 1;
  }
  return width;
}

bool IsValidEmail(std::string_view email) {
  const std::string e = Trimmed(email);
  if (e.size() > 320) return false;
  const size_t at = e.find('@');
  if (at == std::string::npos || e.find('@', at + 1) != std::string::npos) return false;
  if (!ValidLocalPart(std::string_view(e).substr(0, at))) return false;
  const std::string host = DomainToAscii(std::string_view(e).substr(at + 1));
  return !host.empty() && ValidAsciiHost(host) && at + 1 + host.size() <= 254;
}

std::string NormalizeEmail(std::string_view email) {
  const std::string e = Trimmed(email);
  if (!IsValidEmail(e)) return absl::AsciiStrToLower(e);
  const size_t at = e.find('@');
  UErrorCode ec = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(ec);
  if (U_FAILURE(ec)) return absl::AsciiStrToLower(e);
  icu::UnicodeString local = nfc->normalize(FromUtf8(std::string_view(e).substr(0, at)), ec);
  local.foldCase(U_FOLD_CASE_DEFAULT);
  local = nfc->normalize(local, ec);  // folding may leave a string that is not in NFC
  std::string domain;
  icu::StringByteSink<std::string> sink(&domain);
  icu::IDNAInfo info;
  const std::string_view d = std::string_view(e).substr(at + 1);
  Idna().nameToUnicodeUTF8(icu::StringPiece(d.data(), static_cast<int32_t>(d.size())), sink, info, ec);
  if (U_FAILURE(ec) || info.hasErrors()) return absl::AsciiStrToLower(e);
  return ToUtf8(local) + "@" + domain;
}

std::string DetectEncoding(std::string_view bytes) {
  if (bytes.substr(0, 3) == "\xEF\xBB\xBF") return "utf-8";
  if (bytes.substr(0, 2) == "\xFF\xFE") return "utf-16le";
  if (bytes.substr(0, 2) == "\xFE\xFF") return "utf-16be";
  if (IsValidUtf8(bytes)) return "utf-8";
  return "";
}

StatusOr<Decoded> Decode(std::string_view bytes, std::string_view encoding) {
  const std::string key = NameKey(encoding);
  if (key == "utf8") {
    if (bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
    char32_t c;
    for (size_t i = 0; i < bytes.size();) {
      const size_t n = DecodeUtf8(bytes, i, &c);
      if (n == 0) {
        const icu::UnicodeString before = FromUtf8(bytes.substr(0, i));
        return absl::InvalidArgumentError(StrCat("line ", LineAt(before, before.length()), ": byte ",
                                                 HexBytes(bytes.substr(i, 1)), " is not UTF-8"));
      }
      i += n;
    }
    return Decoded{std::string(bytes), "utf-8"};
  }
  std::string converter_name(encoding);
  std::string shown = absl::AsciiStrToLower(std::string(encoding));
  if (key == "utf16") {
    if (bytes.substr(0, 2) == "\xFF\xFE") {
      converter_name = "UTF-16LE", shown = "utf-16le";
    } else if (bytes.substr(0, 2) == "\xFE\xFF") {
      converter_name = "UTF-16BE", shown = "utf-16be";
    } else {
      return absl::InvalidArgumentError(
          "UTF-16 without a byte-order mark: say which byte order, utf-16le (what Windows writes) or utf-16be");
    }
  }
  if (key == "utf16" || key == "utf16le" || key == "utf16be") {
    if (bytes.substr(0, 2) == "\xFF\xFE" || bytes.substr(0, 2) == "\xFE\xFF") bytes.remove_prefix(2);
    if (bytes.size() % 2 != 0) {
      return absl::InvalidArgumentError(StrCat("an odd number of bytes (", bytes.size(), ") cannot be UTF-16"));
    }
  }
  UErrorCode ec = U_ZERO_ERROR;
  std::unique_ptr<UConverter, void (*)(UConverter*)> conv(ucnv_open(converter_name.c_str(), &ec), ucnv_close);
  if (U_FAILURE(ec) || ec == U_AMBIGUOUS_ALIAS_WARNING) {
    if (U_FAILURE(ec)) return absl::NotFoundError(StrCat("unknown encoding \"", encoding, "\""));
  }
  ec = U_ZERO_ERROR;
  ucnv_setToUCallBack(conv.get(), UCNV_TO_U_CALLBACK_STOP, nullptr, nullptr, nullptr, &ec);
  std::u16string buffer(bytes.size() + 16, u'\0');
  UChar* target = reinterpret_cast<UChar*>(buffer.data());
  UChar* const target_begin = target;
  const char* source = bytes.data();
  ucnv_toUnicode(conv.get(), &target, target_begin + buffer.size(), &source, bytes.data() + bytes.size(), nullptr,
                 true, &ec);
  const int32_t length = static_cast<int32_t>(target - target_begin);
  icu::UnicodeString decoded(target_begin, length);
  if (U_FAILURE(ec)) {
    char invalid[32];
    int8_t invalid_length = sizeof invalid;
    UErrorCode ec2 = U_ZERO_ERROR;
    ucnv_getInvalidChars(conv.get(), invalid, &invalid_length, &ec2);
    if (U_FAILURE(ec2)) invalid_length = 0;
    return absl::InvalidArgumentError(StrCat("line ", LineAt(decoded, length), ": ",
                                             invalid_length ? StrCat("bytes ", HexBytes(std::string_view(invalid, invalid_length)))
                                                            : std::string("the end of the file"),
                                             " cannot be read as ", shown));
  }
  if (decoded.length() > 0 && decoded.charAt(0) == 0xFEFF) decoded.remove(0, 1);
  return Decoded{ToUtf8(decoded), shown};
}

}  // namespace sales::unicode
