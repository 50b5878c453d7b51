#include "collectors/alertmanager.h"

#include "google/protobuf/util/json_util.h"

namespace triage::collectors {

absl::StatusOr<v1::AlertmanagerWebhook> ParseAlertmanagerWebhook(std::string_view body,
                                                                 const Limits& limits) {
  v1::AlertmanagerWebhook hook;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(body.data(), body.size()), &hook, options);
  if (!parsed.ok()) {
    return InvalidField("body", "not an Alertmanager webhook: " + std::string(parsed.message()));
  }
  InputErrorList errors;
  Validate(hook, Origin{}, limits, &errors);
  if (!errors.empty()) return errors.ToStatus();
  return hook;
}

}  // namespace triage::collectors
