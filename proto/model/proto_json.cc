#include "proto/model/proto_json.h"

#include "google/protobuf/util/json_util.h"

namespace triage {

std::string ProtoJson(const google::protobuf::Message& message, JsonNames names) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = names == JsonNames::kProto;
  options.always_print_primitive_fields = names == JsonNames::kProto;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

}  // namespace triage
