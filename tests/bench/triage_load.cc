// triage_load: load generators for a running triaged (loopback only).
//
//   triage_load remote-write --http PORT [--series 500] [--samples 1]
//       [--requests 400] [--connections 4] [--runs 5] [--path /api/v1/write]
//       [--start-ms MS]
//     Prometheus-like remote_write: each request carries SERIES series with
//     SAMPLES samples each, snappy-compressed; requests are built before the
//     clock starts and sent over keep-alive connections, one shard of series
//     each (as Prometheus shards), in time order. Prints samples/s per
//     run and the median.
//   triage_load bundle --http PORT --file BUNDLE [--runs 5]
//     POSTs a bundle (NDJSON, .gz is decompressed first) to /api/v1/bundle;
//     prints MB/s and records/s per run and the median.
//   triage_load triage --grpc PORT --service S --metric M --at TIME [--calls 1000]
//     Sequential gRPC Triage calls; prints p50, p90, p99 and max latency.
//   triage_load http --http PORT --path P [--method GET] [--body JSON]
//       [--content-type T] [--requests 100] [--connections 1]
//     Sequential requests on each keep-alive connection (a fresh one per
//     --connections): prints the first request's time, then p50, p90, p99
//     and max of the others (on one connection: no 40 ms Nagle floor), and
//     the answer's size. Works against any HTTP/1.1 server (Prometheus too).
// Every mode takes --ca FILE (TLS, trusting FILE) and --auth "Bearer T" or
// --auth "Basic BASE64" (an Authorization header on every request).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <snappy.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "grpcpp/create_channel.h"
#include "prometheus/remote.pb.h"
#include "proto/model/time.h"
#include "triage/v1/service.grpc.pb.h"

namespace {

using Clock = std::chrono::steady_clock;

std::map<std::string, std::string> Flags(int argc, char** argv) {
  std::map<std::string, std::string> f;
  for (int i = 2; i + 1 < argc; i += 2) f[std::string(argv[i]).substr(2)] = argv[i + 1];
  return f;
}

int Int(const std::map<std::string, std::string>& f, const std::string& k, int def) {
  auto it = f.find(k);
  return it == f.end() ? def : std::atoi(it->second.c_str());
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// TLS for every connection when --ca is given (set in main).
SSL_CTX* g_tls = nullptr;
std::string g_auth;  // The Authorization header value, if any.

// One keep-alive HTTP/1.1 connection to 127.0.0.1:port (TLS with g_tls).
class Http {
 public:
  explicit Http(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      std::perror("connect");
      std::_Exit(1);  // Other threads may be running: no static destructors.
    }
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (g_tls != nullptr) {
      ssl_ = SSL_new(g_tls);
      SSL_set_fd(ssl_, fd_);
      SSL_set_tlsext_host_name(ssl_, "localhost");
      if (SSL_connect(ssl_) != 1) {
        std::cerr << "TLS handshake failed\n";
        std::_Exit(1);  // Other threads may be running: no static destructors.
      }
    }
  }
  ~Http() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    close(fd_);
  }

  ssize_t Send(const char* p, size_t n) {
    return ssl_ != nullptr ? SSL_write(ssl_, p, static_cast<int>(n)) : send(fd_, p, n, 0);
  }
  ssize_t Recv(char* p, size_t n) {
    return ssl_ != nullptr ? SSL_read(ssl_, p, static_cast<int>(n)) : recv(fd_, p, n, 0);
  }

  // Sends one request and reads the whole answer (Content-Length or
  // chunked); returns the status code, -1 when the connection failed.
  int Request(const std::string& method, const std::string& path, const std::string& headers,
              const std::string& body, size_t* body_bytes = nullptr) {
    std::string req = absl::StrFormat(
        "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n%s%s\r\n", method, path,
        body.size(), headers, g_auth.empty() ? "" : "Authorization: " + g_auth + "\r\n");
    req += body;
    size_t off = 0;
    while (off < req.size()) {
      ssize_t n = Send(req.data() + off, req.size() - off);
      if (n <= 0) return -1;
      off += static_cast<size_t>(n);
    }
    size_t header_end;
    while ((header_end = in_.find("\r\n\r\n")) == std::string::npos) {
      if (!More()) return -1;
    }
    const int status = std::atoi(in_.c_str() + 9);
    std::string head = in_.substr(0, header_end);
    for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    in_.erase(0, header_end + 4);
    size_t bytes = 0;
    if (head.find("transfer-encoding: chunked") != std::string::npos) {
      for (;;) {
        size_t eol;
        while ((eol = in_.find("\r\n")) == std::string::npos) {
          if (!More()) return -1;
        }
        const size_t size = std::strtoul(in_.c_str(), nullptr, 16);
        while (in_.size() < eol + 2 + size + 2) {
          if (!More()) return -1;
        }
        in_.erase(0, eol + 2 + size + 2);
        bytes += size;
        if (size == 0) break;  // (No trailers from the servers measured.)
      }
    } else {
      size_t cl = head.find("content-length: ");
      const size_t length =
          cl == std::string::npos ? 0 : std::strtoul(head.c_str() + cl + 16, nullptr, 10);
      while (in_.size() < length) {
        if (!More()) return -1;
      }
      in_.erase(0, length);
      bytes = length;
    }
    if (body_bytes != nullptr) *body_bytes = bytes;
    return status;
  }

  int Post(const std::string& path, const std::string& headers, const std::string& body) {
    return Request("POST", path, headers, body);
  }

 private:
  bool More() {
    char buf[65536];
    ssize_t n = Recv(buf, sizeof(buf));
    if (n <= 0) return false;
    in_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_;
  SSL* ssl_ = nullptr;
  std::string in_;  // Read and not yet consumed.
};

int RemoteWrite(const std::map<std::string, std::string>& f) {
  const int port = Int(f, "http", 7080), series = Int(f, "series", 500),
            samples = Int(f, "samples", 1), requests = Int(f, "requests", 400),
            connections = Int(f, "connections", 4), runs = Int(f, "runs", 5);
  const std::string path = f.contains("path") ? f.at("path") : "/api/v1/write";
  const std::string headers =
      "Content-Encoding: snappy\r\nContent-Type: application/x-protobuf\r\n"
      "X-Prometheus-Remote-Write-Version: 0.1.0\r\n";
  std::vector<double> rates;
  // Default 2026-01-01T00:00:00Z; each run writes later samples.
  int64_t t0 = f.contains("start-ms") ? std::stoll(f.at("start-ms")) : 1'767'225'600'000;
  for (int run = 0; run < runs; ++run) {
    std::vector<std::string> bodies;
    bodies.reserve(static_cast<size_t>(requests));
    for (int r = 0; r < requests; ++r) {
      prometheus::WriteRequest w;
      for (int s = 0; s < series; ++s) {
        prometheus::TimeSeries* ts = w.add_timeseries();
        auto label = [&](const char* n, std::string v) {
          prometheus::Label* l = ts->add_labels();
          l->set_name(n);
          l->set_value(std::move(v));
        };
        // Sorted by name, as Prometheus sends them.
        label("__name__", absl::StrFormat("load_metric_%d", s % 50));
        label("instance", absl::StrFormat("host-%d:9100", s / 50));
        label("job", "load");
        label("service", absl::StrFormat("svc-%d", s % 10));
        // Like Prometheus's shards: each connection has series of its own and
        // sends them in time order (a receiver may refuse out-of-order samples).
        label("shard", absl::StrFormat("%d", r % connections));
        for (int k = 0; k < samples; ++k) {
          prometheus::Sample* sample = ts->add_samples();
          sample->set_timestamp(t0 + (int64_t{r} * samples + k) * 15'000);
          sample->set_value(static_cast<double>((s * 7 + r) % 1000));
        }
      }
      std::string raw = w.SerializeAsString(), compressed;
      snappy::Compress(raw.data(), raw.size(), &compressed);
      bodies.push_back(std::move(compressed));
    }
    t0 += int64_t{requests} * samples * 15'000;
    std::atomic<int> failures{0};
    auto start = Clock::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < connections; ++c) {
      threads.emplace_back([&, c] {
        Http http(port);
        for (int i = c; i < requests; i += connections) {
          int status = http.Post(path, headers, bodies[static_cast<size_t>(i)]);
          if (status != 204 && status != 200) ++failures;
        }
      });
    }
    for (auto& t : threads) t.join();
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    double rate = static_cast<double>(requests) * series * samples / secs;
    rates.push_back(rate);
    std::cout << absl::StrFormat(
        "run %d: %d requests x %d series x %d samples in %.3f s = %.0f samples/s%s\n", run + 1,
        requests, series, samples, secs, rate,
        failures ? absl::StrFormat(" (%d failed)", failures.load()) : "");
    if (failures) return 1;
  }
  std::cout << absl::StrFormat("median: %.0f samples/s\n", Median(rates));
  return 0;
}

int Bundle(const std::map<std::string, std::string>& f) {
  const int port = Int(f, "http", 7080), runs = Int(f, "runs", 5);
  gzFile in = gzopen(f.at("file").c_str(), "rb");
  if (in == nullptr) return 1;
  std::string body;
  char buf[1 << 16];
  int n;
  while ((n = gzread(in, buf, sizeof(buf))) > 0) body.append(buf, static_cast<size_t>(n));
  gzclose(in);
  size_t records = static_cast<size_t>(std::count(body.begin(), body.end(), '\n'));
  std::vector<double> mbs, rps;
  Http http(port);
  for (int run = 0; run < runs; ++run) {
    auto start = Clock::now();
    int status = http.Post("/api/v1/bundle", "Content-Type: application/x-ndjson\r\n", body);
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    if (status != 200) {
      std::cerr << "status " << status << "\n";
      return 1;
    }
    mbs.push_back(static_cast<double>(body.size()) / 1e6 / secs);
    rps.push_back(static_cast<double>(records) / secs);
    std::cout << absl::StrFormat(
        "run %d: %.2f MB, %d records in %.3f s = %.1f MB/s, %.0f records/s\n", run + 1,
        body.size() / 1e6, records, secs, mbs.back(), rps.back());
  }
  std::cout << absl::StrFormat("median: %.1f MB/s, %.0f records/s\n", Median(mbs), Median(rps));
  return 0;
}

int Triage(const std::map<std::string, std::string>& f) {
  const int port = Int(f, "grpc", 7070), calls = Int(f, "calls", 1000);
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (f.contains("ca")) {
    std::ifstream in(f.at("ca"));
    grpc::SslCredentialsOptions o;
    o.pem_root_certs.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    creds = grpc::SslCredentials(o);
  }
  auto stub = triage::v1::TriageService::NewStub(
      grpc::CreateChannel(absl::StrFormat("localhost:%d", port), creds));
  triage::v1::TriageRequest req;
  triage::v1::AlertSpec* a = req.add_alerts();
  a->set_service(f.at("service"));
  a->set_metric(f.at("metric"));
  *req.mutable_at() = triage::FromMs(*triage::ParseRfc3339(f.at("at")));
  std::vector<double> ms;
  std::string localized;
  for (int i = 0; i < calls; ++i) {
    grpc::ClientContext ctx;
    if (!g_auth.empty()) ctx.AddMetadata("authorization", g_auth);
    triage::v1::TriageReport report;
    auto start = Clock::now();
    grpc::Status s = stub->Triage(&ctx, req, &report);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    if (!s.ok()) {
      std::cerr << s.error_message() << "\n";
      return 1;
    }
    localized = report.localized_category();
  }
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(p * ms.size()))];
  };
  std::cout << absl::StrFormat(
      "%d calls (localized %s): p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n", calls,
      localized, pct(0.5), pct(0.9), pct(0.99), ms.back());
  return 0;
}

int HttpLatency(const std::map<std::string, std::string>& f) {
  const int port = Int(f, "http", 7080), requests = Int(f, "requests", 100),
            connections = Int(f, "connections", 1);
  const std::string method = f.contains("method") ? f.at("method") : "GET";
  const std::string body = f.contains("body") ? f.at("body") : "";
  const std::string headers =
      absl::StrFormat("Content-Type: %s\r\n",
                      f.contains("content-type") ? f.at("content-type") : "application/json");
  std::vector<double> first, rest;
  size_t bytes = 0;
  for (int c = 0; c < connections; ++c) {
    Http http(port);
    for (int i = 0; i < requests; ++i) {
      auto start = Clock::now();
      int status = http.Request(method, f.at("path"), headers, body, &bytes);
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      if (status != 200) {
        std::cerr << "status " << status << "\n";
        return 1;
      }
      (i == 0 ? first : rest).push_back(ms);
    }
  }
  std::sort(rest.begin(), rest.end());
  auto pct = [&](double p) {
    return rest.empty() ? 0 : rest[std::min(rest.size() - 1, static_cast<size_t>(p * rest.size()))];
  };
  std::cout << absl::StrFormat(
      "first %.2f ms; requests 2-%d on the same connection: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, "
      "max %.2f ms; answer %d bytes\n",
      Median(first), requests, pct(0.5), pct(0.9), pct(0.99), rest.empty() ? 0 : rest.back(),
      bytes);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: triage_load remote-write|bundle|triage|http [--flag value ...]\n";
    return 2;
  }
  std::string cmd = argv[1];
  auto f = Flags(argc, argv);
  if (f.contains("ca")) {
    g_tls = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(g_tls, f.at("ca").c_str(), nullptr);
    SSL_CTX_set_verify(g_tls, SSL_VERIFY_PEER, nullptr);
  }
  if (f.contains("auth")) g_auth = f.at("auth");
  if (cmd == "remote-write") return RemoteWrite(f);
  if (cmd == "bundle") return Bundle(f);
  if (cmd == "triage") return Triage(f);
  if (cmd == "http") return HttpLatency(f);
  std::cerr << "unknown command " << cmd << "\n";
  return 2;
}
