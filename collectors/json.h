// A small strict JSON reader for ingest paths that must say exactly what is
// wrong with a document. Unlike general-purpose parsers it keeps NaN and
// Infinity (and numbers that overflow a double) as explicit non-finite
// numbers, so the caller can reject them by field name rather than failing
// with a bare syntax error. Pure functions and value types; thread-safe.
//
//   absl::StatusOr<JsonValue> v = ParseJson(R"({"a":[1,2]})");
//   const JsonValue* a = v->Find("a");
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace triage::collectors {

struct JsonMember;

struct JsonValue {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  double number = 0;
  bool integral = false;            // The number was written without fraction or exponent.
  std::string text;                 // kString: the decoded string. kNumber: the token as written.
  std::vector<JsonValue> items;     // kArray.
  std::vector<JsonMember> members;  // kObject, in document order.
  // kArray read as pairs (JsonOptions::pairs_member): every item was
  // [whole number, finite number]; `items` is empty then.
  bool paired = false;
  std::vector<std::pair<int64_t, double>> pairs;

  // The last member named `key` (JSON allows repeats; the last one wins), or nullptr.
  const JsonValue* Find(std::string_view key) const;
  bool is_null() const { return type == Type::kNull; }
  // "null", "a boolean", "a number", "a string", "an array", "an object".
  const char* TypeName() const;
};

// One member of an object (a struct rather than std::pair, which would need
// JsonValue complete inside its own definition).
struct JsonMember {
  std::string first;
  JsonValue second;
};

// Parses one JSON document. Errors name the column (1-based byte offset):
// "column 17: expected ':' after an object key".
absl::StatusOr<JsonValue> ParseJson(std::string_view text);

struct JsonOptions {
  // The top-level member whose array is read straight into `pairs` when
  // every item is [whole number of at most 15 digits, finite number] (a
  // bundle's series points: no value per number); any other array there is
  // read as usual.
  std::string_view pairs_member;
};
absl::StatusOr<JsonValue> ParseJson(std::string_view text, const JsonOptions& options);

// Appends `s` as a JSON string literal (with quotes) to `out`.
void AppendJsonString(std::string* out, std::string_view s);

}  // namespace triage::collectors
