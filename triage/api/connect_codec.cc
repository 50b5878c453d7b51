#include "triage/api/connect_codec.h"

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "collectors/gzip.h"
#include "google/protobuf/util/json_util.h"
#include "proto/model/proto_json.h"

namespace triage::api {

namespace {

constexpr std::string_view kPackagePrefix = "/triage.v1.";
// Smaller answers go out as they are: gzip would save little and cost a header.
constexpr size_t kMinCompressBytes = 1024;

ConnectRequest Error(absl::StatusCode code, std::string message, int http_status = 0) {
  ConnectRequest r;
  r.error = absl::Status(code, message);
  r.http_status = http_status;
  return r;
}

// Debian's Abseil has its own string_view.
absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::string Lower(std::string_view s) {
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(Absl(s)));
}

// "gzip, br" / "gzip;q=1.0, identity;q=0.5": whether gzip is acceptable.
bool ListsGzip(std::string_view accept_encoding) {
  for (absl::string_view item : absl::StrSplit(Absl(accept_encoding), ',')) {
    std::vector<absl::string_view> parts = absl::StrSplit(item, ';');
    const std::string coding = Lower(std::string(parts[0]));
    if (coding != "gzip" && coding != "*") continue;
    bool refused = false;  // "gzip;q=0" says no.
    for (size_t i = 1; i < parts.size(); ++i) {
      std::string p = Lower(std::string(parts[i]));
      double q = 1;
      if (p.starts_with("q=") && absl::SimpleAtod(p.substr(2), &q) && q == 0) refused = true;
    }
    if (!refused) return true;
  }
  return false;
}

const google::protobuf::MethodDescriptor* MethodOf(std::string_view path) {
  // "/triage.v1.TriageService/Triage" -> "triage.v1.TriageService.Triage"
  std::string name(path.substr(path.empty() ? 0 : 1));
  size_t slash = name.find('/');
  if (!IsConnectPath(path) || slash == std::string::npos) return nullptr;
  name[slash] = '.';
  return google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(name);
}

// Reads the headers that are not the body's: codec, timeout, version,
// compression. Sets r->error when one is wrong.
void ReadHeaders(const ConnectHeaders& h, ConnectRequest* r) {
  std::string type = Lower(h.content_type.substr(0, h.content_type.find(';')));
  if (type == "application/json" || type.empty()) {  // curl -d sends none.
    r->codec = ConnectCodec::kJson;
  } else if (type == "application/proto") {
    r->codec = ConnectCodec::kProto;
  } else {
    r->error = absl::UnknownError(absl::StrFormat(
        "Content-Type must be application/json or application/proto, got \"%s\"", type));
    r->http_status = 415;
    r->error_headers.emplace_back("Accept-Post", "application/json, application/proto");
    return;
  }
  if (!h.protocol_version.empty() && Lower(h.protocol_version) != "1") {
    r->error = absl::InvalidArgumentError(absl::StrFormat(
        "Connect-Protocol-Version: \"%s\" is not supported (1)", h.protocol_version));
    return;
  }
  if (!h.timeout_ms.empty()) {
    int64_t ms = 0;
    std::string_view t = h.timeout_ms;
    if (t.size() > 10 || !absl::c_all_of(t, absl::ascii_isdigit) ||
        !absl::SimpleAtoi(Absl(t), &ms)) {
      r->error = absl::InvalidArgumentError(absl::StrFormat(
          "Connect-Timeout-Ms: \"%s\" is not a positive integer of at most 10 digits", t));
      return;
    }
    r->timeout_ms = ms;
  }
  std::string encoding = Lower(h.content_encoding);
  if (!encoding.empty() && encoding != "identity" && encoding != "gzip") {
    r->error = absl::UnimplementedError(absl::StrFormat(
        "Content-Encoding: unknown compression \"%s\": supported encodings are gzip", encoding));
    r->error_headers.emplace_back("Accept-Encoding", "gzip");
    return;
  }
  // Without Accept-Encoding, the client accepts the encoding it sent.
  r->accepts_gzip = h.accept_encoding.empty() ? encoding == "gzip" : ListsGzip(h.accept_encoding);
}

}  // namespace

bool IsConnectPath(std::string_view path) { return path.starts_with(kPackagePrefix); }

ConnectRequest DecodeConnectRequest(std::string_view path, const ConnectHeaders& headers,
                                    std::string_view body, size_t max_body_bytes) {
  const google::protobuf::MethodDescriptor* method = MethodOf(path);
  if (method == nullptr) {
    return Error(absl::StatusCode::kUnimplemented,
                 absl::StrFormat("no method %s", path.substr(path.empty() ? 0 : 1)), 404);
  }
  if (method->client_streaming() || method->server_streaming()) {
    return Error(absl::StatusCode::kUnimplemented,
                 absl::StrFormat("%s is a streaming method; use gRPC", path.substr(1)));
  }
  ConnectRequest r;
  r.method = method;
  ReadHeaders(headers, &r);
  if (!r.ok()) return r;

  std::string inflated;
  if (Lower(headers.content_encoding) == "gzip" && !body.empty()) {
    absl::StatusOr<std::string> plain = collectors::Gunzip(body, max_body_bytes);
    if (!plain.ok()) {
      r.error = plain.status();
      if (absl::IsResourceExhausted(plain.status())) r.http_status = 413;
      return r;
    }
    inflated = *std::move(plain);
    body = inflated;
  }
  r.message.reset(google::protobuf::MessageFactory::generated_factory()
                      ->GetPrototype(method->input_type())
                      ->New());
  const std::string& type = method->input_type()->full_name();
  if (r.codec == ConnectCodec::kProto) {
    if (!r.message->ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      r.error = absl::InvalidArgumentError(
          absl::StrFormat("request body is not a valid binary %s", type));
    }
    return r;
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // A client built from a newer proto.
  auto parsed = google::protobuf::util::JsonStringToMessage(
      body.empty() ? google::protobuf::StringPiece("{}")
                   : google::protobuf::StringPiece(body.data(), body.size()),
      r.message.get(), options);
  if (!parsed.ok()) {
    r.error = absl::InvalidArgumentError(
        absl::StrFormat("request body is not a valid %s: %s", type, std::string(parsed.message())));
  }
  return r;
}

net::HttpResponse ConnectResponse(const ConnectRequest& request,
                             const google::protobuf::Message& response) {
  net::HttpResponse r;
  r.status = 200;
  if (request.codec == ConnectCodec::kProto) {
    r.content_type = "application/proto";
    r.body = response.SerializeAsString();
  } else {
    r.content_type = "application/json";
    r.body = ProtoJson(response);
  }
  if (request.accepts_gzip && r.body.size() >= kMinCompressBytes) {
    r.body = collectors::Gzip(r.body);
    r.headers.emplace_back("Content-Encoding", "gzip");
  }
  r.headers.emplace_back("Vary", "Accept-Encoding");
  return r;
}

}  // namespace triage::api
