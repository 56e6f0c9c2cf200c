// JSON into a protobuf message, safely. protobuf 3.21's JSON parser (Debian 12) aborts some
// malformed inputs with a failed CHECK, thrown as google::protobuf::FatalException, instead of
// answering an error: `\{"a":1,\b":2}` does, depending on where the allocator puts its buffers
// (found by the fuzz targets under ThreadSanitizer). Every parse of JSON from outside - an intake
// record, a token's claims, a dead letter shown to an operator - goes through here, so such an
// input is refused like any other malformed one instead of ending the process.
#pragma once

#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>

#include <string_view>

#include "common/base/status.h"

namespace sales {

// OK, or INVALID_ARGUMENT with the parser's message (which may quote the input).
Status ParseJsonMessage(std::string_view json, google::protobuf::Message* out,
                        const google::protobuf::util::JsonParseOptions& options = {});

}  // namespace sales
