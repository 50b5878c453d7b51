#include "collectors/aws_health.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "collectors/json.h"
#include "proto/model/time.h"

namespace triage::collectors {

absl::StatusOr<int64_t> ParseHttpDate(std::string_view text) {
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrFormat("\"%s\" is not a date like \"Fri, 27 Jan 2023 06:02:51 GMT\"", text));
  };
  if (absl::StatusOr<int64_t> t = ParseRfc3339(text); t.ok()) return t;
  absl::string_view s = absl::StripAsciiWhitespace(Av(text));
  if (size_t comma = s.find(','); comma != absl::string_view::npos) s = s.substr(comma + 1);
  std::vector<absl::string_view> parts = absl::StrSplit(s, ' ', absl::SkipEmpty());
  if (parts.size() != 5) return bad();
  static constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                                 "jul", "aug", "sep", "oct", "nov", "dec"};
  int day = 0, year = 0, month = 0;
  if (!absl::SimpleAtoi(parts[0], &day) || !absl::SimpleAtoi(parts[2], &year)) return bad();
  for (int m = 0; m < 12; ++m) {
    if (absl::AsciiStrToLower(parts[1]) == kMonths[m]) month = m + 1;
  }
  std::vector<absl::string_view> hms = absl::StrSplit(parts[3], ':');
  int hour = 0, minute = 0, second = 0;
  if (month == 0 || hms.size() != 3 || !absl::SimpleAtoi(hms[0], &hour) ||
      !absl::SimpleAtoi(hms[1], &minute) || !absl::SimpleAtoi(hms[2], &second)) {
    return bad();
  }
  if (day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60 || year < 1970) return bad();
  int offset_minutes = 0;
  std::string zone = absl::AsciiStrToUpper(parts[4]);
  if (zone.size() == 5 && (zone[0] == '+' || zone[0] == '-')) {
    int hhmm = 0;
    if (!absl::SimpleAtoi(zone.substr(1), &hhmm)) return bad();
    offset_minutes = (hhmm / 100 * 60 + hhmm % 100) * (zone[0] == '-' ? -1 : 1);
  } else if (zone != "GMT" && zone != "UTC" && zone != "Z" && zone != "UT") {
    return bad();
  }
  absl::CivilSecond civil(year, month, day, hour, minute, second);
  if (civil.day() != day) return bad();  // 31 Feb
  absl::Time t = absl::FromCivil(civil, absl::UTCTimeZone()) - absl::Minutes(offset_minutes);
  return absl::ToUnixMillis(t);
}

namespace {

std::string Text(const JsonValue* v) {
  return v != nullptr && v->type == JsonValue::Type::kString ? v->text : "";
}

// The first line of the latest English description (or the first one).
std::string Description(const JsonValue* list) {
  if (list == nullptr || list->type != JsonValue::Type::kArray) return "";
  std::string best;
  for (const JsonValue& d : list->items) {
    std::string text = Text(d.Find("latestDescription"));
    if (best.empty() || Text(d.Find("language")).starts_with("en")) best = text;
  }
  for (absl::string_view line : absl::StrSplit(best, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty()) return std::string(line.substr(0, 300));
  }
  return "";
}

std::string Entities(const JsonValue* list) {
  if (list == nullptr || list->type != JsonValue::Type::kArray || list->items.empty()) return "";
  std::vector<std::string> names;
  for (const JsonValue& e : list->items) {
    std::string v = Text(e.Find("entityValue"));
    if (!v.empty() && names.size() < 5) names.push_back(v);
  }
  std::string out = absl::StrJoin(names, ", ");
  if (list->items.size() > names.size()) {
    absl::StrAppend(&out, " (+", list->items.size() - names.size(), " more)");
  }
  return out;
}

}  // namespace

absl::StatusOr<EventChanges> ParseAwsHealthEvent(std::string_view body,
                                                 const ChangeSources& sources,
                                                 const Limits& limits) {
  absl::StatusOr<JsonValue> event = ParseJson(body);
  if (!event.ok()) return InvalidField("body", std::string(event.status().message()));
  if (event->type != JsonValue::Type::kObject) {
    return InvalidField(
        "body", absl::StrFormat("an event must be a JSON object, got %s", event->TypeName()));
  }
  EventChanges out;
  InputErrorList errors;
  Origin at;
  const std::string source = Text(event->Find("source"));
  const std::string detail_type = Text(event->Find("detail-type"));
  if (source != "aws.health") {
    errors.Add(at, "source", absl::StrFormat("\"%s\" is not aws.health", source));
  }
  if (detail_type == "AWS Health Abuse Event") {
    out.ignored.push_back("an AWS Health Abuse Event is not a change");
  } else if (detail_type != "AWS Health Event") {
    errors.Add(at, "detail-type", absl::StrFormat("\"%s\" is not AWS Health Event", detail_type));
  }
  const JsonValue* detail = event->Find("detail");
  if (detail == nullptr || detail->type != JsonValue::Type::kObject) {
    errors.Add(at, "detail", "required (an object)");
  }
  if (!errors.empty()) return errors.ToStatus();
  if (!out.ignored.empty()) return out;
  auto required = [&](const char* name) {
    std::string v = Text(detail->Find(name));
    if (v.empty()) errors.Add(at, absl::StrCat("detail.", name), "required (a non-empty string)");
    return v;
  };
  const std::string arn = required("eventArn");
  const std::string service = required("service");
  const std::string code = required("eventTypeCode");
  const std::string start = required("startTime");
  if (!errors.empty()) return errors.ToStatus();
  absl::StatusOr<int64_t> start_ms = ParseHttpDate(start);
  if (!start_ms.ok())
    return InvalidField("detail.startTime", std::string(start_ms.status().message()));
  std::string end = Text(detail->Find("endTime"));
  if (!end.empty() && !ParseHttpDate(end).ok()) {
    return InvalidField("detail.endTime", std::string(ParseHttpDate(end).status().message()));
  }

  std::string ours;
  if (auto it = sources.aws_services.find(service); it != sources.aws_services.end()) {
    ours = it->second;
  } else if (sources.aws_ignore_unmapped) {
    out.ignored.push_back(absl::StrFormat(
        "AWS service %s has no mapping (aws_health.services) and unmapped: ignore", service));
    return out;
  } else {
    ours = absl::AsciiStrToLower(service);
  }
  EventChange ec;
  v1::Change& c = ec.change;
  c.set_id(EventChangeId("aws", arn));
  *c.mutable_time() = FromMs(*start_ms);
  c.set_kind("managed_service");
  c.set_service(sources.Rename(ours));
  c.set_version(code);
  c.set_actor("AWS Health");
  c.set_source("aws.health");
  c.set_origin("aws_health");
  c.set_url(absl::StrCat("https://health.aws.amazon.com/health/home#/account/event-log?eventID=",
                         arn, "&eventTab=details"));
  std::string status = Text(detail->Find("statusCode"));
  std::string summary = absl::StrFormat("[%s] %s %s", status.empty() ? "open" : status,
                                        Text(detail->Find("eventTypeCategory")), code);
  if (std::string region = Text(detail->Find("eventRegion")); !region.empty()) {
    absl::StrAppend(&summary, " in ", region);
  }
  if (!end.empty()) absl::StrAppend(&summary, " until ", FormatRfc3339(*ParseHttpDate(end)));
  if (std::string e = Entities(detail->Find("affectedEntities")); !e.empty()) {
    absl::StrAppend(&summary, "; affects ", e);
  }
  if (std::string d = Description(detail->Find("eventDescription")); !d.empty()) {
    absl::StrAppend(&summary, ": ", d);
  }
  c.set_summary(summary);
  return Keep(std::move(ec), at, limits, std::move(out));
}

}  // namespace triage::collectors
