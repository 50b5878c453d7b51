#include "collectors/gzip.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"

namespace triage::collectors {

absl::Status ReadGzipOrPlainFile(const std::string& path,
                                 const std::function<bool(std::string_view)>& chunk) {
  // gzread reads plain files as they are and gunzips gzip ones.
  gzFile f = gzopen(path.c_str(), "rb");
  if (f == nullptr) {
    std::string why = std::strerror(errno);
    return errno == ENOENT ? absl::NotFoundError("cannot open: " + why)
                           : absl::InternalError("cannot open: " + why);
  }
  gzbuffer(f, 1 << 17);
  std::string buf(1 << 16, '\0');
  int n;
  while ((n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()))) > 0) {
    if (!chunk(std::string_view(buf.data(), static_cast<size_t>(n)))) break;
  }
  absl::Status status;
  if (n < 0) {
    int err = 0;
    status = absl::InternalError(absl::StrFormat("cannot read: %s", gzerror(f, &err)));
  }
  gzclose(f);
  return status;
}

absl::StatusOr<std::string> ReadGzipOrPlainFile(const std::string& path) {
  std::string out;
  absl::Status s = ReadGzipOrPlainFile(path, [&](std::string_view c) {
    out.append(c);
    return true;
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<std::string> Gunzip(std::string_view gz, size_t max_bytes) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return absl::InternalError("inflateInit2 failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  std::string out;
  char buf[1 << 16];
  absl::Status status;
  while (status.ok()) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    const int rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
    if (out.size() > max_bytes) {
      status = absl::ResourceExhaustedError(
          absl::StrFormat("the body inflates past %d bytes", max_bytes));
    } else if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      inflateReset(&z);  // Another gzip member follows (RFC 1952 allows several).
    } else if (rc == Z_BUF_ERROR && z.avail_in == 0) {
      status = absl::InvalidArgumentError("the body is not valid gzip: truncated");
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      status = absl::InvalidArgumentError(
          absl::StrFormat("the body is not valid gzip: %s", z.msg ? z.msg : "corrupt data"));
    }
  }
  inflateEnd(&z);
  if (!status.ok()) return status;
  return out;
}

std::string Gzip(std::string_view data) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);  // deflateBound leaves room for all of it.
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace triage::collectors
