// HttpClient: triaged's outgoing HTTP(S) requests (the Alertmanager sink,
// a Prometheus-compatible query API, Grafana's annotation API), on Boost.Beast
// with OpenSSL: a CA file or the system's roots, an optional client
// certificate, Basic or Bearer credentials, extra headers, one timeout for
// the whole exchange. Credentials never appear in an error message.
//
// Thread-safe: each request runs on its own connection and io_context.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

struct ssl_ctx_st;

namespace triage::net {

struct HttpClientOptions {
  std::string ca_file;  // PEM roots for https:// (empty: the system's).
  bool insecure_skip_verify = false;  // Tests only: no certificate check.
  std::string cert_file;              // A client certificate (mutual TLS) ...
  std::string key_file;               // ... and its key.
  std::string basic_auth;             // "user:password", sent as Basic.
  std::string bearer_token;           // Sent as Bearer.
  std::vector<std::pair<std::string, std::string>> headers;  // On every request.
  int64_t timeout_ms = 10'000;
  size_t max_response_bytes = 64 << 20;
};

struct HttpClientResponse {
  int status = 0;
  std::string body;
  std::string content_type;
};

struct Url {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;  // Path and query, "/" at least.
};

// http(s)://host[:port][/path][?query]; InvalidArgument otherwise.
absl::StatusOr<Url> ParseUrl(std::string_view url);

class HttpClient {
 public:
  // Loads the CA file and client certificate; InvalidArgument when they do not load.
  static absl::StatusOr<std::unique_ptr<HttpClient>> Create(HttpClientOptions options);
  ~HttpClient();

  // Unavailable (connect, TLS, I/O), DeadlineExceeded; an HTTP error status
  // is a response, not an error.
  absl::StatusOr<HttpClientResponse> Post(std::string_view url, std::string_view content_type,
                                          std::string_view body) const;
  absl::StatusOr<HttpClientResponse> Get(std::string_view url) const;

 private:
  explicit HttpClient(HttpClientOptions options) : options_(std::move(options)) {}
  absl::StatusOr<HttpClientResponse> Do(std::string_view method, std::string_view url,
                                        std::string_view content_type,
                                        std::string_view body) const;

  const HttpClientOptions options_;
  std::shared_ptr<ssl_ctx_st> tls_;
};

}  // namespace triage::net
