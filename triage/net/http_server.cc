#include "triage/net/http_server.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "triage/net/http_session.h"

namespace triage::net {

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return {};
}

bool HttpRequest::HasHeader(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return h.first == name; });
}

void HttpServer::Impl::Accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || stopping) return;
    if (!ec) {
      if (connections.fetch_add(1) >= options.max_connections) {
        connections.fetch_sub(1);
        metrics.connections_refused.Increment();
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        std::string peer;
        auto ep = socket.remote_endpoint(ignored);
        if (!ignored) peer = absl::StrFormat("%s:%d", ep.address().to_string(), ep.port());
        std::shared_ptr<ssl::context> tls =
            options.tls ? TlsContext(options.tls()) : std::shared_ptr<ssl::context>();
        if (tls != nullptr) {
          std::make_shared<http_internal::Session<beast::ssl_stream<beast::tcp_stream>>>(
              *this,
              beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *tls),
              peer, true)
              ->Start();
        } else {
          std::make_shared<http_internal::Session<beast::tcp_stream>>(*this, beast::tcp_stream(std::move(socket)),
                                                       peer, false)
              ->Start();
        }
      }
    }
    Accept();
  });
}

std::shared_ptr<ssl::context> HttpServer::Impl::TlsContext(std::shared_ptr<ssl_ctx_st> native) {
  if (native == nullptr) return nullptr;
  std::lock_guard<std::mutex> lock(tls_mu);
  if (native != tls_native) {
    SSL_CTX_up_ref(native.get());  // The wrapper owns one reference.
    tls_context = std::make_shared<ssl::context>(native.get());
    tls_native = std::move(native);
  }
  return tls_context;
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options,
                                                              HttpService& service,
                                                              HttpServerMetrics metrics) {
  std::string addr = options.addr;
  size_t colon = addr.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrFormat("http: %s is not HOST:PORT", addr));
  }
  std::string host = addr.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port_number = 0;
  if (!absl::SimpleAtoi(addr.substr(colon + 1), &port_number) || port_number < 0 ||
      port_number > 65535) {
    return absl::InvalidArgumentError(absl::StrFormat("http: bad port in %s", addr));
  }
  auto impl = std::make_unique<Impl>(std::move(options), service, metrics);
  beast::error_code ec;
  net::ip::address address = net::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrFormat("http: %s is not an IP address", host));
  }
  tcp::endpoint endpoint(address, static_cast<uint16_t>(port_number));
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrFormat("http: cannot listen on %s: %s", addr, ec.message()));
  }
  impl->port = impl->acceptor.local_endpoint().port();
  impl->Accept();
  for (int i = 0; i < std::max(1, impl->options.io_threads); ++i) {
    impl->threads.emplace_back([io = &impl->ioc] { io->run(); });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

int HttpServer::port() const { return impl_->port; }

void HttpServer::Stop(int64_t grace_ms) {
  if (impl_->threads.empty()) return;
  impl_->stopping = true;
  net::post(impl_->acceptor.get_executor(), [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
  });
  auto deadline = SteadyClock::now() + std::chrono::milliseconds(grace_ms);
  while (impl_->in_flight.load() > 0 && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  impl_->pool.Stop();
  impl_->ioc.stop();
  for (std::thread& t : impl_->threads) t.join();
  impl_->threads.clear();
}

HttpServer::~HttpServer() { Stop(); }

}  // namespace triage::net
