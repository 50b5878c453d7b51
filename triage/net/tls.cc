#include "triage/net/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "absl/strings/str_format.h"

namespace triage::net {

namespace {

absl::StatusOr<int> Version(const std::string& name) {
  if (name == "TLS10") return TLS1_VERSION;
  if (name == "TLS11") return TLS1_1_VERSION;
  if (name == "TLS12") return TLS1_2_VERSION;
  if (name == "TLS13") return TLS1_3_VERSION;
  return absl::InvalidArgumentError("unknown TLS version: " + name);
}

int AcceptAny(int, X509_STORE_CTX*) { return 1; }

}  // namespace

absl::StatusOr<std::shared_ptr<ssl_ctx_st>> NewServerTlsContext(const TlsServerConfig& tls) {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (ctx == nullptr) return absl::InternalError("tls: " + OpenSslError());
  absl::StatusOr<int> min = Version(tls.min_version);
  if (!min.ok()) return min.status();
  absl::StatusOr<int> max = Version(tls.max_version);
  if (!max.ok()) return max.status();
  if (*min > *max) return absl::InvalidArgumentError("min_version is above max_version");
  SSL_CTX_set_min_proto_version(ctx.get(), *min);
  SSL_CTX_set_max_proto_version(ctx.get(), *max);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), tls.cert_file.c_str()) != 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("cannot load cert_file %s: %s", tls.cert_file, OpenSslError()));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("cannot load key_file %s: %s", tls.key_file, OpenSslError()));
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return absl::InvalidArgumentError("key_file does not match cert_file");
  }
  const std::string& type = tls.client_auth_type;
  const bool verify = type == "VerifyClientCertIfGiven" || type == "RequireAndVerifyClientCert";
  if (verify && tls.client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("client_auth_type %s needs client_ca_file", type));
  }
  if (!tls.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), tls.client_ca_file.c_str(), nullptr) != 1) {
      return absl::InvalidArgumentError(
          absl::StrFormat("cannot load client_ca_file %s: %s", tls.client_ca_file, OpenSslError()));
    }
    SSL_CTX_set_client_CA_list(ctx.get(), SSL_load_client_CA_file(tls.client_ca_file.c_str()));
  }
  if (type == "NoClientCert" || type.empty()) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  } else if (type == "RequestClientCert") {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, AcceptAny);
  } else if (type == "RequireAnyClientCert") {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, AcceptAny);
  } else if (type == "VerifyClientCertIfGiven") {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  } else if (type == "RequireAndVerifyClientCert") {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  } else {
    return absl::InvalidArgumentError(absl::StrFormat(
        "invalid client_auth_type %s (NoClientCert, RequestClientCert, RequireAnyClientCert, "
        "VerifyClientCertIfGiven, RequireAndVerifyClientCert)",
        type));
  }
  return ctx;
}

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return e == 0 ? "unknown error" : buf;
}

}  // namespace triage::net
