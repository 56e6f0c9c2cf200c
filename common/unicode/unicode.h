// Unicode text the platform takes from outside (CSV exports, requests, inbound records): matching
// keys, e-mail addresses, line breaks in one-line fields, and decoding legacy encodings. A thin
// layer over ICU (normalisation, case folding, IDNA, converters), so none of it is done by hand.
//
// Depends on base only. Every function is pure and thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/base/status.h"

namespace sales::unicode {

// A key for recognising the same word however it is written: compatibility-decomposed (NFKD),
// accents (combining marks) dropped, case folded, and only letters and digits kept. So
// "E-mail Address", "email_address" and "EMAIL ADDRESS" give "emailaddress", and "Επώνυμο",
// "ΕΠΩΝΥΜΟ" and "επωνυμο" give "επωνυμο". Bytes that are not UTF-8 are dropped.
std::string MatchKey(std::string_view text);

// One-line text: every line break (CR, LF, CRLF, NEL, U+2028, U+2029), tab, vertical tab and form
// feed, with the spaces around it, becomes one space. Nothing else changes (byte for byte).
std::string SingleLine(std::string_view text);

// The columns `text` takes on a terminal with a monospace font, after NFC: combining marks,
// format characters (zero-width joiner, soft hyphen), controls and Hangul medial vowels and final
// consonants take 0; East Asian wide and fullwidth characters (CJK, kana, Hangul syllables,
// fullwidth forms, emoji shown as pictures) take 2; everything else 1. So "Ελένη" is 5 whether its
// accent is precomposed or a combining mark, and "東京" is 4. A byte that is not UTF-8 counts 1.
int DisplayWidth(std::string_view text);

// E-mail addresses (RFC 5321 with RFC 6531's internationalised local parts, and internationalised
// domain names checked with UTS #46): a dot-atom local part of at most 64 bytes whose characters are
// the ASCII atext or any other visible character (letters of any script, `ελένη`, `josé`), an '@',
// and a domain that converts to an ASCII host name with a top-level domain. ASCII white space
// around it is ignored.
bool IsValidEmail(std::string_view email);

// The form two addresses of one person share: trimmed, the local part in NFC and case folded, the
// domain in its Unicode form (UTS #46: lower case, NFC; "xn--" labels decoded). So
// "  JOSÉ@EXAMPLE.COM " and "josé@example.com" are equal, and ASCII addresses are simply lower
// case. An invalid address is only trimmed and lower-cased (ASCII).
std::string NormalizeEmail(std::string_view email);

// Text decoded from a legacy encoding into UTF-8.
struct Decoded {
  std::string text;      // UTF-8, without a byte-order mark
  std::string encoding;  // what it was read as: "utf-8", "utf-16le", "windows-1253", ...
};

// Decodes `bytes` from `encoding` (any name ICU's converters know, e.g. "utf-8", "utf-16",
// "utf-16le", "windows-1253", "iso-8859-7"; case and '-'/'_' ignored). A byte-order mark is
// removed; "utf-16" requires one. INVALID_ARGUMENT naming the line (1-based, counted in the
// decoded text) and the offending bytes when something cannot be decoded: nothing is guessed or
// replaced. NOT_FOUND when ICU has no converter of that name.
StatusOr<Decoded> Decode(std::string_view bytes, std::string_view encoding);

// The encoding of `bytes` where it can be told safely: a UTF-8 or UTF-16 byte-order mark, else
// UTF-8 when the bytes are well-formed UTF-8. Empty otherwise (8-bit code pages cannot be told
// apart safely: the same byte is a Greek letter in one and a French one in another).
std::string DetectEncoding(std::string_view bytes);

}  // namespace sales::unicode
