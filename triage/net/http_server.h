// HttpServer: an event-driven HTTP/1.1 server (Boost.Asio/Beast) that knows
// nothing of triage. Connections are served by a few I/O threads, so slow or
// idle clients cost memory, not threads; handlers run on a bounded pool of
// workers. It answers ambiguous framing (Content-Length with
// Transfer-Encoding, differing lengths, bad chunks) with 400 and closes the
// connection; bounds headers, connections and every read and write by time;
// sets TCP_NODELAY and writes each response with one send; and speaks TLS
// when given a context (re-read for every new connection, so a reload never
// drops one).
//
// The application implements HttpService: Plan() sees a request's headers
// on an I/O thread (cheap decisions: routing, authentication, the body's
// limit, an early answer); Handle() runs on a worker with the body read in
// full, or pulled piece by piece for streaming routes.
//
// Thread-safe. The service and metrics are not owned and must outlive it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"

struct ssl_ctx_st;

namespace triage::net {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // As sent.
  std::string path;    // The target's path, percent-decoded, without the query.
  std::string query;
  std::vector<std::pair<std::string, std::string>> headers;  // Names lower-cased.
  std::string peer;    // "127.0.0.1:51234"
  bool tls = false;
  std::optional<uint64_t> content_length;  // Declared, if any.
  std::string body;    // The whole body (routes that do not stream it).

  // The first header of that (lower-case) name, or empty.
  std::string_view Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // Extra headers.
  bool close = false;  // Close the connection after this response.
};

// A streaming route's body, pulled by the handler on its worker thread.
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // Appends up to `max` bytes of the body to *out and returns how many; 0
  // at the end. Errors: the client was too slow (DeadlineExceeded), the
  // framing is broken (InvalidArgument), the connection closed (Aborted).
  virtual absl::StatusOr<size_t> Read(std::string* out, size_t max) = 0;
};

// What to do with a request once its headers are in.
struct RequestPlan {
  std::optional<HttpResponse> answer;  // Answer now; the body is not read.
  uint64_t max_body_bytes = 0;         // A larger body is answered 413.
  bool stream_body = false;            // Handle() pulls the body itself.
};

class HttpService {
 public:
  virtual ~HttpService() = default;
  // On an I/O thread, after the headers: must not block.
  virtual RequestPlan Plan(HttpRequest& request) = 0;
  // On a worker. `body` serves the body of streaming routes (else it is
  // already in request.body and `body` returns 0).
  virtual HttpResponse Handle(HttpRequest& request, BodyReader& body) = 0;
};

struct HttpServerOptions {
  std::string addr = "127.0.0.1:7080";  // HOST:PORT; port 0 picks a free port.
  int io_threads = 2;
  int workers = 16;                 // Handlers running at once.
  size_t max_queued = 1024;         // Requests waiting for a worker; past it 503.
  size_t max_connections = 10000;   // Open connections at most; past it refused.
  size_t max_header_bytes = 64 << 10;
  int64_t header_timeout_ms = 10'000;  // From the first byte of a request to its last header.
  int64_t body_timeout_ms = 60'000;    // A body read in full, or each piece of a streamed one.
  int64_t idle_timeout_ms = 30'000;    // A kept-alive connection waiting for its next request.
  int64_t write_timeout_ms = 30'000;
  // When set, every connection speaks TLS with the (OpenSSL) context it
  // returns at accept time, so a reloaded context applies to new connections
  // and never drops an open one.
  std::function<std::shared_ptr<ssl_ctx_st>()> tls;
};

// The server's figures, built by whoever owns the registry (not owned; they
// must outlive the server).
struct HttpServerMetrics {
  prometheus::Gauge& connections;
  prometheus::Counter& connections_refused;  // Past max_connections.
  prometheus::Counter& timeouts;             // Header, body or write too slow.
  prometheus::Counter& bad_framing;          // Ambiguous or broken framing: 400 and close.
  prometheus::Counter& overloaded;           // No worker free in time: 503.
};

class HttpServer {
 public:
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(HttpServerOptions options,
                                                           HttpService& service,
                                                           HttpServerMetrics metrics);
  ~HttpServer();

  int port() const;
  // Stops accepting, lets requests in flight finish (at most `grace_ms`),
  // then closes every connection.
  void Stop(int64_t grace_ms = 10'000);

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace triage::net
