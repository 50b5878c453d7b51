#include "proto/model/proto_json.h"

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace triage {

std::string ProtoJson(const google::protobuf::Message& message, JsonNames names) {
  if (names == JsonNames::kProto && FastJsonSupports(message.GetDescriptor())) {
    std::string out;
    FastJson(message, &out);
    return out;
  }
  return ConverterJson(message, names);
}

std::string ConverterJson(const google::protobuf::Message& message, JsonNames names) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = names == JsonNames::kProto;
  options.always_print_primitive_fields = names == JsonNames::kProto;
  std::string out;
  auto printed = google::protobuf::util::MessageToJsonString(message, &out, options);
  if (printed.ok()) return out;
  // Only an Any of a type the pool lacks fails, and triage's messages hold
  // none; say so in JSON rather than print half an object.
  google::protobuf::Struct error;
  (*error.mutable_fields())["error"].set_string_value(
      "cannot print " + message.GetTypeName() + " as JSON: " + std::string(printed.message()));
  out.clear();
  if (!google::protobuf::util::MessageToJsonString(error, &out).ok()) return "{}";
  return out;
}

}  // namespace triage
