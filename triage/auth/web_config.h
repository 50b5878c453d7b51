// The web config (--web-config-file): the YAML of Prometheus and
// Alertmanager's --web.config.file, so an existing one works unchanged, plus
// triage's own keys for roles, tokens and host names:
//
//   tls_server_config:              # Prometheus: TLS on both ports
//     cert_file: server.crt
//     key_file: server.key
//     client_ca_file: ca.crt        # with client_auth_type, mutual TLS
//     client_auth_type: RequireAndVerifyClientCert
//     min_version: TLS12
//   http_server_config:
//     headers: {Strict-Transport-Security: max-age=31536000}
//   basic_auth_users:               # Prometheus: user -> bcrypt hash
//     alice: $2y$10$...
//   user_roles:                     # triage: a user's roles (absent: every role)
//     alice: [operate]
//   bearer_tokens:                  # triage: tokens by SHA-256, each with roles
//     - name: prometheus
//       sha256: 5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8
//       roles: [ingest]
//       expires: 2027-01-01T00:00:00Z
//   allowed_hosts: [triage.example.com]   # triage: the Host header must be one
//
// Files named in it are read (never echoed); relative paths are relative to
// the config file. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "triage/net/tls.h"
#include "triage/v1/auth.pb.h"

namespace triage::auth {

// The roles a principal holds; ADMIN implies every role, OPERATE implies READ.
class RoleSet {
 public:
  static RoleSet All();
  static RoleSet Of(std::initializer_list<v1::Role> roles);
  void Add(v1::Role role) { bits_ |= 1u << role; }
  bool Grants(v1::Role needed) const;
  std::string ToString() const;  // "ingest,read" or "all"

 private:
  uint32_t bits_ = 0;
};

// "ingest" -> INGEST, ...; nullopt for anything else.
std::optional<v1::Role> RoleFromName(std::string_view name);
std::string_view RoleName(v1::Role role);

struct BearerToken {
  std::string name;
  std::string sha256_hex;  // Lower-case hex of SHA-256(token).
  RoleSet roles = RoleSet::All();
  std::optional<int64_t> expires_ms;
};

struct WebConfig {
  std::string path;  // Where it was read from.
  std::optional<net::TlsServerConfig> tls;
  std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt hash
  std::map<std::string, RoleSet> user_roles;
  std::vector<BearerToken> bearer_tokens;
  std::vector<std::string> allowed_hosts;
  std::vector<std::pair<std::string, std::string>> headers;  // Added to every HTTP response.
  std::vector<std::string> warnings;  // Accepted but not applied (cipher_suites, http2).

  // True when requests must carry credentials.
  bool auth() const { return !basic_auth_users.empty() || !bearer_tokens.empty(); }
};

// Reads and checks a web config: YAML syntax, unknown keys (with their line),
// bcrypt hashes, roles, token hashes, TLS versions and client auth types, and
// that the certificate and key load. InvalidArgument says what is wrong.
absl::StatusOr<WebConfig> LoadWebConfig(const std::string& path);

// Lower-case hex SHA-256.
std::string Sha256Hex(std::string_view data);

}  // namespace triage::auth
