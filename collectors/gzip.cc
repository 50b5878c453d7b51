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

}  // namespace triage::collectors
