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

// Decompresses a gzip body. InvalidArgument when it is not gzip or is
// truncated; ResourceExhausted when it inflates past `max_bytes` (a small
// body may expand a thousandfold).
absl::StatusOr<std::string> Gunzip(std::string_view gz, size_t max_bytes);

// Compresses with gzip (level 6, the default of gzip(1)).
std::string Gzip(std::string_view data);

}  // namespace triage::collectors
