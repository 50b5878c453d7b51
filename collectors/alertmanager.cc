#include "collectors/alertmanager.h"

#include "google/protobuf/util/json_util.h"

namespace triage::collectors {

absl::StatusOr<v1::AlertmanagerWebhook> ParseAlertmanagerWebhook(std::string_view body,
                                                                 const Limits& limits) {
  v1::AlertmanagerWebhook hook;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(body.data(), body.size()), &hook, options);
  if (!parsed.ok()) {
    return InvalidField("body", "not an Alertmanager webhook: " + std::string(parsed.message()));
  }
  InputErrorList errors;
  Validate(hook, Origin{}, limits, &errors);
  if (!errors.empty()) return errors.ToStatus();
  return hook;
}

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding: '+' is a space, %XX a byte.
std::string FormDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && HexDigit(s[i + 1]) >= 0 &&
               HexDigit(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

std::string GeneratorExpr(std::string_view url) {
  size_t q = url.find('?');
  if (q == std::string_view::npos) return "";
  std::string_view query = url.substr(q + 1);
  if (size_t hash = query.find('#'); hash != std::string_view::npos) query = query.substr(0, hash);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    if (pair.substr(0, 8) == "g0.expr=") return FormDecode(pair.substr(8));
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  return "";
}

}  // namespace triage::collectors
