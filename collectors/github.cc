#include "collectors/github.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "collectors/json.h"
#include "proto/model/time.h"

namespace triage::collectors {

bool GithubSignatureOk(std::string_view secret, std::string_view body, std::string_view header) {
  constexpr std::string_view kPrefix = "sha256=";
  if (!header.starts_with(kPrefix) || header.size() != kPrefix.size() + 64) return false;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac,
           &mac_len) == nullptr) {
    return false;
  }
  std::string expected =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(mac), mac_len));
  std::string given = absl::AsciiStrToLower(Av(header.substr(kPrefix.size())));
  return CRYPTO_memcmp(expected.data(), given.data(), expected.size()) == 0;
}

namespace {

const JsonValue* At(const JsonValue& root, std::string_view path) {
  const JsonValue* v = &root;
  for (absl::string_view member : absl::StrSplit(Av(path), '.')) {
    if (v == nullptr || v->type != JsonValue::Type::kObject) return nullptr;
    v = v->Find(std::string_view(member.data(), member.size()));
  }
  return v;
}

std::string Text(const JsonValue& root, std::string_view path) {
  const JsonValue* v = At(root, path);
  if (v == nullptr) return "";
  if (v->type == JsonValue::Type::kString || v->type == JsonValue::Type::kNumber) return v->text;
  return "";
}

// The `payload` field of an application/x-www-form-urlencoded body.
absl::StatusOr<std::string> FormPayload(std::string_view body) {
  for (absl::string_view pair : absl::StrSplit(Av(body), '&')) {
    if (!absl::StartsWith(pair, "payload=")) continue;
    absl::string_view v = pair.substr(8);
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] == '+') {
        out.push_back(' ');
      } else if (v[i] == '%' && i + 2 < v.size() && absl::ascii_isxdigit(v[i + 1]) &&
                 absl::ascii_isxdigit(v[i + 2])) {
        out += absl::HexStringToBytes(v.substr(i + 1, 2));
        i += 2;
      } else if (v[i] == '%') {
        return InvalidField("payload", absl::StrFormat("bad percent-encoding at byte %d", i + 9));
      } else {
        out.push_back(v[i]);
      }
    }
    return out;
  }
  return InvalidField("payload", "a form body needs a payload field");
}

// The hook's JSON (a form body's payload field, else the body), with the
// three objects a deployment_status carries.
absl::StatusOr<JsonValue> HookJson(const GithubDelivery& delivery) {
  std::string form;
  std::string_view body = delivery.body;
  std::string type =
      absl::AsciiStrToLower(Av(delivery.content_type.substr(0, delivery.content_type.find(';'))));
  if (absl::StripAsciiWhitespace(type) == "application/x-www-form-urlencoded") {
    absl::StatusOr<std::string> payload = FormPayload(body);
    if (!payload.ok()) return payload.status();
    form = std::move(*payload);
    body = form;
  }
  absl::StatusOr<JsonValue> hook = ParseJson(body);
  if (!hook.ok()) return InvalidField("body", std::string(hook.status().message()));
  InputErrorList errors;
  Origin at;
  for (const char* object : {"deployment_status", "deployment", "repository"}) {
    const JsonValue* v = hook->Find(object);
    if (v == nullptr || v->type != JsonValue::Type::kObject) {
      errors.Add(at, object, "required (an object)");
    }
  }
  if (!errors.empty()) return errors.ToStatus();
  return hook;
}

}  // namespace

absl::StatusOr<EventChanges> ParseGithubWebhook(const GithubDelivery& delivery,
                                                const ChangeSources& sources,
                                                const Limits& limits) {
  EventChanges out;
  if (delivery.event == "ping") {
    out.ignored.push_back("ping: the webhook reaches triaged");
    return out;
  }
  if (delivery.event != "deployment_status") {
    out.ignored.push_back(absl::StrFormat("event %s is not deployment_status",
                                          delivery.event.empty() ? "(none)" : delivery.event));
    return out;
  }
  absl::StatusOr<JsonValue> hook = HookJson(delivery);
  if (!hook.ok()) return hook.status();
  InputErrorList errors;
  Origin at;
  const std::string state = Text(*hook, "deployment_status.state");
  if (state != "success") {
    out.ignored.push_back(absl::StrFormat("deployment_status state %s is not success",
                                          state.empty() ? "(none)" : state));
    return out;
  }
  std::string env = Text(*hook, "deployment_status.environment");
  if (env.empty()) env = Text(*hook, "deployment.environment");
  const auto& envs = sources.github_environments;
  if (!envs.empty() && std::find(envs.begin(), envs.end(), env) == envs.end()) {
    out.ignored.push_back(absl::StrFormat("environment %s is not in github.environments", env));
    return out;
  }
  const std::string repo = Text(*hook, "repository.full_name");
  const std::string sha = Text(*hook, "deployment.sha");
  if (repo.empty()) errors.Add(at, "repository.full_name", "required (a non-empty string)");
  if (sha.empty()) errors.Add(at, "deployment.sha", "required (a non-empty string)");
  std::string when = Text(*hook, "deployment_status.updated_at");
  if (when.empty()) when = Text(*hook, "deployment_status.created_at");
  absl::StatusOr<int64_t> t = ParseRfc3339(when);
  if (!t.ok()) {
    errors.Add(at, "deployment_status.updated_at",
               absl::StrFormat("\"%s\" is not an RFC 3339 time", when));
  }
  if (!errors.empty()) return errors.ToStatus();

  EventChange ec;
  v1::Change& c = ec.change;
  std::string key = delivery.delivery.empty()
                        ? absl::StrCat(repo, "\n", Text(*hook, "deployment_status.id"))
                        : std::string(delivery.delivery);
  c.set_id(EventChangeId("gh", key));
  *c.mutable_time() = FromMs(*t);
  c.set_kind("code_deploy");
  auto mapped = sources.github_repositories.find(repo);
  c.set_service(sources.Rename(mapped != sources.github_repositories.end()
                                   ? mapped->second
                                   : Text(*hook, "repository.name")));
  c.set_version(sha);
  std::string actor = Text(*hook, "deployment_status.creator.login");
  if (actor.empty()) actor = Text(*hook, "deployment.creator.login");
  c.set_actor(actor);
  c.set_source("github");
  c.set_origin("github");
  for (const char* link : {"deployment_status.log_url", "deployment_status.target_url",
                           "deployment_status.environment_url"}) {
    if (c.url().empty()) c.set_url(Text(*hook, link));
  }
  if (c.url().empty() && !Text(*hook, "repository.html_url").empty()) {
    c.set_url(absl::StrCat(Text(*hook, "repository.html_url"), "/commit/", sha));
  }
  std::string ref = Text(*hook, "deployment.ref");
  std::string summary = absl::StrFormat("deployed %s%s%s to %s", ref, ref.empty() ? "" : " @ ",
                                        sha.substr(0, 7), env.empty() ? "(no environment)" : env);
  if (std::string d = Text(*hook, "deployment_status.description"); !d.empty()) {
    absl::StrAppend(&summary, ": ", d);
  }
  c.set_summary(summary);
  return Keep(std::move(ec), at, limits, std::move(out));
}

}  // namespace triage::collectors
