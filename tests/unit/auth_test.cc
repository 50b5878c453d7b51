#include "triage/auth/auth.h"

#include <fstream>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "prometheus/registry.h"
#include "triage/auth/web_config.h"
#include "triage/v1/drill.pb.h"
#include "triage/v1/service.pb.h"

namespace triage::auth {
namespace {

using ::testing::HasSubstr;

// bcrypt("secret"), cost 4 (cheap for tests).
constexpr char kHash[] = "$2b$04$gtkcOfNv.MCNcA47YoSTructgSum5txDBU18RRLF9XfVKQ1lOv.6u";
constexpr int64_t kNow = 1'790'000'000'000;

std::string Write(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

std::string Basic(const std::string& user, const std::string& password) {
  return "Basic " + absl::Base64Escape(user + ":" + password);
}

TEST(RoleSetTest, AdminGrantsEverythingAndOperateGrantsRead) {
  EXPECT_TRUE(RoleSet::All().Grants(v1::INGEST));
  EXPECT_TRUE(RoleSet::Of({v1::OPERATE}).Grants(v1::READ));
  EXPECT_FALSE(RoleSet::Of({v1::OPERATE}).Grants(v1::INGEST));
  EXPECT_FALSE(RoleSet::Of({v1::READ}).Grants(v1::OPERATE));
  EXPECT_FALSE(RoleSet::Of({v1::INGEST}).Grants(v1::READ));
  EXPECT_TRUE(RoleSet().Grants(v1::PUBLIC));
  EXPECT_FALSE(RoleSet::All().Grants(v1::ROLE_UNSPECIFIED));
  EXPECT_EQ(RoleSet::Of({v1::READ, v1::INGEST}).ToString(), "ingest,read");
}

TEST(WebConfigTest, ReadsPrometheusKeysAndTriagesOwn) {
  std::string path = Write("web-ok.yml", std::string("basic_auth_users:\n  alice: ") + kHash +
                                             "\n  bob: " + kHash +
                                             "\nuser_roles:\n  bob: [read, ingest]\n"
                                             "bearer_tokens:\n  - name: prom\n    sha256: " +
                                             Sha256Hex("tok") +
                                             "\n    roles: ingest\n    expires: "
                                             "2030-01-01T00:00:00Z\n"
                                             "allowed_hosts: [triage.example.com]\n"
                                             "http_server_config:\n  headers:\n    X-A: b\n");
  absl::StatusOr<WebConfig> c = LoadWebConfig(path);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->auth());
  EXPECT_EQ(c->basic_auth_users.size(), 2u);
  EXPECT_EQ(c->user_roles.at("bob").ToString(), "ingest,read");
  ASSERT_EQ(c->bearer_tokens.size(), 1u);
  EXPECT_FALSE(c->bearer_tokens[0].roles.Grants(v1::READ));
  EXPECT_EQ(c->allowed_hosts[0], "triage.example.com");
  EXPECT_EQ(c->headers[0].first, "X-A");
}

TEST(WebConfigTest, RefusesWhatPromtoolWouldAndMore) {
  auto error = [](const std::string& name, const std::string& text) {
    absl::StatusOr<WebConfig> c = LoadWebConfig(Write(name, text));
    return c.ok() ? std::string("ok") : std::string(c.status().message());
  };
  EXPECT_THAT(error("w1.yml", "basic_auth_users:\n  a: notbcrypt\n"),
              HasSubstr("w1.yml:2: the password of a is not a bcrypt hash"));
  EXPECT_THAT(error("w2.yml", "foo: 1\n"), HasSubstr("w2.yml:1: field foo not found"));
  EXPECT_THAT(error("w3.yml", "tls_server_config:\n  cert_file: x.crt\n"), HasSubstr("missing key_file"));
  EXPECT_THAT(error("w4.yml", "tls_server_config:\n  cert_file: /nope.crt\n  key_file: /nope.key\n"),
              HasSubstr("cannot load cert_file /nope.crt"));
  EXPECT_THAT(error("w5.yml", std::string("basic_auth_users:\n  a: ") + kHash +
                                  "\nuser_roles:\n  a: [root]\n"),
              HasSubstr("unknown role \"root\""));
  EXPECT_THAT(error("w6.yml", "bearer_tokens:\n  - sha256: abc\n"), HasSubstr("64 lower-case hex"));
  EXPECT_THAT(error("w7.yml", "basic_auth_users: [\n"), HasSubstr("w7.yml:"));
  EXPECT_EQ(error("w8.yml", ""), "ok");
}

class AuthenticatorTest : public ::testing::Test {
 protected:
  AuthenticatorTest() : metrics_(registry_), clock_(kNow), auth_(clock_, metrics_) {
    auto c = std::make_shared<WebConfig>();
    c->basic_auth_users["alice"] = kHash;
    c->basic_auth_users["bob"] = kHash;
    c->user_roles["bob"] = RoleSet::Of({v1::READ});
    c->bearer_tokens.push_back({"prom", Sha256Hex("tok"), RoleSet::Of({v1::INGEST}), std::nullopt});
    c->bearer_tokens.push_back({"old", Sha256Hex("old"), RoleSet::All(), kNow - 1});
    auth_.Set(c);
  }
  prometheus::Registry registry_;
  Metrics metrics_;
  FakeClock clock_;
  Authenticator auth_;
};

TEST_F(AuthenticatorTest, BasicAndBearer) {
  absl::StatusOr<Principal> alice = auth_.Authenticate(Basic("alice", "secret"));
  ASSERT_TRUE(alice.ok()) << alice.status();
  EXPECT_TRUE(alice->roles.Grants(v1::ADMIN)) << "a user given no role has every role";
  absl::StatusOr<Principal> bob = auth_.Authenticate(Basic("bob", "secret"));
  ASSERT_TRUE(bob.ok());
  EXPECT_FALSE(Authorize(*bob, v1::OPERATE, "x").ok());
  EXPECT_THAT(std::string(Authorize(*bob, v1::OPERATE, "Resolve").message()),
              HasSubstr("bob (roles read) may not call Resolve: it needs the operate role"));
  absl::StatusOr<Principal> prom = auth_.Authenticate("Bearer tok");
  ASSERT_TRUE(prom.ok());
  EXPECT_EQ(prom->name, "prom");
  EXPECT_TRUE(Authorize(*prom, v1::INGEST, "x").ok());
}

TEST_F(AuthenticatorTest, RefusalsNeverEchoCredentials) {
  for (const std::string& header :
       {Basic("alice", "wrong-pw-1234"), Basic("mallory", "secret"), std::string("Bearer nope-9876"),
        std::string("Bearer old"), std::string(""), std::string("Digest x"),
        std::string("Basic !!!")}) {
    absl::StatusOr<Principal> p = auth_.Authenticate(header);
    ASSERT_FALSE(p.ok()) << header;
    EXPECT_TRUE(absl::IsUnauthenticated(p.status()));
    std::string message(p.status().message());
    EXPECT_EQ(message.find("wrong-pw-1234"), std::string::npos);
    EXPECT_EQ(message.find("nope-9876"), std::string::npos);
    EXPECT_EQ(message.find("mallory"), std::string::npos);
  }
  EXPECT_THAT(std::string(auth_.Authenticate("Bearer old").status().message()),
              HasSubstr("expired"));
  EXPECT_THAT(auth_.Challenge(), HasSubstr("Basic realm=\"triage\""));
  EXPECT_THAT(auth_.Challenge(), HasSubstr("Bearer realm=\"triage\""));
}

TEST(RoleOfTest, EveryRpcDeclaresItsRole) {
  const google::protobuf::FileDescriptor* files[] = {v1::TriageRequest::descriptor()->file(),
                                                      v1::Drill::descriptor()->file()};
  int methods = 0;
  for (const google::protobuf::FileDescriptor* f : files) {
    for (int s = 0; s < f->service_count(); ++s) {
      for (int m = 0; m < f->service(s)->method_count(); ++m) {
        const google::protobuf::MethodDescriptor* method = f->service(s)->method(m);
        EXPECT_NE(RoleOf(method), v1::ROLE_UNSPECIFIED) << method->full_name();
        ++methods;
      }
    }
  }
  EXPECT_GE(methods, 22);
  EXPECT_EQ(RoleOf(v1::TriageRequest::descriptor()->file()->FindServiceByName("RulesService")
                       ->FindMethodByName("ReloadTree")),
            v1::ADMIN);
}

}  // namespace
}  // namespace triage::auth
