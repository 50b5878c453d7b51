// Who is calling and what they may do, the same on both ports.
//
// Authenticator turns an Authorization header (Basic, checked against the
// web config's bcrypt hashes with the system's crypt(); or Bearer, looked up
// by SHA-256) into a Principal with roles. GrpcGuard applies it to every RPC
// from the method's `role` option (proto/triage/v1/auth.proto); the HTTP
// port applies it per route (triage/api/http.cc). Without a web config
// that names users or tokens, every caller has every role (and triaged then
// listens on loopback only). Credentials never reach a log, a metric or an
// error message.
//
// Thread-safe: Set() swaps the config atomically (SIGHUP); checks in flight
// finish with the config they started with.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/server_context.h"
#include "triage/base/clock.h"
#include "triage/base/metrics.h"
#include "triage/auth/web_config.h"

namespace triage::auth {

struct Principal {
  std::string name;  // The user or token name; "anonymous" when auth is off.
  RoleSet roles;
};

class Authenticator {
 public:
  Authenticator(const Clock& clock, Metrics& metrics);

  // Installs a config (nullptr: no auth).
  void Set(std::shared_ptr<const WebConfig> config);
  std::shared_ptr<const WebConfig> config() const;
  bool enabled() const;

  // The principal behind an Authorization header value (empty: none sent).
  // Unauthenticated when credentials are missing, malformed, wrong, unknown
  // or expired; the message says which, never what was sent.
  absl::StatusOr<Principal> Authenticate(std::string_view authorization) const;
  // The WWW-Authenticate challenge of a 401.
  std::string Challenge() const;

 private:
  bool CheckPassword(const std::string& user, const std::string& hash,
                     std::string_view password) const;

  const Clock& clock_;
  Metrics& metrics_;
  mutable absl::Mutex mu_;
  std::shared_ptr<const WebConfig> config_ ABSL_GUARDED_BY(mu_);
  // Verified (user, password, hash) digests: bcrypt is slow on purpose, so a
  // client sending the same password on every request pays for it once.
  mutable absl::flat_hash_map<std::string, bool> verified_ ABSL_GUARDED_BY(mu_);
};

// True when the config's TLS verifies client certificates against its CA:
// then a verified certificate (mTLS) holds the PEER role.
bool VerifiesClientCertificates(const WebConfig* config);

// The role an RPC declares; ROLE_UNSPECIFIED (refused) when it declares none.
v1::Role RoleOf(const google::protobuf::MethodDescriptor* method);

// PermissionDenied unless `who` holds `needed`.
absl::Status Authorize(const Principal& who, v1::Role needed, std::string_view what);

// The check every gRPC method makes first. The JSON gateway's in-process
// calls carry a per-process secret instead of credentials: HTTP has already
// checked them.
class GrpcGuard {
 public:
  static constexpr char kGatewayHeader[] = "x-triage-gateway";

  GrpcGuard(const Authenticator& auth, std::string gateway_secret)
      : auth_(auth), gateway_secret_(std::move(gateway_secret)) {}

  // OK, Unauthenticated or PermissionDenied for calling `method` (the
  // service converts it at its edge).
  absl::Status Check(grpc::ServerContext* context,
                     const google::protobuf::MethodDescriptor* method) const;
  const std::string& gateway_secret() const { return gateway_secret_; }

 private:
  const Authenticator& auth_;
  const std::string gateway_secret_;
};

// 32 random bytes as hex (the gateway secret).
std::string RandomSecret();

}  // namespace triage::auth
