#include "triage/ctl/rpc.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "proto/model/time.h"
#include "triage/ctl/client.h"

namespace triage::ctl {

namespace {

struct Connection {
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  std::string authorization;  // "Basic ..." or "Bearer ...", sent with every call.
};

Connection& TheConnection() {
  static Connection connection;
  return connection;
}

absl::StatusOr<std::string> ReadSecret(const CommandLine& args, const char* flag) {
  std::string path = args.Get(flag);
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrFormat("--%s: cannot read %s", flag, path));
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

std::shared_ptr<grpc::Channel> Channel(const std::string& server) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(64 << 20);
  return grpc::CreateCustomChannel(server, TheConnection().credentials, args);
}

void CloseConnection() { TheConnection().credentials.reset(); }

void Deadline(grpc::ClientContext* ctx, int seconds) {
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
  if (!TheConnection().authorization.empty()) {
    ctx->AddMetadata("authorization", TheConnection().authorization);
  }
}

int Failed(const grpc::Status& s) {
  std::cerr << "triagectl: " << s.error_message() << "\n";
  switch (s.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::PERMISSION_DENIED:
      return kBadInput;
    default:
      return kServerError;
  }
}

bool ParseTime(const std::string& text, google::protobuf::Timestamp* out, std::string* error) {
  if (text == "now") {
    *out = FromMs(std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count());
    return true;
  }
  absl::StatusOr<int64_t> t = ParseRfc3339(text);
  if (t.ok()) {
    *out = FromMs(*t);
    return true;
  }
  char* end = nullptr;
  long long ms = std::strtoll(text.c_str(), &end, 10);
  if (end != text.c_str() && *end == '\0') {
    *out = FromMs(ms);
    return true;
  }
  *error = std::string(t.status().message());
  return false;
}

absl::Status ConfigureConnection(const CommandLine& args) {
  Connection& c = TheConnection();
  if (args.Has("user") != args.Has("password-file")) {
    return absl::InvalidArgumentError("--user and --password-file go together");
  }
  if (args.Has("user")) {
    absl::StatusOr<std::string> password = ReadSecret(args, "password-file");
    if (!password.ok()) return password.status();
    c.authorization = "Basic " + absl::Base64Escape(args.Get("user") + ":" + *password);
  } else if (args.Has("token-file")) {
    absl::StatusOr<std::string> token = ReadSecret(args, "token-file");
    if (!token.ok()) return token.status();
    c.authorization = "Bearer " + *token;
  }
  const bool tls = args.Has("ca-file") || args.Has("cert-file") || args.Has("insecure-skip-verify");
  if (!tls) return absl::OkStatus();
  auto file = [&](const char* flag) -> absl::StatusOr<std::string> {
    if (!args.Has(flag)) return std::string();
    return ReadSecret(args, flag);
  };
  absl::StatusOr<std::string> ca = file("ca-file"), cert = file("cert-file"),
                              key = file("key-file");
  for (const auto* s : {&ca, &cert, &key}) {
    if (!s->ok()) return s->status();
  }
  if (args.Get("insecure-skip-verify") == "true") {
    // Tests only: any certificate, any host name.
    grpc::experimental::TlsChannelCredentialsOptions options;
    options.set_verify_server_certs(false);
    options.set_check_call_host(false);
    options.set_certificate_verifier(
        std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
    if (!cert->empty()) {
      options.set_certificate_provider(
          std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
              std::vector<grpc::experimental::IdentityKeyCertPair>{{*key + "\n", *cert + "\n"}}));
      options.watch_identity_key_cert_pairs();
    }
    c.credentials = grpc::experimental::TlsCredentials(options);
  } else {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = *ca;
    options.pem_private_key = *key;
    options.pem_cert_chain = *cert;
    c.credentials = grpc::SslCredentials(options);
  }
  return absl::OkStatus();
}

}  // namespace triage::ctl
