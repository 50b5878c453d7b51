// The spec's names: services, metrics, features and sources are
// [A-Za-z0-9_.:-]{1,128}; label names are Prometheus's [a-zA-Z_][a-zA-Z0-9_]*;
// change kinds come from a closed list; every string is UTF-8. Thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace triage {

constexpr size_t kMaxNameLength = 128;

bool IsValidName(std::string_view name);

// Prometheus label names: [a-zA-Z_][a-zA-Z0-9_]* (any length; callers cap it).
bool IsValidLabelName(std::string_view name);

// Well-formed UTF-8: no overlong forms, surrogates or code points past U+10FFFF.
bool IsValidUtf8(std::string_view text);

// code_deploy, model_version, config, prompt_template, feature_schema,
// ui_deploy, managed_service, infra, campaign.
const std::vector<std::string>& ChangeKinds();
bool IsChangeKind(std::string_view kind);

// The overlay's standard windows, shortest first ("60m", "24h", "7d"), and
// the one shown when none is asked for.
const std::vector<std::string>& OverlayWindows();
constexpr char kDefaultOverlayWindow[] = "24h";

}  // namespace triage
