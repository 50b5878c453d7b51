// The project's one JSON rendering of a message: the proto3 JSON mapping with
// the proto field names (snake_case) and every field, defaults included.
// Thread-safe.
#pragma once

#include <string>

#include "google/protobuf/message.h"

namespace triage {

std::string ProtoJson(const google::protobuf::Message& message);

}  // namespace triage
