// TLS contexts for triaged's listeners, from a web config's
// tls_server_config (OpenSSL): the certificate chain and key, TLS versions,
// and client certificates per client_auth_type. Pure; thread-safe.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "triage/server/web_config.h"

struct ssl_ctx_st;

namespace triage::server {

// A server context; InvalidArgument names what could not be loaded.
absl::StatusOr<std::shared_ptr<ssl_ctx_st>> NewServerTlsContext(const TlsServerConfig& tls);

// OpenSSL's reason for the last failure on this thread (and clears it).
std::string OpenSslError();

}  // namespace triage::server
