#include "collectors/remote_write.h"

#include <snappy.h>

#include "absl/strings/str_format.h"
#include "google/protobuf/arena.h"
#include "prometheus/remote.pb.h"
#include "triage/base/names.h"

namespace triage::collectors {

absl::Status DecodeRemoteWrite(std::string_view body, size_t max_decoded_bytes,
                               v1::RecordBatch* batch, int64_t* samples) {
  size_t decoded_size = 0;
  if (!snappy::GetUncompressedLength(body.data(), body.size(), &decoded_size)) {
    return absl::InvalidArgumentError(
        "snappy: not a snappy block (remote_write bodies are "
        "snappy block-compressed protobuf)");
  }
  if (decoded_size > max_decoded_bytes) {
    return absl::ResourceExhaustedError(
        absl::StrFormat("snappy: block decodes to %d bytes, over the limit of %d", decoded_size,
                        max_decoded_bytes));
  }
  std::string decoded;
  if (!snappy::Uncompress(body.data(), body.size(), &decoded)) {
    return absl::InvalidArgumentError("snappy: corrupt block");
  }
  google::protobuf::Arena arena;
  auto* request = google::protobuf::Arena::CreateMessage<prometheus::WriteRequest>(&arena);
  if (!request->ParseFromString(decoded)) {
    return absl::InvalidArgumentError("protobuf: cannot parse prometheus.WriteRequest");
  }
  *samples = 0;
  batch->mutable_series()->Reserve(request->timeseries_size());
  for (int i = 0; i < request->timeseries_size(); ++i) {
    const prometheus::TimeSeries& ts = request->timeseries(i);
    v1::Series* s = batch->add_series();
    for (const prometheus::Label& l : ts.labels()) {
      if (l.name() == "__name__") {
        s->set_metric(l.value());
      } else {
        (*s->mutable_labels())[l.name()] = l.value();
      }
    }
    if (s->metric().empty()) {
      return absl::InvalidArgumentError(absl::StrFormat("timeseries[%d]: no __name__ label", i));
    }
    if (!IsValidName(s->metric())) {
      return absl::InvalidArgumentError(
          absl::StrFormat("timeseries[%d]: metric \"%s\" is not a valid name", i, s->metric()));
    }
    if (auto it = s->labels().find("service");
        it != s->labels().end() && !IsValidName(it->second)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "timeseries[%d]: label service=\"%s\" is not a valid name", i, it->second));
    }
    s->mutable_points()->Reserve(ts.samples_size());
    for (const prometheus::Sample& sample : ts.samples()) {
      v1::Point* p = s->add_points();
      p->set_t_ms(sample.timestamp());
      p->set_value(sample.value());
      ++*samples;
    }
  }
  return absl::OkStatus();
}

}  // namespace triage::collectors
