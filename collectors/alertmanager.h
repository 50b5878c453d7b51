// The Alertmanager webhook (version 4) as it arrives at POST /api/v1/alerts:
// parsed with the proto3 JSON mapping (Alertmanager's camelCase names, unknown
// fields ignored) and checked by the one validator. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "collectors/validate.h"
#include "triage/v1/alerts.pb.h"

namespace triage::collectors {

// InvalidArgument (with the input errors) for a body that is not a valid
// version-4 webhook.
absl::StatusOr<v1::AlertmanagerWebhook> ParseAlertmanagerWebhook(std::string_view body,
                                                                 const Limits& limits);

// The PromQL expression that fired an alert: the g0.expr parameter of
// Prometheus's generatorURL (/graph?g0.expr=...&g0.tab=1), decoded; empty
// when there is none.
std::string GeneratorExpr(std::string_view generator_url);

}  // namespace triage::collectors
