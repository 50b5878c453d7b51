#include "collectors/remote_write.h"

#include <snappy.h>

#include <bit>
#include <cstring>
#include <limits>

#include "absl/strings/str_format.h"
#include "google/protobuf/arena.h"
#include "prometheus/remote.pb.h"

namespace triage::collectors {

absl::Status Unsnappy(std::string_view body, size_t max_decoded_bytes, std::string* decoded) {
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
  if (!snappy::Uncompress(body.data(), body.size(), decoded)) {
    return InvalidField("body", "snappy: corrupt block");
  }
  return absl::OkStatus();
}

absl::Status DecodeRemoteWrite(std::string_view body, size_t max_decoded_bytes,
                               const Limits& limits, v1::RecordBatch* batch, int64_t* samples) {
  std::string decoded;
  if (absl::Status s = Unsnappy(body, max_decoded_bytes, &decoded); !s.ok()) return s;
  return ParseWriteRequest(decoded, limits, batch, samples);
}

absl::Status ParseWriteRequest(std::string_view decoded, const Limits& limits,
                               v1::RecordBatch* batch, int64_t* samples) {
  if (decoded.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return InvalidField("body", "protobuf: a WriteRequest over 2 GiB");
  }
  google::protobuf::Arena arena;
  auto* request = google::protobuf::Arena::CreateMessage<prometheus::WriteRequest>(&arena);
  if (!request->ParseFromArray(decoded.data(), static_cast<int>(decoded.size()))) {
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

namespace {

// Protobuf's wire format, only as much as ScanWriteRequest reads.
class Wire {
 public:
  explicit Wire(std::string_view in) : in_(in) {}
  bool done() const { return in_.empty(); }
  const char* at() const { return in_.data(); }
  bool Varint(uint64_t* v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64 && !in_.empty(); shift += 7) {
      const auto b = static_cast<uint8_t>(in_.front());
      in_.remove_prefix(1);
      r |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        *v = r;
        return true;
      }
    }
    return false;
  }
  // The next field's number and wire type.
  bool Tag(uint32_t* field, uint32_t* type) {
    uint64_t tag = 0;
    if (!Varint(&tag) || tag > std::numeric_limits<uint32_t>::max()) return false;
    *field = static_cast<uint32_t>(tag >> 3);
    *type = static_cast<uint32_t>(tag & 7);
    return true;
  }
  bool Bytes(std::string_view* out) {
    uint64_t n = 0;
    if (!Varint(&n) || n > in_.size()) return false;
    *out = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  bool Fixed64(uint64_t* v) {
    if (in_.size() < 8) return false;
    std::memcpy(v, in_.data(), 8);
    if constexpr (std::endian::native == std::endian::big) *v = __builtin_bswap64(*v);
    in_.remove_prefix(8);
    return true;
  }

 private:
  std::string_view in_;
};

constexpr uint32_t kVarint = 0, kFixed64 = 1, kLen = 2;

// One Sample: value (1, fixed64), timestamp (2, varint); the last of a
// repeated field wins, as protobuf has it.
bool ScanSample(std::string_view bytes, WireSample* out) {
  Wire w(bytes);
  uint64_t t = 0, v = 0;
  while (!w.done()) {
    uint32_t field, type;
    if (!w.Tag(&field, &type)) return false;
    if (field == 1 && type == kFixed64) {
      if (!w.Fixed64(&v)) return false;
    } else if (field == 2 && type == kVarint) {
      if (!w.Varint(&t)) return false;
    } else {
      return false;
    }
  }
  *out = {static_cast<int64_t>(t), std::bit_cast<double>(v)};
  return true;
}

// One TimeSeries: labels (1), then samples (2); nothing else.
bool ScanSeries(std::string_view bytes, WireSeries* series, std::vector<WireSample>* samples) {
  Wire w(bytes);
  const char* labels_end = bytes.data();
  series->first_sample = samples->size();
  while (!w.done()) {
    uint32_t field, type;
    if (!w.Tag(&field, &type) || type != kLen) return false;
    std::string_view value;
    if (!w.Bytes(&value)) return false;
    if (field == 1) {
      if (samples->size() != series->first_sample) return false;  // A label after a sample.
      labels_end = w.at();
    } else if (field == 2) {
      WireSample s;
      if (!ScanSample(value, &s)) return false;
      samples->push_back(s);
    } else {
      return false;
    }
  }
  series->labels = bytes.substr(0, static_cast<size_t>(labels_end - bytes.data()));
  series->count = samples->size() - series->first_sample;
  return true;
}

}  // namespace

bool ScanWriteRequest(std::string_view decoded, std::vector<WireSeries>* series,
                      std::vector<WireSample>* samples) {
  series->clear();
  samples->clear();
  Wire w(decoded);
  while (!w.done()) {
    uint32_t field, type;
    std::string_view value;
    if (!w.Tag(&field, &type) || field != 1 || type != kLen || !w.Bytes(&value)) return false;
    WireSeries s;
    if (!ScanSeries(value, &s, samples)) return false;
    series->push_back(s);
  }
  return true;
}

}  // namespace triage::collectors
