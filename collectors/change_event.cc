#include "collectors/change_event.h"

#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/json_util.h"
#include "proto/model/time.h"

namespace triage::collectors {

absl::StatusOr<v1::Change> ParseChangeEvent(std::string_view body, int64_t now_ms,
                                            uint32_t id_suffix, const Limits& limits) {
  v1::Change change;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(body.data(), body.size()), &change, options);
  if (!parsed.ok()) {
    return InvalidField("body", "not a change event: " + std::string(parsed.message()));
  }
  if (!change.has_time()) *change.mutable_time() = FromMs(now_ms);
  if (change.id().empty()) change.set_id(absl::StrFormat("chg-%d-%04x", now_ms, id_suffix & 0xffff));
  if (change.origin().empty()) change.set_origin("api");
  InputErrorList errors;
  Validate(change, Origin{.prefix = "changes[0]"}, limits, &errors);
  if (!errors.empty()) return errors.ToStatus();
  return change;
}

std::string EventChangeId(std::string_view prefix, std::string_view key) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
  return absl::StrCat(
      std::string(prefix), "-",
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 12)));
}

absl::StatusOr<EventChanges> Keep(EventChange change, const Origin& at, const Limits& limits,
                                  EventChanges out) {
  InputErrorList errors;
  Validate(change.change, at, limits, &errors);
  if (!errors.empty()) return errors.ToStatus();
  out.changes.push_back(std::move(change));
  return out;
}

std::string LastPathSegment(std::string_view s) {
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  size_t slash = s.rfind('/');
  return std::string(slash == std::string_view::npos ? s : s.substr(slash + 1));
}

}  // namespace triage::collectors
