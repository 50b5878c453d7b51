// gzip, the one way: the reader of files that may be gzip-compressed
// (bundles are .jsonl or .jsonl.gz; plain files come through as they are),
// and in-memory (de)compression of bodies (Content-Encoding: gzip).
// Thread-safe.
//
//   absl::Status s = ReadGzipOrPlainFile(path, [&](std::string_view chunk) {
//     decoder.Feed(chunk);
//     return true;  // false stops reading early (still OK)
//   });
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace triage::collectors {

// Calls `chunk` with the file's (decompressed) bytes in order, 64 KiB at a
// time. NotFound / Internal name the file and the system's reason.
absl::Status ReadGzipOrPlainFile(const std::string& path,
                                 const std::function<bool(std::string_view)>& chunk);

// The whole (decompressed) file.
absl::StatusOr<std::string> ReadGzipOrPlainFile(const std::string& path);

// Inflates gzip arriving in pieces (a streamed body), several members
// included. Not thread-safe; one per stream.
class Gunzipper {
 public:
  Gunzipper();
  ~Gunzipper();
  Gunzipper(const Gunzipper&) = delete;
  Gunzipper& operator=(const Gunzipper&) = delete;
  // Appends what `in` inflates to. InvalidArgument when it is not gzip.
  absl::Status Feed(std::string_view in, std::string* out);
  // InvalidArgument when the stream stopped inside a member.
  absl::Status Finish() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// True when `bytes` starts like gzip (1f 8b).
inline bool LooksGzipped(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

// Decompresses a gzip body. InvalidArgument when it is not gzip or is
// truncated; ResourceExhausted when it inflates past `max_bytes` (a small
// body may expand a thousandfold).
absl::StatusOr<std::string> Gunzip(std::string_view gz, size_t max_bytes);

// Compresses with gzip (level 6, the default of gzip(1)).
std::string Gzip(std::string_view data);

}  // namespace triage::collectors
