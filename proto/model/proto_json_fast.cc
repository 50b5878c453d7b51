// The proto3 JSON mapping written directly from reflection: what ProtoJson
// prints for triage's own API (snake_case names, every field, defaults
// included). protobuf's converter builds a tree of nodes per field and
// allocates for each; this writes one string. It covers what triage's
// messages hold (scalars, enums, strings, bytes, nested and repeated
// messages, maps, google.protobuf.Timestamp); FastJsonSupports() says
// whether a message type holds only that, and ProtoJson falls back to
// protobuf's converter otherwise. tests/unit/proto_json_test.cc checks that
// both print the same JSON values.
#include <charconv>
#include <cmath>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/reflection.h"
#include "proto/model/proto_json.h"

namespace triage {

namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr char kTimestamp[] = "google.protobuf.Timestamp";

bool Supports(const Descriptor* d, std::set<const Descriptor*>* seen) {
  if (!seen->insert(d).second) return true;  // Recursive types: checked above.
  if (d->full_name() == kTimestamp) return true;
  if (d->file()->package() == "google.protobuf") return false;  // Other well-known types.
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && !Supports(f->message_type(), seen)) {
      return false;
    }
  }
  return true;
}

void Escaped(std::string_view s, std::string* out) {
  out->push_back('"');
  size_t plain = 0;  // Start of the run of bytes copied as they are.
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const char* esc = nullptr;
    char u[7];
    switch (c) {
      case '"':
        esc = "\\\"";
        break;
      case '\\':
        esc = "\\\\";
        break;
      case '\n':
        esc = "\\n";
        break;
      case '\r':
        esc = "\\r";
        break;
      case '\t':
        esc = "\\t";
        break;
      case '\b':
        esc = "\\b";
        break;
      case '\f':
        esc = "\\f";
        break;
      case '<':
        esc = "\\u003c";
        break;  // As protobuf does: safe inside HTML.
      case '>':
        esc = "\\u003e";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          static constexpr char kHex[] = "0123456789abcdef";
          u[0] = '\\', u[1] = 'u', u[2] = '0', u[3] = '0', u[4] = kHex[c >> 4], u[5] = kHex[c & 15];
          u[6] = 0;
          esc = u;
        }
    }
    if (esc == nullptr) continue;
    out->append(s.data() + plain, i - plain);
    out->append(esc);
    plain = i + 1;
  }
  out->append(s.data() + plain, s.size() - plain);
  out->push_back('"');
}

template <typename T>
void Number(T v, std::string* out) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, ec == std::errc() ? end - buf : 0);
}

template <typename T>
void Floating(T v, std::string* out) {
  if (std::isnan(v)) {
    out->append("\"NaN\"");
  } else if (std::isinf(v)) {
    out->append(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  } else {
    Number(v, out);
  }
}

void Timestamp(const Message& m, std::string* out) {
  const Reflection* r = m.GetReflection();
  const Descriptor* d = m.GetDescriptor();
  const int64_t seconds = r->GetInt64(m, d->FindFieldByNumber(1));
  const int32_t nanos = r->GetInt32(m, d->FindFieldByNumber(2));
  const char* fmt = nanos == 0               ? "%Y-%m-%dT%H:%M:%SZ"
                    : nanos % 1'000'000 == 0 ? "%Y-%m-%dT%H:%M:%E3SZ"
                    : nanos % 1'000 == 0     ? "%Y-%m-%dT%H:%M:%E6SZ"
                                             : "%Y-%m-%dT%H:%M:%E9SZ";
  out->push_back('"');
  out->append(absl::FormatTime(fmt, absl::FromUnixSeconds(seconds) + absl::Nanoseconds(nanos),
                               absl::UTCTimeZone()));
  out->push_back('"');
}

void Write(const Message& m, std::string* out);

// One value of `f` (element `index` when repeated, else -1).
void Value(const Message& m, const FieldDescriptor* f, int index, std::string* out) {
  const Reflection* r = m.GetReflection();
  const bool rep = index >= 0;
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return Number(rep ? r->GetRepeatedInt32(m, f, index) : r->GetInt32(m, f), out);
    case FieldDescriptor::CPPTYPE_UINT32:
      return Number(rep ? r->GetRepeatedUInt32(m, f, index) : r->GetUInt32(m, f), out);
    case FieldDescriptor::CPPTYPE_INT64:
      out->push_back('"');
      Number(rep ? r->GetRepeatedInt64(m, f, index) : r->GetInt64(m, f), out);
      out->push_back('"');
      return;
    case FieldDescriptor::CPPTYPE_UINT64:
      out->push_back('"');
      Number(rep ? r->GetRepeatedUInt64(m, f, index) : r->GetUInt64(m, f), out);
      out->push_back('"');
      return;
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return Floating(rep ? r->GetRepeatedDouble(m, f, index) : r->GetDouble(m, f), out);
    case FieldDescriptor::CPPTYPE_FLOAT:
      return Floating(rep ? r->GetRepeatedFloat(m, f, index) : r->GetFloat(m, f), out);
    case FieldDescriptor::CPPTYPE_BOOL:
      out->append((rep ? r->GetRepeatedBool(m, f, index) : r->GetBool(m, f)) ? "true" : "false");
      return;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const int n = rep ? r->GetRepeatedEnumValue(m, f, index) : r->GetEnumValue(m, f);
      const google::protobuf::EnumValueDescriptor* e = f->enum_type()->FindValueByNumber(n);
      if (e != nullptr) return Escaped(e->name(), out);
      return Number(n, out);
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string scratch;
      const std::string& s = rep ? r->GetRepeatedStringReference(m, f, index, &scratch)
                                 : r->GetStringReference(m, f, &scratch);
      if (f->type() == FieldDescriptor::TYPE_BYTES) {
        out->push_back('"');
        out->append(absl::Base64Escape(s));
        out->push_back('"');
        return;
      }
      return Escaped(s, out);
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      const Message& sub = rep ? r->GetRepeatedMessage(m, f, index) : r->GetMessage(m, f);
      if (f->message_type()->full_name() == kTimestamp) return Timestamp(sub, out);
      return Write(sub, out);
    }
  }
}

// A map entry's key as a JSON object key (always a string).
void MapKey(const Message& entry, std::string* out) {
  const FieldDescriptor* k = entry.GetDescriptor()->map_key();
  if (k->cpp_type() == FieldDescriptor::CPPTYPE_STRING) return Value(entry, k, -1, out);
  std::string v;
  Value(entry, k, -1, &v);
  if (!v.empty() && v.front() == '"') {  // int64 keys are quoted already.
    out->append(v);
  } else {
    out->push_back('"');
    out->append(v);
    out->push_back('"');
  }
}

void Write(const Message& m, std::string* out) {
  const Descriptor* d = m.GetDescriptor();
  const Reflection* r = m.GetReflection();
  out->push_back('{');
  bool first = true;
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    // Unset message fields (and unset fields with presence) are left out;
    // every other field is printed, defaults included.
    if (!f->is_repeated() && f->has_presence() && !r->HasField(m, f)) continue;
    if (!first) out->push_back(',');
    first = false;
    Escaped(f->name(), out);
    out->push_back(':');
    if (f->is_map()) {
      out->push_back('{');
      const FieldDescriptor* value = f->message_type()->map_value();
      for (int j = 0, n = r->FieldSize(m, f); j < n; ++j) {
        const Message& entry = r->GetRepeatedMessage(m, f, j);
        if (j > 0) out->push_back(',');
        MapKey(entry, out);
        out->push_back(':');
        Value(entry, value, -1, out);
      }
      out->push_back('}');
    } else if (f->is_repeated()) {
      out->push_back('[');
      for (int j = 0, n = r->FieldSize(m, f); j < n; ++j) {
        if (j > 0) out->push_back(',');
        Value(m, f, j, out);
      }
      out->push_back(']');
    } else {
      Value(m, f, -1, out);
    }
  }
  out->push_back('}');
}

}  // namespace

bool FastJsonSupports(const google::protobuf::Descriptor* type) {
  static absl::Mutex mu(absl::kConstInit);
  static auto* known = new std::map<const Descriptor*, bool>;
  absl::MutexLock lock(&mu);
  auto [it, added] = known->try_emplace(type, false);
  if (added) {
    std::set<const Descriptor*> seen;
    it->second = Supports(type, &seen);
  }
  return it->second;
}

void FastJson(const google::protobuf::Message& message, std::string* out) { Write(message, out); }

}  // namespace triage
