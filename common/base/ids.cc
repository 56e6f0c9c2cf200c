#include "common/base/ids.h"

#include <uuid/uuid.h>

#include <string>

namespace sales {
namespace {

std::string Format(const uuid_t id) {
  char text[37];
  uuid_unparse_lower(id, text);
  return std::string(text, 36);
}

}  // namespace

std::string NewUuid() {
  uuid_t id;
  uuid_generate_random(id);
  return Format(id);
}

std::string NameUuid(std::string_view name_space, std::string_view name) {
  // The namespace string is itself mapped to a UUID under the RFC's URL namespace, so any
  // string can serve as a namespace.
  uuid_t url_ns;
  uuid_parse("6ba7b811-9dad-11d1-80b4-00c04fd430c8", url_ns);
  uuid_t ns;
  uuid_generate_sha1(ns, url_ns, name_space.data(), name_space.size());
  uuid_t id;
  uuid_generate_sha1(id, ns, name.data(), name.size());
  return Format(id);
}

bool IsUuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

}  // namespace sales
