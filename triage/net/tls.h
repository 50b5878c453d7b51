// TLS contexts for triaged's listeners, from a web config's
// tls_server_config (OpenSSL): the certificate chain and key, TLS versions,
// and client certificates per client_auth_type. Pure; thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

struct ssl_ctx_st;

namespace triage::net {

// tls_server_config of a web config (the keys of Prometheus's --web.config.file).
struct TlsServerConfig {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
  std::string client_auth_type = "NoClientCert";
  std::string min_version = "TLS12";
  std::string max_version = "TLS13";
  std::vector<std::string> cipher_suites;  // Checked by name; TLS 1.3 suites are not configurable.
};

// A server context; InvalidArgument names what could not be loaded.
absl::StatusOr<std::shared_ptr<ssl_ctx_st>> NewServerTlsContext(const TlsServerConfig& tls);

// OpenSSL's reason for the last failure on this thread (and clears it).
std::string OpenSslError();

}  // namespace triage::net
