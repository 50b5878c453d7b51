// GitHub webhooks (POST /api/v1/github). deployment_status with state
// success becomes a code_deploy on the repository's service (the mapping's
// github.repositories by full_name, else the repository's name), with the
// sha as the version, the environment, the creator and the log URL. Other
// states and events (ping included) are taken and ignored. The change's id
// comes from the X-GitHub-Delivery id, so a redelivery is the same change.
// The body may be JSON or a form with a `payload` field, as GitHub sends
// either. Pure; thread-safe.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "collectors/change_event.h"
#include "collectors/change_sources.h"
#include "collectors/validate.h"

namespace triage::collectors {

// X-Hub-Signature-256 ("sha256=" and the hex HMAC-SHA256 of the body under
// the secret), compared in constant time.
bool GithubSignatureOk(std::string_view secret, std::string_view body, std::string_view header);

struct GithubDelivery {
  std::string_view event;         // X-GitHub-Event
  std::string_view delivery;      // X-GitHub-Delivery
  std::string_view content_type;  // As sent.
  std::string_view body;
};

absl::StatusOr<EventChanges> ParseGithubWebhook(const GithubDelivery& delivery,
                                                const ChangeSources& sources, const Limits& limits);

}  // namespace triage::collectors
