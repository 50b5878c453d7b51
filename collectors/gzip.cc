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

struct Gunzipper::State {
  z_stream z{};
  bool in_member = false;  // Inside a member (between its header and its end).
  bool failed = false;
};

Gunzipper::Gunzipper() : state_(std::make_unique<State>()) {
  if (inflateInit2(&state_->z, 16 + MAX_WBITS) != Z_OK) state_->failed = true;
}

Gunzipper::~Gunzipper() { inflateEnd(&state_->z); }

absl::Status Gunzipper::Feed(std::string_view in, std::string* out) {
  State& st = *state_;
  if (st.failed) return absl::InvalidArgumentError("the body is not valid gzip");
  z_stream& z = st.z;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  char buf[1 << 16];
  while (z.avail_in > 0) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    st.in_member = true;
    const int rc = inflate(&z, Z_NO_FLUSH);
    out->append(buf, sizeof buf - z.avail_out);
    if (rc == Z_STREAM_END) {
      st.in_member = false;
      inflateReset(&z);  // Another member may follow (RFC 1952 allows several).
    } else if (rc != Z_OK && !(rc == Z_BUF_ERROR && z.avail_in == 0)) {
      st.failed = true;
      return absl::InvalidArgumentError(
          absl::StrFormat("the body is not valid gzip: %s", z.msg ? z.msg : "corrupt data"));
    }
  }
  // Output the input produced that did not fit in one buffer.
  for (int rc = Z_OK; st.in_member && rc == Z_OK;) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out->append(buf, sizeof buf - z.avail_out);
    if (rc == Z_STREAM_END) {
      st.in_member = false;
      inflateReset(&z);
    }
    if (z.avail_out != 0) break;
  }
  return absl::OkStatus();
}

absl::Status Gunzipper::Finish() const {
  if (state_->failed) return absl::InvalidArgumentError("the body is not valid gzip");
  if (state_->in_member) return absl::InvalidArgumentError("the body is not valid gzip: truncated");
  return absl::OkStatus();
}

absl::StatusOr<std::string> Gunzip(std::string_view gz, size_t max_bytes) {
  Gunzipper g;
  std::string out;
  for (size_t off = 0; off < gz.size(); off += 1 << 16) {
    if (absl::Status s = g.Feed(gz.substr(off, 1 << 16), &out); !s.ok()) return s;
    if (out.size() > max_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrFormat("the body inflates past %d bytes", max_bytes));
    }
  }
  if (absl::Status s = g.Finish(); !s.ok()) return s;
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
