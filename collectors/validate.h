// The one validator for every way in. Bundle files, /api/v1/bundle, gRPC
// Write* and IngestBundle, /api/v1/changes, the Alertmanager webhook and
// remote_write each turn their input into triage.v1 records plus where each
// came from (an Origin); these functions check them all with the same rules:
// UTF-8 everywhere, the spec's name patterns, Prometheus label rules, sizes,
// finite values and time ranges. Problems are structured (v1::InputError:
// source, line, field, message) and travel as the payload of an
// InvalidArgument status, so the edges render them (HTTP `errors`, gRPC
// status details) without parsing text. Pure functions; thread-safe.
//
//   InputErrorList errors;
//   ValidateBatch(batch, limits, &errors);
//   if (!errors.empty()) return errors.ToStatus();
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/map.h"
#include "triage/v1/alerts.pb.h"
#include "triage/v1/errors.pb.h"
#include "triage/v1/records.pb.h"

namespace triage::collectors {

// Limits on what a client may send, with the ecosystem's defaults (labels:
// Mimir's). The daemon sets them from flags; offline readers use the defaults.
struct Limits {
  size_t max_text_bytes = 4096;          // Every free-text field (title, summary, url, ...).
  size_t max_id_bytes = 256;             // Change and incident ids.
  size_t max_labels_per_series = 30;     // Labels of a series, its metric name included.
  size_t max_label_name_bytes = 1024;
  size_t max_label_value_bytes = 2048;
  size_t max_depends_on = 1000;          // Entries of one dependency record.
  size_t max_alerts = 100;               // Alerts of one incident or triage request.
  size_t max_change_events = 1000;       // Events of one CloudEvents batch.
  size_t max_histogram_bins = 4096;      // Counts or categories of one histogram.
  int64_t min_time_ms = 0;               // 1970-01-01T00:00:00Z
  int64_t max_time_ms = 253402300799999; // 9999-12-31T23:59:59.999Z
};

// A point's time as Validate(Series) checks it.
inline bool PointTimeOk(const Limits& limits, int64_t t_ms) {
  return t_ms >= limits.min_time_ms && t_ms <= limits.max_time_ms;
}

// Where a record came from. A bundle line has source and line and field
// paths relative to the line ("points[3][1]"); a typed request has a prefix
// ("changes[2]") and proto field paths ("points[3].value").
struct Origin {
  std::string source = "";
  int line = 0;
  std::string prefix = "";
  bool bundle = false;  // Points are [t, v] pairs.

  std::string Field(std::string_view field) const;
};

// Problems collected up to a cap (then `truncated`).
class InputErrorList {
 public:
  explicit InputErrorList(size_t max = 100) : max_(max) {}
  // `limit` names the Limits field the input went past, if that is the problem.
  void Add(const Origin& at, std::string_view field, std::string message,
           std::string_view limit = {});
  bool empty() const { return errors_.errors_size() == 0; }
  bool full() const { return static_cast<size_t>(errors_.errors_size()) >= max_; }
  size_t size() const { return static_cast<size_t>(errors_.errors_size()); }
  const v1::InputErrors& errors() const { return errors_; }
  // OK when empty; else InvalidArgument carrying the errors (InputErrorsOf).
  absl::Status ToStatus() const;

 private:
  size_t max_;
  v1::InputErrors errors_;
};

// "SOURCE:LINE: FIELD: MESSAGE" (bundle lines) or "FIELD: MESSAGE".
std::string Render(const v1::InputError& error);
// An InvalidArgument status whose message is every error rendered, one a
// line, and whose payload is `errors` itself.
absl::Status InputErrorStatus(const v1::InputErrors& errors);
// A single problem, as InputErrorStatus.
absl::Status InvalidField(std::string_view field, std::string message);
// The structured errors a status carries, if any.
std::optional<v1::InputErrors> InputErrorsOf(const absl::Status& status);

// One record each; `at` says where it came from.
void Validate(const v1::Dependency& d, const Origin& at, const Limits& limits, InputErrorList* out);
void Validate(const v1::Change& c, const Origin& at, const Limits& limits, InputErrorList* out);
void Validate(const v1::Series& s, const Origin& at, const Limits& limits, InputErrorList* out,
              bool allow_nan = false);
void Validate(const v1::Histogram& h, const Origin& at, const Limits& limits, InputErrorList* out);
void Validate(const v1::Upstream& u, const Origin& at, const Limits& limits, InputErrorList* out);
void Validate(const v1::EvalSet& e, const Origin& at, const Limits& limits, InputErrorList* out);
void Validate(const v1::DependencyHealth& d, const Origin& at, const Limits& limits,
              InputErrorList* out);
void Validate(const v1::Incident& incident, const Origin& at, const Limits& limits,
              InputErrorList* out);
// An Alertmanager webhook (its alerts' status, fingerprint, labels, annotations).
void Validate(const v1::AlertmanagerWebhook& hook, const Origin& at, const Limits& limits,
              InputErrorList* out);

// Labels of a series or an alert: Prometheus names, UTF-8 values, the caps.
// `field` is the labels' own path ("labels"); `extra` counts labels that
// travel outside the map (the metric name).
void ValidateLabels(const google::protobuf::Map<std::string, std::string>& labels,
                    std::string_view field, size_t extra, const Origin& at, const Limits& limits,
                    InputErrorList* out);

// Every record of a typed batch, with paths "changes[2].kind".
void ValidateBatch(const v1::RecordBatch& batch, const Limits& limits, InputErrorList* out);

}  // namespace triage::collectors
