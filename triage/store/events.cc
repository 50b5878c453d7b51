#include "triage/store/events.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "proto/model/time.h"

namespace triage::store {

namespace {

template <typename M>
v1::Event OneRecord(std::string key, int64_t time_ms, const M& m,
                    google::protobuf::RepeatedPtrField<M>* (v1::RecordBatch::*field)()) {
  v1::Event e;
  e.set_key(absl::StrCat(key, "/", ContentHash(m)));
  e.set_time_ms(time_ms);
  *(e.mutable_records()->*field)()->Add() = m;
  return e;
}

}  // namespace

std::string ContentHash(const google::protobuf::Message& m) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&coded);
  }
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return absl::StrFormat("%016x", h);
}

std::vector<v1::Event> RecordEvents(const v1::RecordBatch& b) {
  using B = v1::RecordBatch;
  std::vector<v1::Event> out;
  for (const v1::Dependency& d : b.dependencies()) {
    out.push_back(OneRecord("dependency/" + d.service(), 0, d, &B::mutable_dependencies));
  }
  for (const v1::Change& c : b.changes()) {
    out.push_back(OneRecord("change/" + c.id(), ToMs(c.time()), c, &B::mutable_changes));
  }
  for (const v1::Histogram& h : b.histograms()) {
    out.push_back(OneRecord(absl::StrCat("histogram/", h.service(), "/", h.feature(), "/",
                                         ToMs(h.start()), "/", ToMs(h.end())),
                            ToMs(h.end()), h, &B::mutable_histograms));
  }
  for (const v1::Upstream& u : b.upstreams()) {
    out.push_back(OneRecord(
        absl::StrCat("upstream/", u.consumer(), "/", u.source(), "/", ToMs(u.time())),
        ToMs(u.time()), u, &B::mutable_upstreams));
  }
  for (const v1::EvalSet& e : b.eval_sets()) {
    out.push_back(
        OneRecord(absl::StrCat("eval_set/", e.service(), "/", e.name(), "/", ToMs(e.time())),
                  ToMs(e.time()), e, &B::mutable_eval_sets));
  }
  for (const v1::DependencyHealth& d : b.dependency_health()) {
    out.push_back(OneRecord(
        absl::StrCat("dependency_health/", d.service(), "/", d.check(), "/", ToMs(d.time())),
        ToMs(d.time()), d, &B::mutable_dependency_health));
  }
  return out;
}

int64_t AlertTime(const v1::WebhookAlert& a, int64_t fallback) {
  const int64_t ends = ToMs(a.ends_at());
  const int64_t starts = ToMs(a.starts_at());
  if (a.status() == "resolved" && ends > 0) return ends;
  return starts > 0 ? starts : fallback;
}

v1::Event AlertEvent(const v1::AlertmanagerWebhook& hook, int i) {
  const v1::WebhookAlert& a = hook.alerts(i);
  v1::Event e;
  e.set_key(absl::StrCat("alert/", hook.group_key(), "/", a.fingerprint(), "/", a.status(), "/",
                         ToMs(a.starts_at()), "/", ToMs(a.ends_at())));
  e.set_time_ms(AlertTime(a, 0));
  v1::AlertmanagerWebhook* one = e.mutable_alert();
  *one = hook;
  one->clear_alerts();
  *one->add_alerts() = a;
  return e;
}

v1::Event ResolutionEvent(const v1::ResolveIncidentRequest& request, int64_t time_ms) {
  v1::Event e;
  e.set_key(absl::StrCat("resolution/", request.id(), "/", time_ms));
  e.set_time_ms(time_ms);
  *e.mutable_resolution() = request;
  return e;
}

v1::Event DrillStartEvent(const std::string& drill_id, const v1::StartDrillRequest& request,
                          int64_t time_ms) {
  v1::Event e;
  e.set_key(absl::StrCat("drill/", drill_id, "/start"));
  e.set_time_ms(time_ms);
  e.mutable_drill()->set_drill_id(drill_id);
  *e.mutable_drill()->mutable_start() = request;
  return e;
}

v1::Event DrillStepEvent(const v1::DrillActionRequest& request, bool answer, int64_t time_ms) {
  v1::Event e;
  e.set_key(answer ? absl::StrCat("drill/", request.drill_id(), "/answer")
                   : absl::StrCat("drill/", request.drill_id(), "/open/", request.category(), "/",
                                  absl::StrFormat("%.6f", request.minute())));
  e.set_time_ms(time_ms);
  e.mutable_drill()->set_drill_id(request.drill_id());
  *(answer ? e.mutable_drill()->mutable_answer() : e.mutable_drill()->mutable_open()) = request;
  return e;
}

v1::Event TreeInstalledEvent(const std::string& text, int64_t installed_ms) {
  v1::Event e;
  e.mutable_tree()->set_text(text);
  e.mutable_tree()->set_installed_ms(installed_ms);
  e.set_key(absl::StrCat(kTreeEventPrefix, installed_ms, "/", ContentHash(e.tree())));
  return e;
}

}  // namespace triage::store
