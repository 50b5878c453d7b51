#include "triage/auth/web_config.h"

#include <crypt.h>
#include <openssl/evp.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "collectors/yaml_reader.h"
#include "proto/model/time.h"
#include "triage/net/tls.h"

namespace triage::auth {

namespace {

constexpr std::pair<std::string_view, v1::Role> kRoles[] = {
    {"ingest", v1::INGEST}, {"read", v1::READ}, {"operate", v1::OPERATE}, {"admin", v1::ADMIN}, {"peer", v1::PEER}};

// Errors name the line ("web.yml:7: ...").
class Reader : public collectors::YamlReader {
 public:
  using YamlReader::YamlReader;

  absl::StatusOr<std::string> String(const YAML::Node& n, std::string_view what) const {
    if (!n.IsScalar()) return Error(n, absl::StrFormat("%s must be a string", what));
    return n.as<std::string>();
  }

  // A file named relative to the config file.
  std::string File(const std::string& name) const {
    if (name.empty() || name.front() == '/') return name;
    return (std::filesystem::path(path()).parent_path() / name).string();
  }

  absl::StatusOr<RoleSet> Roles(const YAML::Node& n) const {
    RoleSet roles;
    std::vector<YAML::Node> items;
    if (n.IsScalar()) {
      items.push_back(n);
    } else if (n.IsSequence()) {
      for (const auto& item : n) items.push_back(item);
    } else {
      return Error(n, "roles must be a role or a list of roles");
    }
    for (const YAML::Node& item : items) {
      std::optional<v1::Role> role = RoleFromName(item.as<std::string>());
      if (!role) {
        return Error(item, absl::StrFormat("unknown role \"%s\" (ingest, read, operate, admin)",
                                           item.as<std::string>()));
      }
      roles.Add(*role);
    }
    return roles;
  }
};

bool IsBcrypt(const std::string& hash) {
  if (hash.size() != 60 || hash[0] != '$' || hash[1] != '2' ||
      (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') || hash[3] != '$') {
    return false;
  }
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_r("probe", hash.c_str(), data.get());
  return out != nullptr && out[0] == '$';
}

absl::Status ReadTls(const Reader& r, const YAML::Node& n, WebConfig* c) {
  if (absl::Status s = r.Keys(n,
                              {"cert_file", "key_file", "client_ca_file", "client_auth_type",
                               "min_version", "max_version", "cipher_suites",
                               "prefer_server_cipher_suites", "curve_preferences",
                               "client_allowed_sans"},
                              "tls_server_config");
      !s.ok()) {
    return s;
  }
  net::TlsServerConfig tls;
  auto get = [&](const char* key, std::string* out) -> absl::Status {
    if (!n[key]) return absl::OkStatus();
    absl::StatusOr<std::string> v = r.String(n[key], key);
    if (!v.ok()) return v.status();
    *out = *v;
    return absl::OkStatus();
  };
  for (auto [key, out] : {std::pair{"cert_file", &tls.cert_file}, {"key_file", &tls.key_file},
                          {"client_ca_file", &tls.client_ca_file},
                          {"client_auth_type", &tls.client_auth_type},
                          {"min_version", &tls.min_version}, {"max_version", &tls.max_version}}) {
    if (absl::Status s = get(key, out); !s.ok()) return s;
  }
  if (n["cipher_suites"]) {
    for (const auto& suite : n["cipher_suites"]) tls.cipher_suites.push_back(suite.as<std::string>());
  }
  if (tls.cert_file.empty()) return r.Error(n, "missing cert_file");
  if (tls.key_file.empty()) return r.Error(n, "missing key_file");
  tls.cert_file = r.File(tls.cert_file);
  tls.key_file = r.File(tls.key_file);
  tls.client_ca_file = r.File(tls.client_ca_file);
  absl::StatusOr<std::shared_ptr<ssl_ctx_st>> ctx = net::NewServerTlsContext(tls);
  if (!ctx.ok()) return r.Error(n, std::string(ctx.status().message()));
  c->tls = std::move(tls);
  return absl::OkStatus();
}

absl::Status ReadTokens(const Reader& r, const YAML::Node& n, WebConfig* c) {
  if (!n.IsSequence()) return r.Error(n, "bearer_tokens must be a list");
  for (const auto& item : n) {
    if (absl::Status s = r.Keys(item, {"name", "sha256", "roles", "expires"}, "bearer_tokens");
        !s.ok()) {
      return s;
    }
    BearerToken t;
    if (item["name"]) t.name = item["name"].as<std::string>();
    if (!item["sha256"]) return r.Error(item, "a bearer token needs sha256 (of the token)");
    t.sha256_hex = item["sha256"].as<std::string>();
    if (t.sha256_hex.size() != 64 ||
        t.sha256_hex.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return r.Error(item["sha256"], "sha256 must be 64 lower-case hex digits");
    }
    if (item["roles"]) {
      absl::StatusOr<RoleSet> roles = r.Roles(item["roles"]);
      if (!roles.ok()) return roles.status();
      t.roles = *roles;
    }
    if (item["expires"]) {
      absl::StatusOr<int64_t> ms = ParseRfc3339(item["expires"].as<std::string>());
      if (!ms.ok()) return r.Error(item["expires"], std::string(ms.status().message()));
      t.expires_ms = *ms;
    }
    c->bearer_tokens.push_back(std::move(t));
  }
  return absl::OkStatus();
}

}  // namespace

RoleSet RoleSet::All() { return Of({v1::ADMIN}); }

RoleSet RoleSet::Of(std::initializer_list<v1::Role> roles) {
  RoleSet s;
  for (v1::Role r : roles) s.Add(r);
  return s;
}

bool RoleSet::Grants(v1::Role needed) const {
  if (needed == v1::PUBLIC) return true;
  if (needed == v1::ROLE_UNSPECIFIED) return false;
  auto has = [&](v1::Role r) { return (bits_ & (1u << r)) != 0; };
  if (has(v1::ADMIN) || has(needed)) return true;
  return needed == v1::READ && has(v1::OPERATE);
}

std::string RoleSet::ToString() const {
  if (Grants(v1::ADMIN)) return "all";
  std::vector<std::string> names;
  for (const auto& [name, role] : kRoles) {
    if ((bits_ & (1u << role)) != 0) names.emplace_back(name);
  }
  return absl::StrJoin(names, ",");
}

std::optional<v1::Role> RoleFromName(std::string_view name) {
  for (const auto& [n, role] : kRoles) {
    if (n == name) return role;
  }
  return std::nullopt;
}

std::string_view RoleName(v1::Role role) {
  if (role == v1::PUBLIC) return "public";
  for (const auto& [n, r] : kRoles) {
    if (r == role) return n;
  }
  return "unspecified";
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), digest, &n, EVP_sha256(), nullptr);
  std::string out;
  for (unsigned int i = 0; i < n; ++i) absl::StrAppendFormat(&out, "%02x", digest[i]);
  return out;
}

absl::StatusOr<WebConfig> LoadWebConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::InvalidArgumentError(absl::StrFormat("%s: cannot open", path));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Reader r(path);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s:%d: %s", path, e.mark.line + 1, e.msg));
  }
  WebConfig c;
  c.path = path;
  if (root.IsNull()) return c;  // An empty file: no TLS, no auth.
  try {
    if (absl::Status s = r.Keys(root,
                                {"tls_server_config", "http_server_config", "basic_auth_users",
                                 "user_roles", "bearer_tokens", "allowed_hosts"},
                                "the web config");
        !s.ok()) {
      return s;
    }
    if (root["tls_server_config"]) {
      if (absl::Status s = ReadTls(r, root["tls_server_config"], &c); !s.ok()) return s;
    }
    if (const YAML::Node& h = root["http_server_config"]) {
      if (absl::Status s = r.Keys(h, {"headers", "http2"}, "http_server_config"); !s.ok()) return s;
      if (h["headers"]) {
        for (const auto& kv : h["headers"]) {
          c.headers.emplace_back(kv.first.as<std::string>(), kv.second.as<std::string>());
        }
      }
      if (h["http2"]) c.warnings.push_back("http_server_config.http2: triaged serves HTTP/1.1");
    }
    if (const YAML::Node& users = root["basic_auth_users"]) {
      if (!users.IsMap()) return r.Error(users, "basic_auth_users must be a mapping");
      for (const auto& kv : users) {
        std::string user = kv.first.as<std::string>();
        std::string hash = kv.second.as<std::string>();
        if (!IsBcrypt(hash)) {
          return r.Error(kv.second,
                         absl::StrFormat("the password of %s is not a bcrypt hash", user));
        }
        c.basic_auth_users[user] = hash;
      }
    }
    if (const YAML::Node& roles = root["user_roles"]) {
      if (!roles.IsMap()) return r.Error(roles, "user_roles must be a mapping");
      for (const auto& kv : roles) {
        std::string user = kv.first.as<std::string>();
        if (!c.basic_auth_users.contains(user)) {
          return r.Error(kv.first, absl::StrFormat("user_roles names %s, who is not in "
                                                   "basic_auth_users",
                                                   user));
        }
        absl::StatusOr<RoleSet> set = r.Roles(kv.second);
        if (!set.ok()) return set.status();
        c.user_roles[user] = *set;
      }
    }
    if (root["bearer_tokens"]) {
      if (absl::Status s = ReadTokens(r, root["bearer_tokens"], &c); !s.ok()) return s;
    }
    if (const YAML::Node& hosts = root["allowed_hosts"]) {
      if (!hosts.IsSequence()) return r.Error(hosts, "allowed_hosts must be a list");
      for (const auto& h : hosts) c.allowed_hosts.push_back(h.as<std::string>());
    }
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrFormat("%s:%d: %s", path, e.mark.line + 1, e.msg));
  }
  if (c.tls && !c.tls->cipher_suites.empty()) {
    c.warnings.push_back("tls_server_config.cipher_suites: OpenSSL's defaults apply");
  }
  return c;
}

}  // namespace triage::auth
