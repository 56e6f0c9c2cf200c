#include "common/base/json.h"

#include <google/protobuf/stubs/common.h>

#include <exception>
#include <string>

#include "common/base/strings.h"

namespace sales {

Status ParseJsonMessage(std::string_view json, google::protobuf::Message* out,
                        const google::protobuf::util::JsonParseOptions& options) {
  try {
    const auto parsed =
        google::protobuf::util::JsonStringToMessage(google::protobuf::StringPiece(json.data(), json.size()), out, options);
    if (parsed.ok()) return absl::OkStatus();
    return absl::InvalidArgumentError(std::string(parsed.message().data(), parsed.message().size()));
  } catch (const google::protobuf::FatalException& e) {
    return absl::InvalidArgumentError(StrCat("the JSON parser gave up on it (", e.what(), ")"));
  }
}

}  // namespace sales
