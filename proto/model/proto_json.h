// The project's one JSON rendering of a message: the proto3 JSON mapping,
// with the proto field names (snake_case) and every field, defaults
// included; or, for peers with their own JSON names (Alertmanager's
// startsAt, generatorURL), the json_name of each field and only the fields
// that are set. Thread-safe.
#pragma once

#include <string>

#include "google/protobuf/message.h"

namespace triage {

enum class JsonNames {
  kProto,     // snake_case proto names, defaults printed (triage's API).
  kJsonName,  // json_name / lowerCamel names, defaults left out (peers' APIs).
};

std::string ProtoJson(const google::protobuf::Message& message,
                      JsonNames names = JsonNames::kProto);

// kProto's printer for the types it covers (proto_json_fast.cc): whether
// `type` holds only what it prints; appends `message` to *out.
bool FastJsonSupports(const google::protobuf::Descriptor* type);
void FastJson(const google::protobuf::Message& message, std::string* out);
// protobuf's own printer, for comparison (tests).
std::string ConverterJson(const google::protobuf::Message& message, JsonNames names);

}  // namespace triage
