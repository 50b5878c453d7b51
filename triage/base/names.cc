#include "triage/base/names.h"

#include <algorithm>

namespace triage {

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '-';
  });
}

const std::vector<std::string>& ChangeKinds() {
  static const std::vector<std::string> kKinds = {"code_deploy",     "model_version",  "config",
                                                  "prompt_template", "feature_schema", "ui_deploy",
                                                  "managed_service", "infra",          "campaign"};
  return kKinds;
}

bool IsChangeKind(std::string_view kind) {
  auto kinds = ChangeKinds();
  return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

}  // namespace triage
