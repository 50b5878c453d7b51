#include "triage/auth/auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_format.h"

namespace triage::auth {

namespace {

constexpr size_t kMaxVerified = 4096;

bool EqualConstantTime(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

absl::Status Unauthenticated(std::string why) { return absl::UnauthenticatedError(why); }

}  // namespace

Authenticator::Authenticator(const Clock& clock, Metrics& metrics)
    : clock_(clock), metrics_(metrics) {}

void Authenticator::Set(std::shared_ptr<const WebConfig> config) {
  absl::MutexLock lock(&mu_);
  config_ = std::move(config);
  verified_.clear();
}

std::shared_ptr<const WebConfig> Authenticator::config() const {
  absl::MutexLock lock(&mu_);
  return config_;
}

bool Authenticator::enabled() const {
  std::shared_ptr<const WebConfig> c = config();
  return c != nullptr && c->auth();
}

std::string Authenticator::Challenge() const {
  std::shared_ptr<const WebConfig> c = config();
  std::vector<std::string> schemes;
  if (c != nullptr && !c->basic_auth_users.empty()) {
    schemes.push_back("Basic realm=\"triage\", charset=\"UTF-8\"");
  }
  if (c != nullptr && !c->bearer_tokens.empty()) schemes.push_back("Bearer realm=\"triage\"");
  return absl::StrJoin(schemes, ", ");
}

bool Authenticator::CheckPassword(const std::string& user, const std::string& hash,
                                  std::string_view password) const {
  std::string key = Sha256Hex(absl::StrFormat("%s\n%s\n%s", user, hash, password));
  {
    absl::MutexLock lock(&mu_);
    if (verified_.contains(key)) return true;
  }
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_r(std::string(password).c_str(), hash.c_str(), data.get());
  bool ok = out != nullptr && EqualConstantTime(out, hash);
  if (ok) {
    absl::MutexLock lock(&mu_);
    if (verified_.size() >= kMaxVerified) verified_.clear();
    verified_[key] = true;
  }
  return ok;
}

absl::StatusOr<Principal> Authenticator::Authenticate(std::string_view authorization) const {
  std::shared_ptr<const WebConfig> c = config();
  if (c == nullptr || !c->auth()) return Principal{"anonymous", RoleSet::All()};
  auto fail = [&](const char* reason, std::string why) {
    metrics_.auth_failures.Add({{"reason", reason}}).Increment();
    return Unauthenticated(std::move(why));
  };
  if (authorization.empty()) return fail("missing", "credentials required");
  size_t space = authorization.find(' ');
  std::string scheme = absl::AsciiStrToLower(std::string(authorization.substr(0, space)));
  std::string_view value = space == std::string_view::npos ? "" : authorization.substr(space + 1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (scheme == "basic") {
    std::string decoded;
    if (!absl::Base64Unescape(std::string(value), &decoded)) {
      return fail("malformed", "malformed Basic credentials");
    }
    size_t colon = decoded.find(':');
    if (colon == std::string::npos) return fail("malformed", "malformed Basic credentials");
    std::string user = decoded.substr(0, colon);
    if (c->basic_auth_users.empty()) return fail("wrong_password", "wrong user name or password");
    auto it = c->basic_auth_users.find(user);
    // An unknown user still costs a bcrypt check, so timing does not tell.
    const std::string& hash = it != c->basic_auth_users.end() ? it->second
                                                               : c->basic_auth_users.begin()->second;
    bool ok = CheckPassword(user, hash, std::string_view(decoded).substr(colon + 1));
    if (!ok || it == c->basic_auth_users.end()) {
      return fail("wrong_password", "wrong user name or password");
    }
    auto roles = c->user_roles.find(user);
    return Principal{user, roles != c->user_roles.end() ? roles->second : RoleSet::All()};
  }
  if (scheme == "bearer") {
    std::string digest = Sha256Hex(value);
    for (const BearerToken& t : c->bearer_tokens) {
      if (!EqualConstantTime(digest, t.sha256_hex)) continue;
      if (t.expires_ms && clock_.NowMs() >= *t.expires_ms) {
        return fail("expired", absl::StrFormat("token %s has expired", t.name));
      }
      return Principal{t.name.empty() ? "token" : t.name, t.roles};
    }
    return fail("unknown_token", "unknown bearer token");
  }
  return fail("malformed", "unsupported authorization scheme (Basic or Bearer)");
}

v1::Role RoleOf(const google::protobuf::MethodDescriptor* method) {
  if (method == nullptr || !method->options().HasExtension(v1::role)) return v1::ROLE_UNSPECIFIED;
  return method->options().GetExtension(v1::role);
}

absl::Status Authorize(const Principal& who, v1::Role needed, std::string_view what) {
  if (who.roles.Grants(needed)) return absl::OkStatus();
  if (needed == v1::ROLE_UNSPECIFIED) {
    return absl::PermissionDeniedError(absl::StrFormat("%s declares no role", what));
  }
  return absl::PermissionDeniedError(absl::StrFormat(
      "%s (roles %s) may not call %s: it needs the %s role", who.name, who.roles.ToString(), what,
      RoleName(needed)));
}

bool VerifiesClientCertificates(const WebConfig* c) {
  return c != nullptr && c->tls && !c->tls->client_ca_file.empty() &&
         (c->tls->client_auth_type == "RequireAndVerifyClientCert" ||
          c->tls->client_auth_type == "VerifyClientCertIfGiven");
}

absl::Status GrpcGuard::Check(grpc::ServerContext* context,
                              const google::protobuf::MethodDescriptor* method) const {
  const std::string what =
      method != nullptr ? "/" + method->service()->full_name() + "/" + method->name() : "?";
  v1::Role needed = RoleOf(method);
  const auto& md = context->client_metadata();
  if (auto it = md.find(kGatewayHeader); it != md.end()) {
    if (EqualConstantTime(std::string_view(it->second.data(), it->second.size()),
                          gateway_secret_) &&
        needed != v1::ROLE_UNSPECIFIED) {
      return absl::OkStatus();  // The HTTP port has authorized it.
    }
    return absl::UnauthenticatedError("bad gateway credentials");
  }
  // A replica that presented a client certificate the CA verified (mTLS).
  if (needed == v1::PEER && VerifiesClientCertificates(auth_.config().get()) &&
      context->auth_context() != nullptr && context->auth_context()->IsPeerAuthenticated()) {
    return absl::OkStatus();
  }
  std::string_view authorization;
  if (auto it = md.find("authorization"); it != md.end()) {
    authorization = std::string_view(it->second.data(), it->second.size());
  }
  absl::StatusOr<Principal> who = auth_.Authenticate(authorization);
  if (!who.ok()) return who.status();
  return Authorize(*who, needed, what);
}

std::string RandomSecret() {
  unsigned char bytes[32];
  RAND_bytes(bytes, sizeof(bytes));
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(bytes), sizeof(bytes)));
}

}  // namespace triage::auth
