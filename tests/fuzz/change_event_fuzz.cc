// libFuzzer: change events as JSON, every shape triaged takes: its own
// (POST /api/v1/changes), CloudEvents in each mode (/api/v1/cloudevents),
// AWS Health (/api/v1/aws-health) and GitHub (/api/v1/github), and a ce-*
// header value.
#include <cstdint>
#include <string_view>

#include "collectors/aws_health.h"
#include "collectors/change_event.h"
#include "collectors/cloudevents.h"
#include "collectors/github.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace triage::collectors;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const int64_t now = 1'767'225'600'000;
  const Limits limits;
  ChangeSources sources;
  sources.cloudevents.push_back(
      {.type = "com.example.", .prefix = true, .kind = "config", .service = "data.a.b"});
  (void)ParseChangeEvent(in, now, 1, limits);
  for (std::string_view type :
       {"application/cloudevents+json", "application/cloudevents-batch+json"}) {
    (void)ParseCloudEvents({.content_type = type, .body = in}, now, sources, limits);
  }
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"ce-specversion", "1.0"},
      {"ce-id", "1"},
      {"ce-source", "/s"},
      {"ce-type", "dev.cdevents.service.deployed.0.2.0"},
      {"ce-subject", std::string(in.substr(0, 64))}};
  (void)ParseCloudEvents({.content_type = "application/json", .headers = &headers, .body = in}, now,
                         sources, limits);
  (void)ParseAwsHealthEvent(in, sources, limits);
  for (std::string_view type : {"application/json", "application/x-www-form-urlencoded"}) {
    (void)ParseGithubWebhook(
        {.event = "deployment_status", .delivery = "d", .content_type = type, .body = in}, sources,
        limits);
  }
  (void)DecodeCeHeader(in);
  (void)ParseHttpDate(in);
  return 0;
}
