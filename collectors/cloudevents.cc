#include "collectors/cloudevents.h"

#include <map>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "collectors/json.h"
#include "proto/model/names.h"
#include "proto/model/time.h"

namespace triage::collectors {

namespace {

constexpr std::string_view kCdeventsService = "dev.cdevents.service.";

// The media type without parameters, lower-cased.
std::string MediaType(std::string_view content_type) {
  return absl::AsciiStrToLower(
      absl::StripAsciiWhitespace(Av(content_type.substr(0, content_type.find(';')))));
}

// Data of this type is JSON (absent means application/json).
bool IsJsonType(std::string_view content_type) {
  std::string t = MediaType(content_type);
  return t.empty() || t == "application/json" || t == "text/json" || t.ends_with("+json");
}

// One event, from either mode: its attributes as text, its data as JSON
// when the data is JSON.
struct Event {
  std::map<std::string, std::string, std::less<>> attributes;
  std::optional<JsonValue> data;
  bool binary = false;  // Attributes came as ce-* headers.
};

std::string Scalar(const JsonValue& v) {
  switch (v.type) {
    case JsonValue::Type::kString:
    case JsonValue::Type::kNumber:
      return v.text;
    case JsonValue::Type::kBool:
      return v.boolean ? "true" : "false";
    default:
      return "";
  }
}

// Reads one event's rules into changes, errors under `at`.
class EventMapper {
 public:
  EventMapper(const Origin& at, int64_t now_ms, const ChangeSources& sources,
              InputErrorList* errors)
      : at_(at), now_ms_(now_ms), sources_(sources), errors_(errors) {}

  // The change `e` makes, or nullopt with `ignored` set (or errors added).
  std::optional<EventChange> Map(const Event& e, std::string* ignored) {
    binary_ = e.binary;
    if (!Required(e)) return std::nullopt;
    const std::string& type = e.attributes.find("type")->second;
    EventChange out;
    v1::Change& c = out.change;
    c.set_id(EventChangeId("ce", absl::StrCat(Attr(e, "source"), "\n", Attr(e, "id"))));
    if (auto t = Time(e)) {
      *c.mutable_time() = FromMs(*t);
    } else {
      if (!errors_->empty()) return std::nullopt;
      *c.mutable_time() = FromMs(now_ms_);
      out.timed = false;
    }
    const std::string& source = Attr(e, "source");
    if (source.starts_with("https://") || source.starts_with("http://")) c.set_url(source);
    if (IsValidName(source)) c.set_source(source);
    if (const EventTypeMapping* m = sources_.Find(type)) {
      if (!Mapped(e, *m, &c)) return std::nullopt;
    } else if (type.starts_with(kCdeventsService)) {
      if (!Cdevent(e, type, &out, ignored)) return std::nullopt;
    } else {
      *ignored = absl::StrFormat("%s: type %s has no mapping (see --change-sources-file)",
                                 at_.prefix.empty() ? "event" : at_.prefix, type);
      return std::nullopt;
    }
    return out;
  }

 private:
  std::string Field(std::string_view attribute) const {
    return binary_ && !attribute.starts_with("data") ? absl::StrCat("ce-", Av(attribute))
                                                     : std::string(attribute);
  }
  void Error(std::string_view attribute, std::string message) {
    errors_->Add(at_, Field(attribute), std::move(message));
  }
  static const std::string& Attr(const Event& e, std::string_view name) {
    static const std::string kEmpty;
    auto it = e.attributes.find(name);
    return it == e.attributes.end() ? kEmpty : it->second;
  }

  bool Required(const Event& e) {
    bool ok = true;
    for (const char* name : {"specversion", "id", "source", "type"}) {
      if (Attr(e, name).empty()) {
        Error(name, "required (a non-empty string)");
        ok = false;
      }
    }
    if (ok && Attr(e, "specversion") != "1.0") {
      Error("specversion", absl::StrFormat("\"%s\" is not 1.0", Attr(e, "specversion")));
      ok = false;
    }
    return ok;
  }

  std::optional<int64_t> Time(const Event& e) {
    const std::string& text = Attr(e, "time");
    if (text.empty()) return std::nullopt;
    absl::StatusOr<int64_t> t = ParseRfc3339(text);
    if (!t.ok()) {
      Error("time", absl::StrFormat("\"%s\" is not an RFC 3339 time", text));
      return std::nullopt;
    }
    return *t;
  }

  // The value at a mapping's path; an error (and nullopt) when it is not
  // there or not a scalar and `required`.
  std::optional<std::string> Lookup(const Event& e, std::string_view path, bool required) {
    if (!path.starts_with("data")) {
      auto it = e.attributes.find(path);
      if (it != e.attributes.end() && !it->second.empty()) return it->second;
      if (required) Error(path, "required by the mapping");
      return std::nullopt;
    }
    const JsonValue* v = e.data ? &*e.data : nullptr;
    if (path.size() > 4) {
      for (absl::string_view member : absl::StrSplit(Av(path.substr(5)), '.')) {
        if (v == nullptr || v->type != JsonValue::Type::kObject) {
          v = nullptr;
          break;
        }
        v = v->Find(std::string_view(member.data(), member.size()));
      }
    }
    std::string text = v != nullptr ? Scalar(*v) : "";
    if (!text.empty()) return text;
    if (required) {
      Error(path, v == nullptr
                      ? "required by the mapping (not in the event's JSON data)"
                      : absl::StrFormat("must be a string or number, got %s", v->TypeName()));
    }
    return std::nullopt;
  }

  bool Mapped(const Event& e, const EventTypeMapping& m, v1::Change* c) {
    c->set_kind(m.kind);
    c->set_origin("cloudevents");
    std::optional<std::string> service = Lookup(e, m.service.empty() ? "subject" : m.service, true);
    if (!service) return false;
    c->set_service(sources_.Rename(LastPathSegment(*service)));
    std::pair<const std::string*, std::string*> optional[] = {{&m.version, c->mutable_version()},
                                                              {&m.actor, c->mutable_actor()},
                                                              {&m.summary, c->mutable_summary()},
                                                              {&m.url, c->mutable_url()}};
    for (auto& [path, out] : optional) {
      if (path->empty()) continue;
      if (std::optional<std::string> v = Lookup(e, *path, false)) *out = *v;
    }
    if (c->summary().empty()) c->set_summary(Attr(e, "type"));
    return true;
  }

  // CDEvents service events (v0.3 to v0.5: the subject's shape is the same).
  bool Cdevent(const Event& e, const std::string& type, EventChange* out, std::string* ignored) {
    std::string_view rest = std::string_view(type).substr(kCdeventsService.size());
    std::string predicate(rest.substr(0, rest.find('.')));
    if (predicate != "deployed" && predicate != "upgraded" && predicate != "rolledback" &&
        predicate != "removed") {
      *ignored = absl::StrFormat("%s: CDEvents type %s is not a deployment (map it to keep it)",
                                 at_.prefix.empty() ? "event" : at_.prefix, type);
      return false;
    }
    if (!e.data || e.data->type != JsonValue::Type::kObject) {
      Error("data", "a CDEvent needs its JSON (context and subject) as the event's data");
      return false;
    }
    std::optional<std::string> subject = Lookup(e, "data.subject.id", true);
    if (!subject) return false;
    std::string artifact = Lookup(e, "data.subject.content.artifactId", false).value_or("");
    std::string env = Lookup(e, "data.subject.content.environment.id", false).value_or("");
    if (artifact.empty() && predicate != "removed") {
      Error("data.subject.content.artifactId", "required for a service " + predicate + " event");
      return false;
    }
    v1::Change& c = out->change;
    c.set_kind("code_deploy");
    c.set_origin("cdevents");
    c.set_service(sources_.Rename(LastPathSegment(*subject)));
    c.set_version(artifact);
    std::string where = env.empty() ? "" : absl::StrCat(" in ", env);
    if (predicate == "deployed") c.set_summary(absl::StrCat("deployed ", artifact, where));
    if (predicate == "upgraded") c.set_summary(absl::StrCat("upgraded to ", artifact, where));
    if (predicate == "rolledback") {
      c.set_summary(absl::StrCat("rollback: rolled back to ", artifact, where));
    }
    if (predicate == "removed") c.set_summary(absl::StrCat("removed", where));
    // The CDEvent's own timestamp is when it happened.
    if (std::optional<std::string> ts = Lookup(e, "data.context.timestamp", false)) {
      absl::StatusOr<int64_t> t = ParseRfc3339(*ts);
      if (!t.ok()) {
        Error("data.context.timestamp", absl::StrFormat("\"%s\" is not an RFC 3339 time", *ts));
        return false;
      }
      *c.mutable_time() = FromMs(*t);
      out->timed = true;
    }
    return true;
  }

  const Origin& at_;
  const int64_t now_ms_;
  const ChangeSources& sources_;
  InputErrorList* errors_;
  bool binary_ = false;
};

// A structured-mode event: a JSON object.
bool ReadStructured(const JsonValue& v, const Origin& at, InputErrorList* errors, Event* e) {
  if (v.type != JsonValue::Type::kObject) {
    errors->Add(at, "", absl::StrFormat("an event must be a JSON object, got %s", v.TypeName()));
    return false;
  }
  const JsonValue* data = nullptr;
  for (const JsonMember& m : v.members) {
    if (m.first == "data") {
      data = &m.second;
    } else if (m.first == "data_base64") {
      continue;  // Not JSON: the mapping cannot read into it.
    } else if (m.second.type == JsonValue::Type::kArray ||
               m.second.type == JsonValue::Type::kObject) {
      errors->Add(at, m.first, "an attribute must be a string, number or boolean");
    } else if (!m.second.is_null()) {
      e->attributes[m.first] = Scalar(m.second);
    }
  }
  // JSON data is the value itself; a string under a JSON type stays a string.
  if (data != nullptr && !data->is_null()) {
    auto it = e->attributes.find("datacontenttype");
    if (it == e->attributes.end() || IsJsonType(it->second)) e->data = *data;
  }
  return true;
}

absl::StatusOr<Event> ReadBinary(const CloudEventsRequest& request, InputErrorList* errors) {
  Event e;
  e.binary = true;
  if (request.headers != nullptr) {
    for (const auto& [name, value] : *request.headers) {
      if (!name.starts_with("ce-") || name.size() == 3) continue;
      absl::StatusOr<std::string> decoded = DecodeCeHeader(value);
      if (!decoded.ok()) {
        errors->Add(Origin{}, name, std::string(decoded.status().message()));
        continue;
      }
      e.attributes[name.substr(3)] = *decoded;
    }
  }
  if (e.attributes.contains("datacontenttype")) {
    errors->Add(Origin{}, "ce-datacontenttype",
                "must not be sent in binary mode (the Content-Type is the data's type)");
  }
  if (!request.body.empty() && IsJsonType(request.content_type)) {
    absl::StatusOr<JsonValue> data = ParseJson(request.body);
    if (!data.ok()) {
      errors->Add(Origin{}, "body", absl::StrCat("data is not JSON: ", data.status().message()));
    } else {
      e.data = std::move(*data);
    }
  }
  return e;
}

}  // namespace

absl::StatusOr<std::string> DecodeCeHeader(std::string_view value) {
  std::string unquoted;
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    for (size_t i = 1; i + 1 < value.size(); ++i) {
      if (value[i] == '\\' && i + 2 < value.size()) ++i;
      unquoted.push_back(value[i]);
    }
    value = unquoted;
  }
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '%') {
      out.push_back(value[i]);
      continue;
    }
    if (i + 2 >= value.size() || !absl::ascii_isxdigit(value[i + 1]) ||
        !absl::ascii_isxdigit(value[i + 2])) {
      return absl::InvalidArgumentError(
          absl::StrFormat("bad percent-encoding at byte %d (want %%XY)", i + 1));
    }
    auto nibble = [](char c) { return absl::ascii_isdigit(c) ? c - '0' : (c | 0x20) - 'a' + 10; };
    out.push_back(static_cast<char>(nibble(value[i + 1]) * 16 + nibble(value[i + 2])));
    i += 2;
  }
  if (!IsValidUtf8(out)) return absl::InvalidArgumentError("not valid UTF-8 once decoded");
  return out;
}

absl::StatusOr<EventChanges> ParseCloudEvents(const CloudEventsRequest& request, int64_t now_ms,
                                              const ChangeSources& sources, const Limits& limits) {
  const std::string type = MediaType(request.content_type);
  InputErrorList errors;
  std::vector<std::pair<Origin, Event>> events;
  if (type.starts_with("application/cloudevents")) {
    const bool batch = type.starts_with("application/cloudevents-batch");
    absl::StatusOr<JsonValue> body = ParseJson(request.body);
    if (!body.ok()) return InvalidField("body", std::string(body.status().message()));
    if (batch && body->type != JsonValue::Type::kArray) {
      return InvalidField(
          "body", absl::StrFormat("a batch must be a JSON array, got %s", body->TypeName()));
    }
    if (batch && body->items.size() > limits.max_change_events) {
      errors.Add(Origin{}, "body",
                 absl::StrFormat("%d events, more than the limit of %d", body->items.size(),
                                 limits.max_change_events),
                 "max_change_events");
      return errors.ToStatus();
    }
    std::vector<const JsonValue*> items;
    if (batch) {
      for (const JsonValue& v : body->items) items.push_back(&v);
    } else {
      items.push_back(&*body);
    }
    for (size_t i = 0; i < items.size() && !errors.full(); ++i) {
      Origin at{.prefix = batch ? absl::StrFormat("events[%d]", i) : "event"};
      Event e;
      if (ReadStructured(*items[i], at, &errors, &e)) events.emplace_back(at, std::move(e));
    }
  } else {
    absl::StatusOr<Event> e = ReadBinary(request, &errors);
    if (!e.ok()) return e.status();
    events.emplace_back(Origin{}, std::move(*e));
  }
  if (!errors.empty()) return errors.ToStatus();
  EventChanges out;
  for (const auto& [at, e] : events) {
    std::string ignored;
    EventMapper mapper(at, now_ms, sources, &errors);
    std::optional<EventChange> c = mapper.Map(e, &ignored);
    if (c) {
      Validate(c->change, at, limits, &errors);
      out.changes.push_back(std::move(*c));
    } else if (!ignored.empty()) {
      out.ignored.push_back(std::move(ignored));
    }
  }
  if (!errors.empty()) return errors.ToStatus();
  return out;
}

}  // namespace triage::collectors
