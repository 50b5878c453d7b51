#include "collectors/remote_write.h"

#include <snappy.h>

#include "absl/strings/str_format.h"
#include "google/protobuf/arena.h"
#include "prometheus/remote.pb.h"

namespace triage::collectors {

absl::Status DecodeRemoteWrite(std::string_view body, size_t max_decoded_bytes,
                               const Limits& limits, v1::RecordBatch* batch, int64_t* samples) {
  size_t decoded_size = 0;
  if (!snappy::GetUncompressedLength(body.data(), body.size(), &decoded_size)) {
    return InvalidField("body",
                        "snappy: not a snappy block (remote_write bodies are snappy "
                        "block-compressed protobuf)");
  }
  if (decoded_size > max_decoded_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("snappy: block decodes to %d bytes, over the limit of %d", decoded_size,
                        max_decoded_bytes));
  }
  std::string decoded;
  if (!snappy::Uncompress(body.data(), body.size(), &decoded)) {
    return InvalidField("body", "snappy: corrupt block");
  }
  google::protobuf::Arena arena;
  auto* request = google::protobuf::Arena::CreateMessage<prometheus::WriteRequest>(&arena);
  if (!request->ParseFromString(decoded)) {
    return InvalidField("body",
                        "protobuf: cannot parse prometheus.WriteRequest (or a string in it is not "
                        "valid UTF-8)");
  }
  *samples = 0;
  InputErrorList errors;
  batch->mutable_series()->Reserve(request->timeseries_size());
  for (int i = 0; i < request->timeseries_size() && !errors.full(); ++i) {
    const prometheus::TimeSeries& ts = request->timeseries(i);
    // Named only when something is wrong (formatting it for every series costs).
    auto at = [i] { return Origin{.prefix = absl::StrFormat("timeseries[%d]", i)}; };
    v1::Series* s = batch->add_series();
    bool repeated = false;
    for (const prometheus::Label& l : ts.labels()) {
      if (l.name() == "__name__") {
        repeated = repeated || !s->metric().empty();
        s->set_metric(l.value());
      } else {
        repeated = !s->mutable_labels()->try_emplace(l.name(), l.value()).second || repeated;
      }
    }
    if (repeated) errors.Add(at(), "labels", "a label name appears twice");
    if (s->metric().empty()) {
      errors.Add(at(), "labels", "no __name__ label");
      continue;
    }
    s->mutable_points()->Reserve(ts.samples_size());
    for (const prometheus::Sample& sample : ts.samples()) {
      v1::Point* p = s->add_points();
      p->set_t_ms(sample.timestamp());
      p->set_value(sample.value());
    }
    *samples += ts.samples_size();
    InputErrorList found(1);
    Validate(*s, Origin{}, limits, &found, /*allow_nan=*/true);
    if (!found.empty()) Validate(*s, at(), limits, &errors, /*allow_nan=*/true);
  }
  return errors.ToStatus();
}

}  // namespace triage::collectors
