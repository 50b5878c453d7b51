#include "triage/net/http_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "triage/net/tls.h"

namespace triage::net {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

// Runs one exchange on `stream` (connected by then); the handshake for TLS.
template <class Stream>
struct Exchange {
  Stream& stream;
  http::request<http::string_body>& request;
  http::response_parser<http::string_body>& parser;
  beast::flat_buffer buffer = {};
  beast::error_code ec = {};
  const char* stage = "connect";

  void Send() {
    stage = "send";
    http::async_write(stream, request, [this](beast::error_code e, size_t) {
      if (e) {
        ec = e;
        return;
      }
      stage = "read the response";
      http::async_read(stream, buffer, parser, [this](beast::error_code e2, size_t) { ec = e2; });
    });
  }
};

}  // namespace

absl::StatusOr<Url> ParseUrl(std::string_view url) {
  Url u;
  std::string_view rest;
  if (url.starts_with("https://")) {
    u.tls = true;
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return absl::InvalidArgumentError("URL must start with http:// or https://");
  }
  size_t slash = rest.find_first_of("/?");
  std::string_view hostport = rest.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (u.target.front() == '?') u.target = "/" + u.target;
  if (hostport.find('@') != std::string_view::npos) {
    return absl::InvalidArgumentError("put credentials in their own flag or file, not in the URL");
  }
  if (!hostport.empty() && hostport.front() == '[') {
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) return absl::InvalidArgumentError("bad IPv6 host");
    u.host = std::string(hostport.substr(1, close - 1));
    hostport.remove_prefix(close + 1);
    if (hostport.starts_with(":")) u.port = std::string(hostport.substr(1));
  } else {
    size_t colon = hostport.rfind(':');
    u.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) u.port = std::string(hostport.substr(colon + 1));
  }
  if (u.host.empty()) return absl::InvalidArgumentError("URL has no host");
  if (u.port.empty()) u.port = u.tls ? "443" : "80";
  if (u.port.find_first_not_of("0123456789") != std::string::npos) {
    return absl::InvalidArgumentError("URL has a bad port");
  }
  return u;
}

absl::StatusOr<std::unique_ptr<HttpClient>> HttpClient::Create(HttpClientOptions options) {
  auto client = std::unique_ptr<HttpClient>(new HttpClient(std::move(options)));
  const HttpClientOptions& o = client->options_;
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (ctx == nullptr) return absl::InternalError("tls: " + OpenSslError());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (o.insecure_skip_verify) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
  } else {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    int loaded = o.ca_file.empty()
                     ? SSL_CTX_set_default_verify_paths(ctx.get())
                     : SSL_CTX_load_verify_locations(ctx.get(), o.ca_file.c_str(), nullptr);
    if (loaded != 1) {
      return absl::InvalidArgumentError(
          absl::StrFormat("cannot load CA file %s: %s", o.ca_file, OpenSslError()));
    }
  }
  if (!o.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), o.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx.get(), o.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return absl::InvalidArgumentError(absl::StrFormat("cannot load the client certificate %s: %s",
                                                        o.cert_file, OpenSslError()));
    }
  }
  client->tls_ = std::move(ctx);
  return client;
}

HttpClient::~HttpClient() = default;

absl::StatusOr<HttpClientResponse> HttpClient::Post(std::string_view url,
                                                    std::string_view content_type,
                                                    std::string_view body) const {
  return Do("POST", url, content_type, body);
}

absl::StatusOr<HttpClientResponse> HttpClient::Get(std::string_view url) const {
  return Do("GET", url, "", "");
}

namespace {

http::request<http::string_body> Request(const HttpClientOptions& options, const Url& u,
                                         std::string_view method, std::string_view content_type,
                                         std::string_view body) {
  http::request<http::string_body> req;
  req.method_string(std::string(method));
  req.target(u.target);
  req.version(11);
  req.set(http::field::host, u.port == (u.tls ? "443" : "80") ? u.host : u.host + ":" + u.port);
  req.set(http::field::user_agent, "triaged");
  req.set(http::field::connection, "close");
  if (!content_type.empty()) req.set(http::field::content_type, std::string(content_type));
  if (!options.basic_auth.empty()) {
    req.set(http::field::authorization, "Basic " + absl::Base64Escape(options.basic_auth));
  } else if (!options.bearer_token.empty()) {
    req.set(http::field::authorization, "Bearer " + options.bearer_token);
  }
  for (const auto& [k, v] : options.headers) req.set(k, v);
  req.body() = std::string(body);
  if (method == "POST" || !body.empty()) req.prepare_payload();
  return req;
}

// How an exchange ended: the error, if any, and the stage it was in.
struct Outcome {
  beast::error_code ec;
  const char* stage;
};

using Parser = http::response_parser<http::string_body>;

Outcome RunPlain(const Url& u, http::request<http::string_body>& req, Parser& parser,
                 std::chrono::milliseconds timeout) {
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  Exchange<beast::tcp_stream> x{stream, req, parser};
  stream.expires_after(timeout);
  resolver.async_resolve(u.host, u.port, [&](beast::error_code e, tcp::resolver::results_type r) {
    if (e) {
      x.ec = e;
      return;
    }
    stream.async_connect(r, [&](beast::error_code e2, const tcp::endpoint&) {
      if (e2) {
        x.ec = e2;
        return;
      }
      x.Send();
    });
  });
  ioc.run_for(timeout + std::chrono::seconds(1));
  return {x.ec, x.stage};
}

absl::StatusOr<Outcome> RunTls(ssl_ctx_st* native, bool insecure_skip_verify, const Url& u,
                               http::request<http::string_body>& req, Parser& parser,
                               std::chrono::milliseconds timeout) {
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  SSL_CTX_up_ref(native);
  ssl::context ctx(native);
  beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
  if (!SSL_set_tlsext_host_name(stream.native_handle(), u.host.c_str())) {
    return absl::InternalError("tls: cannot set the server name");
  }
  if (!insecure_skip_verify) {
    stream.set_verify_callback(ssl::host_name_verification(u.host));
  }
  Exchange<beast::ssl_stream<beast::tcp_stream>> x{stream, req, parser};
  beast::get_lowest_layer(stream).expires_after(timeout);
  resolver.async_resolve(u.host, u.port, [&](beast::error_code e, tcp::resolver::results_type r) {
    if (e) {
      x.ec = e;
      return;
    }
    beast::get_lowest_layer(stream).async_connect(
        r, [&](beast::error_code e2, const tcp::endpoint&) {
          if (e2) {
            x.ec = e2;
            return;
          }
          x.stage = "TLS handshake";
          stream.async_handshake(ssl::stream_base::client, [&](beast::error_code e3) {
            if (e3) {
              x.ec = e3;
              return;
            }
            x.Send();
          });
        });
  });
  ioc.run_for(timeout + std::chrono::seconds(1));
  return Outcome{x.ec, x.stage};
}

}  // namespace

absl::StatusOr<HttpClientResponse> HttpClient::Do(std::string_view method, std::string_view url,
                                                  std::string_view content_type,
                                                  std::string_view body) const {
  absl::StatusOr<Url> u = ParseUrl(url);
  if (!u.ok()) return u.status();
  http::request<http::string_body> req = Request(options_, *u, method, content_type, body);
  Parser parser;
  parser.body_limit(options_.max_response_bytes);
  const auto timeout = std::chrono::milliseconds(options_.timeout_ms);
  auto where = absl::StrFormat("%s://%s:%s", u->tls ? "https" : "http", u->host, u->port);
  absl::StatusOr<Outcome> outcome =
      u->tls ? RunTls(tls_.get(), options_.insecure_skip_verify, *u, req, parser, timeout)
             : RunPlain(*u, req, parser, timeout);
  if (!outcome.ok()) return outcome.status();
  const beast::error_code& ec = outcome->ec;
  const char* stage = outcome->stage;
  if (ec == beast::error::timeout || (!ec && !parser.is_done())) {
    return absl::DeadlineExceededError(
        absl::StrFormat("%s: no answer within %d ms (%s)", where, options_.timeout_ms, stage));
  }
  if (ec) {
    return absl::UnavailableError(absl::StrFormat("%s: %s: %s", where, stage, ec.message()));
  }
  HttpClientResponse out;
  out.status = static_cast<int>(parser.get().result_int());
  out.content_type = std::string(parser.get()[http::field::content_type]);
  out.body = std::move(parser.get().body());
  return out;
}

}  // namespace triage::net
