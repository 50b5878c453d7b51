// Other systems' change events (collectors/cloudevents.h, aws_health.h,
// github.h) and the mapping file (change_sources.h), from payloads taken
// from or written to the published examples (tests/events/README.md).
#include "collectors/change_sources.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "collectors/aws_health.h"
#include "collectors/cloudevents.h"
#include "collectors/github.h"
#include "gtest/gtest.h"
#include "proto/model/time.h"

namespace triage::collectors {
namespace {

std::string Event(const std::string& name) {
  std::ifstream in(std::string(TRIAGE_SOURCE_DIR) + "/tests/events/" + name);
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_FALSE(s.str().empty()) << name;
  return s.str();
}

// A CDEvent in a structured-mode CloudEvent, as the CDEvents binding says.
std::string Structured(const std::string& cdevent, const std::string& id, const std::string& type,
                       const std::string& subject) {
  return absl::StrCat(
      R"({"specversion":"1.0","id":")", id, R"(","source":"/event/source/123","type":")", type,
      R"(","subject":")", subject,
      R"(","time":"2023-03-20T14:27:05Z","datacontenttype":"application/json","data":)", cdevent,
      "}");
}

const int64_t kNow = 1'800'000'000'000;

absl::StatusOr<EventChanges> Cloud(std::string_view content_type, std::string_view body,
                                   const ChangeSources& sources = {},
                                   const std::vector<std::pair<std::string, std::string>>& h = {}) {
  return ParseCloudEvents({.content_type = content_type, .headers = &h, .body = body}, kNow,
                          sources, Limits{});
}

TEST(ChangeSourcesTest, ReadsEveryPart) {
  absl::StatusOr<ChangeSources> s = ParseChangeSources(R"(
cloudevents:
  - type: com.acme.flag.*
    kind: config
    service: data.flag.app
    version: data.flag.rev
services:
  mySubject123: reranker
aws_health:
  services: {BEDROCK: bedrock, ES: opensearch}
  unmapped: ignore
github:
  repositories: {Codertocat/Hello-World: hello}
  environments: [production]
)",
                                                       "sources.yml");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->cloudevents.size(), 1u);
  EXPECT_TRUE(s->Find("com.acme.flag.changed") != nullptr);
  EXPECT_EQ(s->Find("com.acme.other"), nullptr);
  EXPECT_EQ(s->cloudevents[0].line, 3);
  EXPECT_EQ(s->Rename("mySubject123"), "reranker");
  EXPECT_EQ(s->aws_services.at("ES"), "opensearch");
  EXPECT_TRUE(s->aws_ignore_unmapped);
  EXPECT_EQ(s->github_repositories.at("Codertocat/Hello-World"), "hello");
}

TEST(ChangeSourcesTest, RefusesAnUnknownKindWithItsLine) {
  absl::StatusOr<ChangeSources> s =
      ParseChangeSources("cloudevents:\n  - type: com.acme.x\n    kind: deploy\n", "sources.yml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("sources.yml:3: unknown change kind \"deploy\""),
            std::string::npos)
      << s.status();
}

TEST(ChangeSourcesTest, RefusesUnknownFieldsBadPathsAndBadYaml) {
  for (const auto& [yaml, want] : std::vector<std::pair<std::string, std::string>>{
           {"github:\n  repos: {a: b}\n", "sources.yml:2: field repos not found in github"},
           {"cloudevents:\n  - type: t\n    kind: config\n    service: Data.x\n",
            "sources.yml:4: service: \"Data.x\" is not a field path"},
           {"aws_health:\n  services: {ES: \"open search\"}\n", "sources.yml:2:"},
           {"cloudevents: [\n", "sources.yml:2:"},
       }) {
    absl::StatusOr<ChangeSources> s = ParseChangeSources(yaml, "sources.yml");
    ASSERT_FALSE(s.ok()) << yaml;
    EXPECT_NE(s.status().message().find(want), std::string::npos) << s.status();
  }
}

TEST(CloudEventsTest, CdeventDeployedInStructuredMode) {
  std::string body = Structured(Event("cdevents-service-deployed-0.4.1.json"),
                                "271069a8-fc18-44f1-b38f-9d70a1695819",
                                "dev.cdevents.service.deployed.0.2.0", "mySubject123");
  absl::StatusOr<EventChanges> r = Cloud("application/cloudevents+json; charset=UTF-8", body);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->changes.size(), 1u);
  const v1::Change& c = r->changes[0].change;
  EXPECT_EQ(c.kind(), "code_deploy");
  EXPECT_EQ(c.service(), "mySubject123");
  EXPECT_EQ(
      c.version(),
      "pkg:oci/myapp@sha256%3A0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427");
  EXPECT_EQ(c.origin(), "cdevents");
  EXPECT_EQ(FormatRfc3339(ToMs(c.time())), "2023-03-20T14:27:05.315Z");
  EXPECT_NE(c.summary().find("in test123"), std::string::npos) << c.summary();
  EXPECT_TRUE(c.id().starts_with("ce-")) << c.id();

  // The mapping's rename, and the same event twice is the same change.
  ChangeSources sources;
  sources.services["mySubject123"] = "reranker";
  absl::StatusOr<EventChanges> again = Cloud("application/cloudevents+json", body, sources);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->changes[0].change.service(), "reranker");
  EXPECT_EQ(again->changes[0].change.id(), c.id());
}

TEST(CloudEventsTest, BatchCarriesARollbackOfV05) {
  std::string body =
      absl::StrCat("[",
                   Structured(Event("cdevents-service-deployed-0.4.1.json"), "a-1",
                              "dev.cdevents.service.deployed.0.2.0", "mySubject123"),
                   ",",
                   Structured(Event("cdevents-service-rolledback-0.5.1.json"), "a-2",
                              "dev.cdevents.service.rolledback.0.3.0", "/apps/prod/reranker"),
                   ",",
                   Structured(R"({"context":{},"subject":{"id":"x"}})", "a-3",
                              "dev.cdevents.pipelinerun.finished.0.2.0", "x"),
                   "]");
  absl::StatusOr<EventChanges> r = Cloud("application/cloudevents-batch+json", body);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->changes.size(), 2u);
  const v1::Change& back = r->changes[1].change;
  EXPECT_EQ(back.service(), "reranker");  // The last path segment of subject.id.
  EXPECT_TRUE(back.summary().starts_with("rollback: rolled back to pkg:oci/reranker@"))
      << back.summary();
  EXPECT_NE(r->changes[0].change.id(), back.id());
  ASSERT_EQ(r->ignored.size(), 1u);
  EXPECT_NE(r->ignored[0].find("events[2]"), std::string::npos) << r->ignored[0];
}

TEST(CloudEventsTest, ABatchOverTheLimitIsRefusedByName) {
  std::string body = "[";
  for (int i = 0; i < 3; ++i) {
    absl::StrAppend(&body, i ? "," : "", R"({"specversion":"1.0","source":"/s","type":"t","id":")",
                    i, "\"}");
  }
  body += "]";
  const std::vector<std::pair<std::string, std::string>> none;
  Limits limits;
  limits.max_change_events = 2;
  absl::StatusOr<EventChanges> r = ParseCloudEvents(
      {.content_type = "application/cloudevents-batch+json", .headers = &none, .body = body}, kNow,
      {}, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("body: 3 events, more than the limit of 2"),
            std::string::npos)
      << r.status();
  limits.max_change_events = 3;
  EXPECT_TRUE(
      ParseCloudEvents(
          {.content_type = "application/cloudevents-batch+json", .headers = &none, .body = body},
          kNow, {}, limits)
          .ok());
}

TEST(CloudEventsTest, BinaryModeIsTheSameEventAsStructured) {
  std::string cdevent = Event("cdevents-service-deployed-0.4.1.json");
  std::vector<std::pair<std::string, std::string>> headers = {
      {"ce-specversion", "1.0"},
      {"ce-type", "dev.cdevents.service.deployed.0.2.0"},
      {"ce-source", "%2Fevent%2Fsource%2F123"},  // Unnecessary encoding is accepted.
      {"ce-id", "271069a8-fc18-44f1-b38f-9d70a1695819"},
      {"ce-subject", "mySubject123"},
      {"ce-time", "2023-03-20T14:27:05Z"},
      {"content-type", "application/json; charset=utf-8"}};
  absl::StatusOr<EventChanges> binary =
      Cloud("application/json; charset=utf-8", cdevent, {}, headers);
  ASSERT_TRUE(binary.ok()) << binary.status();
  absl::StatusOr<EventChanges> structured =
      Cloud("application/cloudevents+json",
            Structured(cdevent, "271069a8-fc18-44f1-b38f-9d70a1695819",
                       "dev.cdevents.service.deployed.0.2.0", "mySubject123"));
  ASSERT_TRUE(structured.ok());
  EXPECT_EQ(binary->changes[0].change.DebugString(), structured->changes[0].change.DebugString());

  // Errors name the header.
  headers.erase(headers.begin() + 3);  // ce-id
  absl::StatusOr<EventChanges> bad = Cloud("application/json", cdevent, {}, headers);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("ce-id: required"), std::string::npos) << bad.status();
}

TEST(CloudEventsTest, MappedTypesAndTheirErrors) {
  std::string example = Event("cloudevents-structured-example.json");
  absl::StatusOr<EventChanges> unmapped = Cloud("application/cloudevents+json", example);
  ASSERT_TRUE(unmapped.ok()) << unmapped.status();
  EXPECT_TRUE(unmapped->changes.empty());
  ASSERT_EQ(unmapped->ignored.size(), 1u);
  EXPECT_NE(unmapped->ignored[0].find("com.example.someevent has no mapping"), std::string::npos);

  absl::StatusOr<ChangeSources> sources = ParseChangeSources(R"(
cloudevents:
  - type: com.example.*
    kind: feature_schema
    service: data.appinfoA
    version: data.appinfoB
    actor: comexampleextension1
)",
                                                             "s.yml");
  ASSERT_TRUE(sources.ok()) << sources.status();
  absl::StatusOr<EventChanges> mapped = Cloud("application/cloudevents+json", example, *sources);
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  ASSERT_EQ(mapped->changes.size(), 1u);
  const v1::Change& c = mapped->changes[0].change;
  EXPECT_EQ(c.kind(), "feature_schema");
  EXPECT_EQ(c.service(), "abc");
  EXPECT_EQ(c.version(), "123");
  EXPECT_EQ(c.actor(), "value");
  EXPECT_EQ(c.summary(), "com.example.someevent");
  EXPECT_EQ(c.origin(), "cloudevents");
  EXPECT_EQ(FormatRfc3339(ToMs(c.time())), "2018-04-05T17:31:00Z");

  // A field the mapping needs and the event lacks, a bad time, a bad version.
  for (
      const auto& [body, want] : std::vector<std::pair<std::string, std::string>>{
          {R"({"specversion":"1.0","id":"1","source":"/s","type":"com.example.x","data":{}})",
           "event.data.appinfoA: required by the mapping"},
          {R"({"specversion":"1.0","id":"1","source":"/s","type":"com.example.x","time":"yesterday","data":{"appinfoA":"a"}})",
           "event.time: \"yesterday\" is not an RFC 3339 time"},
          {R"({"specversion":"0.3","id":"1","source":"/s","type":"com.example.x"})",
           "event.specversion: \"0.3\" is not 1.0"},
          {R"([{"specversion":"1.0","source":"/s","type":"t"}])",
           "event: an event must be a JSON object, got an array"},
      }) {
    absl::StatusOr<EventChanges> r = Cloud("application/cloudevents+json", body, *sources);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_NE(r.status().message().find(want), std::string::npos) << r.status();
  }
  absl::StatusOr<EventChanges> batch = Cloud(
      "application/cloudevents-batch+json",
      R"([{"specversion":"1.0","id":"1","source":"/s","type":"t"},{"specversion":"1.0","source":"/s","type":"t"}])");
  ASSERT_FALSE(batch.ok());
  EXPECT_NE(batch.status().message().find("events[1].id: required"), std::string::npos)
      << batch.status();
  // An event without a time arrives now, and says so.
  absl::StatusOr<EventChanges> untimed = Cloud(
      "application/cloudevents+json",
      R"({"specversion":"1.0","id":"9","source":"/s","type":"com.example.x","data":{"appinfoA":"svc"}})",
      *sources);
  ASSERT_TRUE(untimed.ok()) << untimed.status();
  EXPECT_FALSE(untimed->changes[0].timed);
  EXPECT_EQ(ToMs(untimed->changes[0].change.time()), kNow);
}

TEST(CloudEventsTest, HeaderValuesArePercentDecodedOnce) {
  EXPECT_EQ(*DecodeCeHeader("Euro%20%E2%82%AC%20%F0%9F%98%80"),
            "Euro \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(*DecodeCeHeader("a%2fb"), "a/b");  // Lower case is accepted.
  EXPECT_EQ(*DecodeCeHeader("%2541"), "%41");  // One round only.
  EXPECT_EQ(*DecodeCeHeader("\"quoted \\\"x\\\"\""), "quoted \"x\"");
  EXPECT_FALSE(DecodeCeHeader("%C0%A0").ok());  // Overlong UTF-8.
  EXPECT_FALSE(DecodeCeHeader("50%").ok());
  EXPECT_FALSE(DecodeCeHeader("%G1").ok());
}

TEST(AwsHealthTest, AnOperationalIssueAtItsStartTime) {
  absl::StatusOr<EventChanges> r =
      ParseAwsHealthEvent(Event("aws-health-ec2-operational-issue.json"), {}, Limits{});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->changes.size(), 1u);
  const v1::Change& c = r->changes[0].change;
  EXPECT_EQ(c.kind(), "managed_service");
  EXPECT_EQ(c.service(), "ec2");  // Unmapped codes are lower-cased.
  EXPECT_EQ(c.version(), "AWS_EC2_OPERATIONAL_ISSUE");
  EXPECT_EQ(c.origin(), "aws_health");
  EXPECT_EQ(FormatRfc3339(ToMs(c.time())), "2023-01-27T06:02:51Z");
  EXPECT_TRUE(
      c.summary().starts_with("[open] issue AWS_EC2_OPERATIONAL_ISSUE in af-south-1 "
                              "until 2023-01-27T09:01:22Z: Current severity level"))
      << c.summary();
  EXPECT_TRUE(c.url().starts_with("https://health.aws.amazon.com/")) << c.url();
}

TEST(AwsHealthTest, AScheduledChangeOnAMappedServiceAndStatusUpdates) {
  std::string body = Event("aws-health-bedrock-scheduled-change.json");
  ChangeSources sources;
  sources.aws_services["BEDROCK"] = "bedrock";
  absl::StatusOr<EventChanges> r = ParseAwsHealthEvent(body, sources, Limits{});
  ASSERT_TRUE(r.ok()) << r.status();
  const v1::Change& c = r->changes[0].change;
  EXPECT_EQ(c.service(), "bedrock");
  EXPECT_EQ(FormatRfc3339(ToMs(c.time())), "2026-12-01T16:00:00Z");
  EXPECT_NE(c.summary().find("[upcoming] scheduledChange"), std::string::npos) << c.summary();
  EXPECT_NE(c.summary().find("affects arn:aws:bedrock"), std::string::npos) << c.summary();

  // The same event with a new status is the same change, changed.
  std::string open = body;
  open.replace(open.find("\"upcoming\""), 10, "\"open\"");
  absl::StatusOr<EventChanges> later = ParseAwsHealthEvent(open, sources, Limits{});
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->changes[0].change.id(), c.id());
  EXPECT_NE(later->changes[0].change.summary(), c.summary());

  sources.aws_ignore_unmapped = true;
  sources.aws_services.clear();
  absl::StatusOr<EventChanges> ignored = ParseAwsHealthEvent(body, sources, Limits{});
  ASSERT_TRUE(ignored.ok());
  EXPECT_TRUE(ignored->changes.empty());
  EXPECT_EQ(ignored->ignored.size(), 1u);
}

TEST(AwsHealthTest, DatesAsAwsWritesThemAndBadEvents) {
  EXPECT_EQ(FormatRfc3339(*ParseHttpDate("Fri, 3 Jun 2022 05:01:10 GMT")), "2022-06-03T05:01:10Z");
  // 27 Jan 2026 is a Tuesday: AWS's samples name the wrong day.
  EXPECT_EQ(FormatRfc3339(*ParseHttpDate("Thu, 27 Jan 2026 13:44:13 GMT")), "2026-01-27T13:44:13Z");
  EXPECT_EQ(FormatRfc3339(*ParseHttpDate("27 Jan 2026 13:44:13 +0100")), "2026-01-27T12:44:13Z");
  EXPECT_EQ(FormatRfc3339(*ParseHttpDate("2026-01-27T13:44:13Z")), "2026-01-27T13:44:13Z");
  EXPECT_FALSE(ParseHttpDate("Fri, 31 Feb 2023 06:02:51 GMT").ok());
  EXPECT_FALSE(ParseHttpDate("Fri, 27 Jab 2023 06:02:51 GMT").ok());
  EXPECT_FALSE(ParseHttpDate("Fri, 27 Jan 2023 06:02:51 PST").ok());

  for (
      const auto& [body, want] : std::vector<std::pair<std::string, std::string>>{
          {R"({"source":"aws.ec2","detail-type":"AWS Health Event","detail":{}})",
           "source: \"aws.ec2\" is not aws.health"},
          {R"({"source":"aws.health","detail-type":"AWS Health Event","detail":{"service":"EC2"}})",
           "detail.eventArn: required"},
          {R"({"source":"aws.health","detail-type":"AWS Health Event","detail":{"eventArn":"a","service":"EC2","eventTypeCode":"X","startTime":"soon"}})",
           "detail.startTime: \"soon\" is not a date"},
          {"[]", "an event must be a JSON object"},
      }) {
    absl::StatusOr<EventChanges> r = ParseAwsHealthEvent(body, {}, Limits{});
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_NE(r.status().message().find(want), std::string::npos) << r.status();
  }
}

TEST(GithubTest, SignatureByGithubsOwnTestVector) {
  const std::string secret = "It's a Secret to Everybody";
  EXPECT_TRUE(
      GithubSignatureOk(secret, "Hello, World!",
                        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"));
  EXPECT_FALSE(
      GithubSignatureOk(secret, "Hello, World?",
                        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"));
  EXPECT_FALSE(
      GithubSignatureOk("another", "Hello, World!",
                        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"));
  EXPECT_FALSE(GithubSignatureOk(secret, "Hello, World!", ""));
  EXPECT_FALSE(GithubSignatureOk(secret, "Hello, World!", "sha1=757107ea"));
}

TEST(GithubTest, ASuccessfulDeploymentStatus) {
  std::string body = Event("github-deployment-status.json");
  absl::StatusOr<EventChanges> r =
      ParseGithubWebhook({.event = "deployment_status",
                          .delivery = "72d3162e-cc78-11e3-81ab-4c9367dc0958",
                          .content_type = "application/json",
                          .body = body},
                         {}, Limits{});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->changes.size(), 1u);
  const v1::Change& c = r->changes[0].change;
  EXPECT_EQ(c.kind(), "code_deploy");
  EXPECT_EQ(c.service(), "Hello-World");
  EXPECT_EQ(c.version(), "f95f852bd8fca8fcc58a9a2d6c842781e32a215e");
  EXPECT_EQ(c.actor(), "Codertocat");
  EXPECT_EQ(c.url(), "https://github.com/Codertocat/Hello-World/actions/runs/1");
  EXPECT_EQ(c.summary(), "deployed master @ f95f852 to production");
  EXPECT_EQ(c.origin(), "github");
  EXPECT_EQ(FormatRfc3339(ToMs(c.time())), "2019-05-15T15:20:55Z");

  // The mapping's service; the form encoding GitHub may use.
  ChangeSources sources;
  sources.github_repositories["Codertocat/Hello-World"] = "reranker";
  std::string form = "payload=";
  for (char ch : body) {
    form += std::isalnum(static_cast<unsigned char>(ch)) ? std::string(1, ch)
                                                         : absl::StrFormat("%%%02X", ch);
  }
  absl::StatusOr<EventChanges> mapped =
      ParseGithubWebhook({.event = "deployment_status",
                          .delivery = "d-2",
                          .content_type = "application/x-www-form-urlencoded",
                          .body = form},
                         sources, Limits{});
  ASSERT_TRUE(mapped.ok()) << mapped.status();
  EXPECT_EQ(mapped->changes[0].change.service(), "reranker");
}

TEST(GithubTest, OtherStatesAndEventsAreIgnored) {
  std::string body = Event("github-deployment-status.json");
  std::string failed = body;
  failed.replace(failed.find("\"success\""), 9, "\"failure\"");
  for (const auto& [event, text] : std::vector<std::pair<std::string, std::string>>{
           {"deployment_status", failed},
           {"ping", R"({"zen":"Keep it logically awesome."})"},
           {"push", "{}"}}) {
    absl::StatusOr<EventChanges> r = ParseGithubWebhook(
        {.event = event, .delivery = "d", .content_type = "application/json", .body = text}, {},
        Limits{});
    ASSERT_TRUE(r.ok()) << event << ": " << r.status();
    EXPECT_TRUE(r->changes.empty());
    EXPECT_EQ(r->ignored.size(), 1u);
  }
  absl::StatusOr<EventChanges> bad =
      ParseGithubWebhook({.event = "deployment_status",
                          .delivery = "d",
                          .content_type = "application/json",
                          .body = R"({"deployment_status":{"state":"success"}})"},
                         {}, Limits{});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("deployment: required"), std::string::npos) << bad.status();
}

}  // namespace
}  // namespace triage::collectors
