// The HTTP server's insides, for http_server.cc only: Impl (the acceptor,
// the I/O threads, the worker pool, the TLS context) and Session, one
// connection's life: header and body limits, framing checks, the streamed
// body, keep-alive and the slow-client timeouts. Boost.Beast's headers stay
// here, out of everything that includes http_server.h.
#pragma once

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <functional>
#include <future>
#include <limits>
#include <mutex>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "triage/net/http_server.h"
#include "triage/net/worker_pool.h"

namespace triage::net {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace http_internal {

inline std::string PercentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

inline std::string Serialize(const HttpResponse& r, bool head, bool close) {
  std::string out = absl::StrFormat(
      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nCache-Control: no-store\r\n",
      r.status, std::string(http::obsolete_reason(static_cast<http::status>(r.status))),
      r.content_type, r.body.size());
  for (const auto& [k, v] : r.headers) absl::StrAppend(&out, k, ": ", v, "\r\n");
  out += close ? "Connection: close\r\n\r\n" : "\r\n";
  if (!head) out += r.body;
  return out;
}

inline HttpResponse Plain(int status, std::string body) {
  return HttpResponse{status, "text/plain; charset=utf-8", std::move(body), {}, true};
}

}  // namespace http_internal

struct HttpServer::Impl {
  Impl(HttpServerOptions o, HttpService& s, HttpServerMetrics m)
      : options(std::move(o)),
        service(s),
        metrics(m),
        pool(options.workers, options.max_queued),
        acceptor(net::make_strand(ioc)) {}

  void Accept();
  // Asio's wrapper of an OpenSSL context, made once per context.
  std::shared_ptr<ssl::context> TlsContext(std::shared_ptr<ssl_ctx_st> native);

  const HttpServerOptions options;
  HttpService& service;
  HttpServerMetrics metrics;
  std::atomic<size_t> connections{0};
  std::atomic<int> in_flight{0};
  std::atomic<bool> stopping{false};
  WorkerPool pool;
  net::io_context ioc;
  tcp::acceptor acceptor;
  std::vector<std::thread> threads;
  int port = 0;
  std::mutex tls_mu;
  std::shared_ptr<ssl_ctx_st> tls_native;
  std::shared_ptr<ssl::context> tls_context;
};

namespace http_internal {

using Impl = HttpServer::Impl;

template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(Impl& impl, Stream stream, std::string peer, bool tls)
      : impl_(impl), stream_(std::move(stream)), peer_(std::move(peer)), tls_(tls) {
    impl_.metrics.connections.Increment();
  }
  ~Session() {
    impl_.connections.fetch_sub(1);
    impl_.metrics.connections.Decrement();
  }

  void Start() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      WaitForRequest();
    } else {
      Lowest().expires_after(std::chrono::milliseconds(impl_.options.header_timeout_ms));
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->Failed(ec, "tls handshake");
                                self->WaitForRequest();
                              });
    }
  }

 private:
  class StreamedBody;

  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  // Between requests: wait (idle timeout) for the first byte of the next one.
  void WaitForRequest() {
    if (impl_.stopping) return Close();
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(impl_.options.max_header_bytes));
    // Each route has its own limit (RequestPlan). Not boost::none: Beast 1.74
    // compares a Content-Length against an empty limit as "over it".
    parser_->body_limit(std::numeric_limits<uint64_t>::max());
    if (buffer_.size() > 0) return ReadHeader();
    Lowest().expires_after(std::chrono::milliseconds(impl_.options.idle_timeout_ms));
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) return self->Close();  // Idle timeout or the client left.
                              self->buffer_.commit(n);
                              self->ReadHeader();
                            });
  }

  void ReadHeader() {
    Lowest().expires_after(std::chrono::milliseconds(impl_.options.header_timeout_ms));
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  // Closes the connection when the client went away or was too slow.
  bool Gone(beast::error_code ec) {
    if (ec == beast::error::timeout) impl_.metrics.timeouts.Increment();
    if (ec == beast::error::timeout || ec == http::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::connection_reset) {
      Close();
      return true;
    }
    return false;
  }

  void OnHeader(beast::error_code ec) {
    if (Gone(ec)) return;
    if (ec == http::error::header_limit) {
      return Finish(Plain(431, absl::StrFormat("request headers are over %d bytes\n",
                                               impl_.options.max_header_bytes)));
    }
    if (ec) {
      impl_.metrics.bad_framing.Increment();
      return Finish(Plain(400, absl::StrFormat("bad request: %s\n", ec.message())));
    }
    const auto& h = parser_->get();
    request_ = HttpRequest();
    request_.method = std::string(h.method_string());
    request_.target = std::string(h.target());
    std::string_view target = request_.target;
    size_t q = target.find('?');
    request_.path = PercentDecode(target.substr(0, q));
    if (q != std::string_view::npos) request_.query = std::string(target.substr(q + 1));
    int transfer_encodings = 0;
    for (const auto& f : h) {
      std::string name = absl::AsciiStrToLower(std::string(f.name_string()));
      if (name == "transfer-encoding") ++transfer_encodings;
      request_.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    request_.peer = peer_;
    request_.tls = tls_;
    if (parser_->content_length()) request_.content_length = *parser_->content_length();
    keep_alive_ = parser_->keep_alive();
    // Only "chunked", alone, may frame a request body (RFC 9112 6.1); any
    // other transfer coding, or two of them, makes the length ambiguous.
    if (transfer_encodings > 1 ||
        (transfer_encodings == 1 &&
         (!parser_->chunked() || !absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(std::string(
                                                             request_.Header("transfer-encoding"))),
                                                         "chunked")))) {
      impl_.metrics.bad_framing.Increment();
      return Finish(Plain(400, "bad request: Transfer-Encoding must be exactly \"chunked\"\n"));
    }
    plan_ = impl_.service.Plan(request_);
    if (plan_.answer) {
      // Answered without the body: unless there is none, the connection
      // cannot be reused.
      bool bodyless = parser_->is_done();
      HttpResponse r = std::move(*plan_.answer);
      r.close = r.close || !bodyless;
      return Finish(std::move(r));
    }
    if (request_.content_length && *request_.content_length > plan_.max_body_bytes) {
      return Finish(TooLarge());
    }
    if (parser_->is_done()) return Dispatch();
    if (absl::EqualsIgnoreCase(std::string(request_.Header("expect")), "100-continue")) {
      continue_ = "HTTP/1.1 100 Continue\r\n\r\n";
      Lowest().expires_after(std::chrono::milliseconds(impl_.options.write_timeout_ms));
      net::async_write(stream_, net::buffer(continue_),
                       [self = this->shared_from_this()](beast::error_code ec, size_t) {
                         if (ec) return self->Close();
                         self->AfterHeader();
                       });
      return;
    }
    AfterHeader();
  }

  HttpResponse TooLarge() {
    HttpResponse r;
    r.status = 413;
    r.body = absl::StrFormat(
        R"({"code":"resource_exhausted","message":"request body is over %d bytes"})",
        plan_.max_body_bytes);
    r.close = true;
    return r;
  }

  void AfterHeader() {
    if (plan_.stream_body) return Dispatch();
    // Read the whole body here, on the I/O thread, before taking a worker.
    string_parser_.emplace(std::move(*parser_));
    string_parser_->body_limit(plan_.max_body_bytes);
    Lowest().expires_after(std::chrono::milliseconds(impl_.options.body_timeout_ms));
    http::async_read(
        stream_, buffer_, *string_parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnBody(ec); });
  }

  void OnBody(beast::error_code ec) {
    if (ec == http::error::body_limit) return Finish(TooLarge());
    if (Gone(ec)) return;
    if (ec) {
      impl_.metrics.bad_framing.Increment();
      return Finish(Plain(400, absl::StrFormat("bad request body: %s\n", ec.message())));
    }
    request_.body = std::move(string_parser_->get().body());
    string_parser_.reset();
    Dispatch();
  }

  void Dispatch() {
    Lowest().expires_never();
    impl_.in_flight.fetch_add(1);
    auto self = this->shared_from_this();
    bool queued = impl_.pool.Submit([self] {
      StreamedBody body(*self);
      HttpResponse response = self->impl_.service.Handle(self->request_, body);
      // A streamed body the handler did not read to the end leaves the
      // connection in the middle of a request: close it.
      if (self->plan_.stream_body && !(self->parser_ && self->parser_->is_done())) {
        response.close = true;
      }
      net::post(self->stream_.get_executor(), [self, r = std::move(response)]() mutable {
        self->impl_.in_flight.fetch_sub(1);
        self->Finish(std::move(r));
      });
    });
    if (!queued) {
      impl_.in_flight.fetch_sub(1);
      impl_.metrics.overloaded.Increment();
      HttpResponse busy = Plain(503, "busy: too many requests waiting; retry\n");
      busy.headers.emplace_back("Retry-After", "1");
      Finish(std::move(busy));
    }
  }

  // Writes the response (one send), then serves the next request or closes.
  void Finish(HttpResponse r) {
    const bool close = r.close || !keep_alive_ || impl_.stopping;
    out_ = Serialize(r, request_.method == "HEAD", close);
    Lowest().expires_after(std::chrono::milliseconds(impl_.options.write_timeout_ms));
    net::async_write(stream_, net::buffer(out_),
                     [self = this->shared_from_this(), close](beast::error_code ec, size_t) {
                       self->out_.clear();
                       if (ec || close) return self->Close();
                       self->WaitForRequest();
                     });
  }

  void Failed(beast::error_code ec, const char*) {
    if (ec == beast::error::timeout) impl_.metrics.timeouts.Increment();
    Close();
  }

  // Closes after a lingering read: a client still sending a body we did not
  // read (an early 413 or 401) must get to read our answer, which an
  // immediate close would destroy with a reset.
  void Close() {
    beast::error_code ignored;
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      Lowest().expires_after(std::chrono::seconds(2));
      Drain();
    } else {
      Lowest().expires_after(std::chrono::seconds(2));
      stream_.async_shutdown(
          [self = this->shared_from_this()](beast::error_code) { self->Lowest().close(); });
    }
  }

  void Drain() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(64 << 10),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > (256u << 20))
                                return self->Lowest().close();
                              self->Drain();
                            });
  }

  Impl& impl_;
  Stream stream_;
  const std::string peer_;
  uint64_t drained_ = 0;
  const bool tls_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::buffer_body>> parser_;
  std::optional<http::request_parser<http::string_body>> string_parser_;
  HttpRequest request_;
  RequestPlan plan_;
  bool keep_alive_ = true;
  std::string continue_;
  std::string out_;
};

// The body of a streaming route: each Read runs parse steps on the
// session's strand until it has a good part of `max` (or the body ends),
// and waits for them on the worker: one hand-over per quarter megabyte or
// so, not per socket read.
template <class Stream>
class Session<Stream>::StreamedBody : public BodyReader {
 public:
  explicit StreamedBody(Session& s) : s_(s) {}

  absl::StatusOr<size_t> Read(std::string* out, size_t max) override {
    if (!s_.plan_.stream_body) return 0;
    buf_.resize(std::max<size_t>(max, 1));
    while (true) {
      if (!s_.parser_ || s_.parser_->is_done()) return 0;
      std::promise<std::pair<beast::error_code, size_t>> done;
      auto result = done.get_future();
      const size_t enough = std::min<size_t>(buf_.size(), 256 << 10);
      std::function<void()> step = [this, &done, &step, enough] {
        s_.Lowest().expires_after(std::chrono::milliseconds(s_.impl_.options.body_timeout_ms));
        http::async_read_some(s_.stream_, s_.buffer_, *s_.parser_,
                              [this, &done, &step, enough](beast::error_code ec, size_t) {
                                if (ec == http::error::need_buffer) ec = {};
                                size_t n = buf_.size() - s_.parser_->get().body().size;
                                s_.Lowest().expires_never();
                                if (!ec && n < enough && !s_.parser_->is_done()) return step();
                                done.set_value({ec, n});
                              });
      };
      net::post(s_.stream_.get_executor(), [this, &step] {
        auto& body = s_.parser_->get().body();
        body.data = buf_.data();
        body.size = buf_.size();
        step();
      });
      auto [ec, n] = result.get();
      if (ec == beast::error::timeout) {
        s_.impl_.metrics.timeouts.Increment();
        s_.parser_.reset();
        return absl::DeadlineExceededError("the client sent the body too slowly");
      }
      if (ec == http::error::end_of_stream || ec == net::error::eof ||
          ec == net::error::connection_reset || ec == http::error::partial_message) {
        s_.parser_.reset();
        return absl::AbortedError("the client closed the connection before the body's end");
      }
      if (ec) {
        s_.impl_.metrics.bad_framing.Increment();
        s_.parser_.reset();
        return absl::InvalidArgumentError("bad request body: " + ec.message());
      }
      total_ += n;
      if (total_ > s_.plan_.max_body_bytes) {
        s_.parser_.reset();
        return absl::ResourceExhaustedError(
            absl::StrFormat("request body is over %d bytes", s_.plan_.max_body_bytes));
      }
      if (n > 0) {
        out->append(buf_.data(), n);
        return n;
      }
    }
  }

 private:
  Session& s_;
  std::string buf_;
  uint64_t total_ = 0;
};

}  // namespace http_internal

}  // namespace triage::net
