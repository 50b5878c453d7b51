// The spec's names: services, metrics, features and sources are
// [A-Za-z0-9_.:-]{1,128}; change kinds come from a closed list. Thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace triage {

constexpr size_t kMaxNameLength = 128;

bool IsValidName(std::string_view name);

// code_deploy, model_version, config, prompt_template, feature_schema,
// ui_deploy, managed_service, infra, campaign.
const std::vector<std::string>& ChangeKinds();
bool IsChangeKind(std::string_view kind);

}  // namespace triage
