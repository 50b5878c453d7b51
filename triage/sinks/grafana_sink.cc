#include "triage/sinks/grafana_sink.h"

#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "collectors/json.h"
#include "proto/model/time.h"

namespace triage::sinks {

std::string ChangeTag(const v1::Change& c) { return "change:" + c.id(); }

std::string AnnotationBody(const v1::Change& c, bool id_tag) {
  std::string text = absl::StrCat(c.kind(), " on ", c.service());
  if (!c.version().empty()) {
    absl::StrAppend(&text, ": ", c.version());
    if (!c.previous_version().empty()) absl::StrAppend(&text, " (was ", c.previous_version(), ")");
  }
  if (!c.summary().empty()) absl::StrAppend(&text, "\n", c.summary());
  if (!c.actor().empty()) absl::StrAppend(&text, "\nby ", c.actor());
  if (!c.url().empty()) absl::StrAppend(&text, "\n", c.url());
  std::string body = absl::StrFormat("{\"time\":%d,\"tags\":[\"triage\",", ToMs(c.time()));
  collectors::AppendJsonString(&body, c.kind());
  body += ",";
  collectors::AppendJsonString(&body, c.service());
  if (id_tag) {
    body += ",";
    collectors::AppendJsonString(&body, ChangeTag(c));
  }
  body += "],\"text\":";
  collectors::AppendJsonString(&body, text);
  body += "}";
  return body;
}

absl::StatusOr<std::unique_ptr<GrafanaSink>> GrafanaSink::Create(store::Store& store,
                                                                 const Clock& clock,
                                                                 Metrics& metrics,
                                                                 GrafanaOptions options) {
  while (!options.url.empty() && options.url.back() == '/') options.url.pop_back();
  if (absl::StatusOr<net::Url> u = net::ParseUrl(options.url); !u.ok()) return u.status();
  absl::StatusOr<std::unique_ptr<net::HttpClient>> client = net::HttpClient::Create(options.client);
  if (!client.ok()) return client.status();
  return std::unique_ptr<GrafanaSink>(
      new GrafanaSink(store, clock, metrics, std::move(options), std::move(*client)));
}

GrafanaSink::GrafanaSink(store::Store& store, const Clock& clock, Metrics& metrics,
                         GrafanaOptions options, std::unique_ptr<net::HttpClient> client)
    : options_(std::move(options)),
      client_(std::move(client)),
      queue_(store, clock, metrics, metrics.grafana_queue(),
             {.queue = store::Store::Queue::kGrafana,
              .name = "grafana sink",
              .max_queue = options_.max_queue,
              .max_backoff_ms = options_.writes ? 2'000 : 30'000},
             [this](const v1::Delivery& d) { return Post(d); }) {}

absl::Status GrafanaSink::Post(const v1::Delivery& d) const {
  if (options_.writes) {
    absl::StatusOr<bool> there = Tagged("change:" + d.incident_id());
    if (!there.ok()) return there.status();
    if (*there) return absl::OkStatus();  // A replica has written it.
    if (!options_.writes()) {
      return absl::UnavailableError("another replica writes annotations (a lower --peer-position)");
    }
  }
  absl::StatusOr<net::HttpClientResponse> r =
      client_->Post(options_.url + "/api/annotations", "application/json", d.body());
  if (!r.ok()) return r.status();
  if (r->status >= 200 && r->status < 300) return absl::OkStatus();
  return absl::UnavailableError(absl::StrFormat("Grafana answered %d", r->status));
}

absl::StatusOr<bool> GrafanaSink::Tagged(const std::string& tag) const {
  std::string query;
  for (unsigned char ch : tag) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      query += static_cast<char>(ch);
    } else {
      query += absl::StrFormat("%%%02X", ch);
    }
  }
  absl::StatusOr<net::HttpClientResponse> r =
      client_->Get(options_.url + "/api/annotations?limit=1&tags=" + query);
  if (!r.ok()) return r.status();
  if (r->status < 200 || r->status >= 300) {
    return absl::UnavailableError(absl::StrFormat("Grafana answered %d to a search", r->status));
  }
  absl::string_view body = absl::StripAsciiWhitespace(r->body);
  if (body.empty() || body.front() != '[') {
    return absl::UnavailableError("Grafana's annotation search answered no list");
  }
  return absl::StripAsciiWhitespace(body.substr(1)) != "]";
}

absl::Status GrafanaSink::Annotate(const v1::Change& change) {
  v1::Delivery d;
  d.set_incident_id(change.id());
  d.set_body(AnnotationBody(change, static_cast<bool>(options_.writes)));
  return queue_.Enqueue(std::move(d));
}

}  // namespace triage::sinks
