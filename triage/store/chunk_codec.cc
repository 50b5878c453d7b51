#include "triage/store/chunk_codec.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "absl/strings/str_format.h"

namespace triage::store {

uint64_t Zig(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t Unzig(uint64_t v) { return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1)); }

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view* in, uint64_t* v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const auto b = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    r |= static_cast<uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0) {
      *v = r;
      return true;
    }
  }
  return false;
}

namespace {

constexpr char kMagic = static_cast<char>(0xC5);
constexpr uint8_t kXorValues = 0xFF;
constexpr int kMaxScale = 9;                     // Decimal digits kept as integers, at most.
constexpr uint64_t kMaxSegmentPoints = 1 << 21;  // One point per 3.4 ms of a 2 h chunk.
constexpr double kPow10[kMaxScale + 1] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53

int Width(uint64_t v) { return 64 - std::countl_zero(v); }

// Bits appended least significant first; Flush ends on a whole byte.
class BitWriter {
 public:
  explicit BitWriter(std::string* out) : out_(out) {}
  void Put(uint64_t v, int bits) {
    while (bits > 0) {
      const int take = std::min(bits, 32);
      acc_ |= (v & ((uint64_t{1} << take) - 1)) << fill_;
      fill_ += take;
      v = take == 64 ? 0 : v >> take;
      bits -= take;
      while (fill_ >= 8) {
        out_->push_back(static_cast<char>(acc_ & 0xFF));
        acc_ >>= 8;
        fill_ -= 8;
      }
    }
  }
  void Flush() {
    if (fill_ > 0) out_->push_back(static_cast<char>(acc_ & 0xFF));
    acc_ = 0;
    fill_ = 0;
  }

 private:
  std::string* out_;
  uint64_t acc_ = 0;
  int fill_ = 0;
};

class BitReader {
 public:
  explicit BitReader(std::string_view in) : in_(in) {}
  bool Get(int bits, uint64_t* v) {
    uint64_t r = 0;
    for (int got = 0; got < bits;) {
      if (fill_ == 0) {
        if (pos_ >= in_.size()) return false;
        acc_ = static_cast<uint8_t>(in_[pos_++]);
        fill_ = 8;
      }
      const int take = std::min(bits - got, fill_);
      r |= (acc_ & ((uint64_t{1} << take) - 1)) << got;
      acc_ >>= take;
      fill_ -= take;
      got += take;
    }
    *v = r;
    return true;
  }
  // What follows the bit-packed part, from the next whole byte.
  std::string_view Rest() const { return in_.substr(pos_); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  uint64_t acc_ = 0;
  int fill_ = 0;
};

// Packs `values` at the width the largest needs: [width byte][bits].
void PutPacked(std::string* out, std::span<const uint64_t> values) {
  int width = 0;
  for (uint64_t v : values) width = std::max(width, Width(v));
  out->push_back(static_cast<char>(width));
  BitWriter w(out);
  for (uint64_t v : values) w.Put(v, width);
  w.Flush();
}

bool GetPacked(std::string_view* in, size_t n, std::vector<uint64_t>* values) {
  if (in->empty()) return false;
  const int width = static_cast<uint8_t>(in->front());
  in->remove_prefix(1);
  if (width > 64) return false;
  BitReader r(*in);
  values->resize(n);
  for (uint64_t& v : *values) {
    if (!r.Get(width, &v)) return false;
  }
  *in = r.Rest();
  return true;
}

// v as an integer count of 10^-k, when that gives v back bit for bit.
bool Scaled(double v, int k, int64_t* out) {
  const double scaled = v * kPow10[k];
  if (!(std::fabs(scaled) < kMaxExactInteger)) return false;  // NaN and infinities too.
  const auto i = static_cast<int64_t>(std::llround(scaled));
  if (std::bit_cast<uint64_t>(static_cast<double>(i) / kPow10[k]) != std::bit_cast<uint64_t>(v)) {
    return false;
  }
  *out = i;
  return true;
}

// The smallest k for which every value is a scaled integer; -1 when none is.
int DecimalScale(std::span<const Sample> samples, std::vector<int64_t>* ints) {
  int k = 0;
  int64_t unused;
  for (const Sample& s : samples) {
    while (k <= kMaxScale && !Scaled(s.v, k, &unused)) ++k;
    if (k > kMaxScale) return -1;
  }
  ints->resize(samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    if (!Scaled(samples[i].v, k, &(*ints)[i])) return -1;
  }
  return k;
}

void PutXorValues(std::string* out, std::span<const Sample> samples) {
  BitWriter w(out);
  uint64_t prev = std::bit_cast<uint64_t>(samples[0].v);
  w.Put(prev, 64);
  for (size_t i = 1; i < samples.size(); ++i) {
    const uint64_t bits = std::bit_cast<uint64_t>(samples[i].v);
    const uint64_t x = bits ^ prev;
    prev = bits;
    if (x == 0) {
      w.Put(0, 1);
      continue;
    }
    const int lead = std::min(std::countl_zero(x), 31);
    const int trail = std::countr_zero(x);
    const int len = 64 - lead - trail;
    w.Put(1, 1);
    w.Put(static_cast<uint64_t>(lead), 5);
    w.Put(static_cast<uint64_t>(len - 1), 6);
    w.Put(x >> trail, len);
  }
  w.Flush();
}

bool GetXorValues(std::string_view* in, std::span<Sample> samples) {
  BitReader r(*in);
  uint64_t prev;
  if (!r.Get(64, &prev)) return false;
  samples[0].v = std::bit_cast<double>(prev);
  for (size_t i = 1; i < samples.size(); ++i) {
    uint64_t changed, lead, len, bits;
    if (!r.Get(1, &changed)) return false;
    if (changed != 0) {
      if (!r.Get(5, &lead) || !r.Get(6, &len) || !r.Get(static_cast<int>(len) + 1, &bits)) {
        return false;
      }
      const int trail = 64 - static_cast<int>(lead) - static_cast<int>(len + 1);
      if (trail < 0) return false;
      prev ^= bits << trail;
    }
    samples[i].v = std::bit_cast<double>(prev);
  }
  *in = r.Rest();
  return true;
}

absl::Status Corrupt(const char* what) {
  return absl::DataLossError(absl::StrFormat("series chunk: %s", what));
}

absl::Status DecodeSegment(std::string_view* in, std::vector<Sample>* out) {
  in->remove_prefix(1);  // The magic byte.
  uint64_t n, z;
  if (!GetVarint(in, &n) || n == 0 || n > kMaxSegmentPoints) return Corrupt("bad point count");
  const size_t first = out->size();
  out->resize(first + n);
  std::span<Sample> s(out->data() + first, n);
  if (!GetVarint(in, &z)) return Corrupt("truncated");
  s[0].t = Unzig(z);
  uint64_t delta = 0;
  if (n >= 2) {
    if (!GetVarint(in, &z)) return Corrupt("truncated");
    delta = z;
    s[1].t = static_cast<int64_t>(static_cast<uint64_t>(s[0].t) + static_cast<uint64_t>(Unzig(z)));
  }
  std::vector<uint64_t> packed;
  if (n >= 3) {
    if (!GetPacked(in, n - 2, &packed)) return Corrupt("truncated timestamps");
    uint64_t d = static_cast<uint64_t>(Unzig(delta));
    for (size_t i = 2; i < n; ++i) {
      d += static_cast<uint64_t>(Unzig(packed[i - 2]));
      s[i].t = static_cast<int64_t>(static_cast<uint64_t>(s[i - 1].t) + d);
    }
  }
  if (in->empty()) return Corrupt("truncated values");
  const auto mode = static_cast<uint8_t>(in->front());
  in->remove_prefix(1);
  if (mode == kXorValues) {
    if (!GetXorValues(in, s)) return Corrupt("truncated values");
    return absl::OkStatus();
  }
  if (mode > kMaxScale) return Corrupt("bad value mode");
  if (!GetVarint(in, &z)) return Corrupt("truncated values");
  int64_t v = Unzig(z);
  s[0].v = static_cast<double>(v) / kPow10[mode];
  if (n >= 2) {
    if (!GetPacked(in, n - 1, &packed)) return Corrupt("truncated values");
    for (size_t i = 1; i < n; ++i) {
      v = static_cast<int64_t>(static_cast<uint64_t>(v) +
                               static_cast<uint64_t>(Unzig(packed[i - 1])));
      s[i].v = static_cast<double>(v) / kPow10[mode];
    }
  }
  return absl::OkStatus();
}

// The raw pairs of a store written before segments: [time ^ sign][bits].
absl::Status DecodeLegacy(std::string_view in, std::vector<Sample>* out) {
  if (in.size() % 16 != 0) return Corrupt("bad length");
  for (size_t i = 0; i < in.size(); i += 16) {
    uint64_t t = 0, bits = 0;
    for (size_t b = 0; b < 8; ++b) t = (t << 8) | static_cast<uint8_t>(in[i + b]);
    for (size_t b = 8; b < 16; ++b) bits = (bits << 8) | static_cast<uint8_t>(in[i + b]);
    out->push_back({static_cast<int64_t>(t ^ (uint64_t{1} << 63)), std::bit_cast<double>(bits)});
  }
  return absl::OkStatus();
}

}  // namespace

void EncodeSegment(std::span<const Sample> samples, std::string* out) {
  const size_t n = samples.size();
  if (n == 0) return;
  out->push_back(kMagic);
  PutVarint(out, n);
  PutVarint(out, Zig(samples[0].t));
  std::vector<uint64_t> packed;
  if (n >= 2) PutVarint(out, Zig(samples[1].t - samples[0].t));
  if (n >= 3) {
    packed.resize(n - 2);
    for (size_t i = 2; i < n; ++i) {
      packed[i - 2] =
          Zig((samples[i].t - samples[i - 1].t) - (samples[i - 1].t - samples[i - 2].t));
    }
    PutPacked(out, packed);
  }
  std::vector<int64_t> ints;
  const int k = DecimalScale(samples, &ints);
  if (k < 0) {
    out->push_back(static_cast<char>(kXorValues));
    PutXorValues(out, samples);
    return;
  }
  out->push_back(static_cast<char>(k));
  PutVarint(out, Zig(ints[0]));
  if (n >= 2) {
    packed.resize(n - 1);
    for (size_t i = 1; i < n; ++i) packed[i - 1] = Zig(ints[i] - ints[i - 1]);
    PutPacked(out, packed);
  }
}

absl::Status DecodeChunk(std::string_view value, std::vector<Sample>* out) {
  while (!value.empty()) {
    if (value.front() != kMagic) return DecodeLegacy(value, out);
    if (absl::Status s = DecodeSegment(&value, out); !s.ok()) return s;
  }
  return absl::OkStatus();
}

std::string MergeChunkPieces(std::span<const std::string_view> pieces, int* corrupt) {
  std::vector<Sample> all;
  bool ordered = true;
  for (std::string_view p : pieces) {
    const size_t before = all.size();
    if (!DecodeChunk(p, &all).ok()) {
      all.resize(before);
      if (corrupt != nullptr) ++*corrupt;
      continue;
    }
    for (size_t i = std::max<size_t>(before, 1); i < all.size(); ++i) {
      if (all[i].t <= all[i - 1].t) ordered = false;
    }
  }
  if (pieces.size() == 1 && ordered && (corrupt == nullptr || *corrupt == 0)) {
    return std::string(pieces[0]);  // Sound and alone: nothing to merge.
  }
  if (!ordered) {
    // Of equal timestamps the later piece (later in `all`) wins.
    std::stable_sort(all.begin(), all.end(),
                     [](const Sample& a, const Sample& b) { return a.t < b.t; });
    size_t w = 0;
    for (size_t i = 0; i < all.size(); ++i) {
      if (i + 1 < all.size() && all[i + 1].t == all[i].t) continue;
      all[w++] = all[i];
    }
    all.resize(w);
  }
  std::string out;
  EncodeSegment(all, &out);
  return out;
}

}  // namespace triage::store
