#include "collectors/json.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "absl/strings/str_format.h"
#include "proto/model/names.h"

namespace triage::collectors {

const JsonValue* JsonValue::Find(std::string_view key) const {
  for (auto it = members.rbegin(); it != members.rend(); ++it) {
    if (it->first == key) return &it->second;
  }
  return nullptr;
}

const char* JsonValue::TypeName() const {
  switch (type) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return "a boolean";
    case Type::kNumber:
      return "a number";
    case Type::kString:
      return "a string";
    case Type::kArray:
      return "an array";
    case Type::kObject:
      return "an object";
  }
  return "?";
}

namespace {

// A JSON number token as a double, correctly rounded; out of range gives
// +-HUGE_VAL or 0, as strtod does (which takes that rare path).
double ParseNumber(const std::string& token) {
  double d = 0;
  auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), d);
  if (ec == std::errc() && end == token.data() + token.size()) return d;
  return std::strtod(token.c_str(), nullptr);
}

constexpr int kMaxDepth = 64;

class Parser {
 public:
  explicit Parser(std::string_view text, const JsonOptions& options = {})
      : s_(text), options_(options) {}

  absl::StatusOr<JsonValue> Document() {
    JsonValue v;
    if (!Value(&v, 0)) return Error();
    SkipSpace();
    if (pos_ != s_.size()) {
      Fail("unexpected text after the JSON value");
      return Error();
    }
    return v;
  }

 private:
  absl::Status Error() const {
    return absl::InvalidArgumentError(absl::StrFormat("column %d: %s", err_pos_ + 1, err_));
  }

  bool Fail(std::string msg) {
    if (err_.empty()) {
      err_ = std::move(msg);
      err_pos_ = pos_;
    }
    return false;
  }

  void SkipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool Value(JsonValue* v, int depth) {
    if (depth > kMaxDepth) return Fail("nesting deeper than 64 levels");
    SkipSpace();
    if (pos_ >= s_.size()) return Fail("unexpected end of input, expected a value");
    char c = s_[pos_];
    switch (c) {
      case '{':
        return Object(v, depth);
      case '[':
        return Array(v, depth);
      case '"':
        v->type = JsonValue::Type::kString;
        return String(&v->text);
      case 't':
      case 'f':
        if (Literal("true") || Literal("false")) {
          v->type = JsonValue::Type::kBool;
          v->boolean = c == 't';
          return true;
        }
        return Fail("invalid literal (expected true, false or null)");
      case 'n':
        if (Literal("null")) return true;
        return Fail("invalid literal (expected true, false or null)");
      case 'N':
      case 'I':
        return NonFinite(v, false);
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return Number(v);
        return Fail(absl::StrFormat("unexpected character '%c'", c));
    }
  }

  // NaN, Infinity and -Infinity are not JSON, but writers emit them; keep
  // them as non-finite numbers so the caller names the field.
  bool NonFinite(JsonValue* v, bool negative) {
    size_t start = pos_ - (negative ? 1 : 0);
    if (Literal("NaN")) {
      v->number = std::nan("");
    } else if (Literal("Infinity")) {
      v->number = negative ? -HUGE_VAL : HUGE_VAL;
    } else {
      return Fail("invalid literal");
    }
    v->type = JsonValue::Type::kNumber;
    v->text = std::string(s_.substr(start, pos_ - start));
    return true;
  }

  bool Number(JsonValue* v) {
    size_t start = pos_;
    bool integral = true;
    if (s_[pos_] == '-') {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == 'I' || s_[pos_] == 'N')) return NonFinite(v, true);
    }
    auto digits = [&] {
      size_t d = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ - d;
    };
    if (pos_ < s_.size() && s_[pos_] == '0') {
      ++pos_;
    } else if (digits() == 0) {
      return Fail("invalid number");
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      integral = false;
      if (digits() == 0) return Fail("invalid number: digits expected after '.'");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      integral = false;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (digits() == 0) return Fail("invalid number: digits expected in the exponent");
    }
    v->type = JsonValue::Type::kNumber;
    v->text = std::string(s_.substr(start, pos_ - start));
    v->number = ParseNumber(v->text);
    v->integral = integral;
    return true;
  }

  bool Hex4(uint32_t* out) {
    if (pos_ + 4 > s_.size()) return Fail("truncated \\u escape");
    uint32_t r = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      r <<= 4;
      if (c >= '0' && c <= '9')
        r |= c - '0';
      else if (c >= 'a' && c <= 'f')
        r |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        r |= c - 'A' + 10;
      else
        return Fail("invalid \\u escape");
    }
    *out = r;
    return true;
  }

  static void AppendUtf8(std::string* out, uint32_t cp) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }

  bool String(std::string* out) {
    const size_t start = pos_;
    ++pos_;  // Opening quote.
    bool high_bytes = false;
    while (true) {
      if (pos_ >= s_.size()) return Fail("unterminated string");
      char c = s_[pos_];
      if (c == '"') {
        if (high_bytes && !IsValidUtf8(*out)) {
          pos_ = start;
          return Fail("a string that is not valid UTF-8");
        }
        ++pos_;
        return true;
      }
      high_bytes = high_bytes || static_cast<unsigned char>(c) >= 0x80;
      if (static_cast<unsigned char>(c) < 0x20) return Fail("control character in a string");
      if (c != '\\') {
        out->push_back(c);
        ++pos_;
        continue;
      }
      ++pos_;
      if (pos_ >= s_.size()) return Fail("unterminated string");
      char e = s_[pos_++];
      switch (e) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t cp;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xd800 && cp < 0xdc00) {
            uint32_t lo;
            if (!Literal("\\u") || !Hex4(&lo) || lo < 0xdc00 || lo >= 0xe000) {
              return Fail("unpaired surrogate in \\u escape");
            }
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          } else if (cp >= 0xdc00 && cp < 0xe000) {
            return Fail("unpaired surrogate in \\u escape");
          }
          AppendUtf8(out, cp);
          break;
        }
        default:
          --pos_;
          return Fail(absl::StrFormat("invalid escape '\\%c'", e));
      }
    }
  }

  bool Array(JsonValue* v, int depth) {
    v->type = JsonValue::Type::kArray;
    ++pos_;
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      v->items.emplace_back();
      if (!Value(&v->items.back(), depth + 1)) return false;
      SkipSpace();
      if (pos_ >= s_.size()) return Fail("unterminated array");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return Fail("expected ',' or ']' in an array");
    }
  }

  bool Object(JsonValue* v, int depth) {
    v->type = JsonValue::Type::kObject;
    ++pos_;
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"') return Fail("expected a string key in an object");
      std::string key;
      if (!String(&key)) return false;
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') return Fail("expected ':' after an object key");
      ++pos_;
      v->members.push_back(JsonMember{std::move(key), JsonValue()});
      JsonValue& value = v->members.back().second;
      if (depth == 0 && !options_.pairs_member.empty() &&
          v->members.back().first == options_.pairs_member && Pairs(&value)) {
        // Read as pairs.
      } else if (!Value(&value, depth + 1)) {
        return false;
      }
      SkipSpace();
      if (pos_ >= s_.size()) return Fail("unterminated object");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return Fail("expected ',' or '}' in an object");
    }
  }

  // The end of the JSON number at p (the grammar of Number()), or npos.
  size_t NumberEnd(size_t p, bool* integral) const {
    const size_t n = s_.size();
    *integral = true;
    if (p < n && s_[p] == '-') ++p;
    auto digits = [&] {
      const size_t d = p;
      while (p < n && s_[p] >= '0' && s_[p] <= '9') ++p;
      return p - d;
    };
    if (p < n && s_[p] == '0') {
      ++p;
    } else if (digits() == 0) {
      return std::string_view::npos;
    }
    if (p < n && s_[p] == '.') {
      ++p;
      *integral = false;
      if (digits() == 0) return std::string_view::npos;
    }
    if (p < n && (s_[p] == 'e' || s_[p] == 'E')) {
      ++p;
      *integral = false;
      if (p < n && (s_[p] == '+' || s_[p] == '-')) ++p;
      if (digits() == 0) return std::string_view::npos;
    }
    return p;
  }

  // At '[': an array of [whole number, finite number] items straight into
  // v->pairs. False, with the position unchanged, at anything else.
  bool Pairs(JsonValue* v) {
    const size_t start = pos_;
    auto fail = [&] {
      pos_ = start;
      v->pairs.clear();
      return false;
    };
    auto expect = [&](char c) {
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != c) return false;
      ++pos_;
      return true;
    };
    SkipSpace();
    if (!expect('[')) return fail();
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
    } else {
      for (;;) {
        if (!expect('[')) return fail();
        SkipSpace();
        bool integral = false;
        size_t end = NumberEnd(pos_, &integral);
        if (end == std::string_view::npos || !integral || end - pos_ > 15) return fail();
        int64_t t = 0;
        if (std::from_chars(s_.data() + pos_, s_.data() + end, t).ec != std::errc()) return fail();
        pos_ = end;
        if (!expect(',')) return fail();
        SkipSpace();
        end = NumberEnd(pos_, &integral);
        double x = 0;
        if (end == std::string_view::npos ||
            std::from_chars(s_.data() + pos_, s_.data() + end, x).ec != std::errc() ||
            !std::isfinite(x)) {
          return fail();
        }
        pos_ = end;
        if (!expect(']')) return fail();
        v->pairs.emplace_back(t, x);
        SkipSpace();
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          continue;
        }
        if (!expect(']')) return fail();
        break;
      }
    }
    v->type = JsonValue::Type::kArray;
    v->paired = true;
    return true;
  }

  std::string_view s_;
  const JsonOptions options_;
  size_t pos_ = 0;
  std::string err_;
  size_t err_pos_ = 0;
};

}  // namespace

absl::StatusOr<JsonValue> ParseJson(std::string_view text) { return Parser(text).Document(); }

absl::StatusOr<JsonValue> ParseJson(std::string_view text, const JsonOptions& options) {
  return Parser(text, options).Document();
}

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out->append(absl::StrFormat("\\u%04x", c));
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

}  // namespace triage::collectors
