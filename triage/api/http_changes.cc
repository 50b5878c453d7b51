// The change-event endpoints: triage's own JSON (/api/v1/changes) and other
// systems' events (/api/v1/cloudevents, /api/v1/aws-health, /api/v1/github).
#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "collectors/aws_health.h"
#include "collectors/cloudevents.h"
#include "collectors/github.h"
#include "proto/model/proto_json.h"
#include "triage/api/errors.h"
#include "triage/api/http.h"

namespace triage::api {

namespace {

net::HttpResponse Answer(core::Core& core, std::string_view origin,
                    absl::StatusOr<collectors::EventChanges> events) {
  if (!events.ok()) return ErrorResponse(core.Refused(events.status()));
  absl::StatusOr<v1::IngestResponse> r = core.AddEventChanges(origin, std::move(*events));
  if (!r.ok()) return ErrorResponse(r.status(), /*insufficient_storage_507=*/true);
  return net::HttpResponse{200, "application/json", ProtoJson(*r), {}, false};
}

}  // namespace

net::HttpResponse TriageHttp::Change(const net::HttpRequest& request, net::BodyReader&) {
  absl::StatusOr<v1::IngestResponse> r = core_.AddChange(request.body);
  if (!r.ok()) return ErrorResponse(r.status(), /*insufficient_storage_507=*/true);
  return net::HttpResponse{200, "application/json", ProtoJson(*r), {}, false};
}

net::HttpResponse TriageHttp::CloudEvents(const net::HttpRequest& request, net::BodyReader&) {
  std::string_view type = request.Header("content-type");
  std::string media = absl::AsciiStrToLower(std::string(type.substr(0, type.find(';'))));
  media = std::string(absl::StripAsciiWhitespace(media));
  const bool structured = media.starts_with("application/cloudevents");
  if (structured && !media.ends_with("+json")) {
    return ErrorResponse(absl::StatusCode::kInvalidArgument,
                         absl::StrFormat("event format %s is not supported (JSON only)", media),
                         415);
  }
  // Binary mode is known by its headers (a browser cannot send them unasked).
  if (!structured && !request.HasHeader("ce-specversion")) {
    return ErrorResponse(
        absl::StatusCode::kInvalidArgument,
        "Content-Type must be application/cloudevents+json or "
        "application/cloudevents-batch+json, or the event in binary mode (ce-* headers)",
        415);
  }
  const int64_t now = core_.NowMs();
  return Answer(core_, "cloudevents",
                collectors::ParseCloudEvents(
                    {.content_type = type, .headers = &request.headers, .body = request.body}, now,
                    core_.options().change_sources, core_.options().limits));
}

net::HttpResponse TriageHttp::AwsHealth(const net::HttpRequest& request, net::BodyReader&) {
  return Answer(core_, "aws_health",
                collectors::ParseAwsHealthEvent(request.body, core_.options().change_sources,
                                                core_.options().limits));
}

net::HttpResponse TriageHttp::Github(const net::HttpRequest& request, net::BodyReader&) {
  if (options_.github_secret.empty()) {
    return ErrorResponse(absl::StatusCode::kPermissionDenied,
                         "GitHub webhooks are off: start triaged with --github-secret-file");
  }
  if (!collectors::GithubSignatureOk(options_.github_secret, request.body,
                                     request.Header("x-hub-signature-256"))) {
    metrics_.auth_failures.Add({{"reason", "github_signature"}}).Increment();
    return ErrorResponse(absl::StatusCode::kUnauthenticated,
                         request.HasHeader("x-hub-signature-256")
                             ? "X-Hub-Signature-256 does not match the body and the secret"
                             : "X-Hub-Signature-256 is missing (set the webhook's secret)");
  }
  return Answer(
      core_, "github",
      collectors::ParseGithubWebhook({.event = request.Header("x-github-event"),
                                      .delivery = request.Header("x-github-delivery"),
                                      .content_type = request.Header("content-type"),
                                      .body = request.body},
                                     core_.options().change_sources, core_.options().limits));
}

}  // namespace triage::api
