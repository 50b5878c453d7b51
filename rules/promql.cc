#include "rules/promql.h"

#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"

namespace triage::rules {

namespace {

// Calls visit(i, depth) for each byte of `text` outside string literals;
// false (with *error) when brackets or quotes do not balance.
template <typename Visit>
bool Scan(std::string_view text, Visit visit, std::string* error) {
  std::string open;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote != 0) {
      if (c == '\\' && quote != '`') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if (c == '"' || c == '\'' || c == '`') {
      quote = c;
      continue;
    }
    if (c == '(' || c == '{' || c == '[') {
      open.push_back(c);
    } else if (c == ')' || c == '}' || c == ']') {
      const char want = c == ')' ? '(' : c == '}' ? '{' : '[';
      if (open.empty() || open.back() != want) {
        *error = absl::StrFormat("column %d: unbalanced '%c'", i + 1, c);
        return false;
      }
      open.pop_back();
    }
    if (!visit(i, open.size())) return true;
  }
  if (quote != 0) {
    *error = "unterminated string";
    return false;
  }
  if (!open.empty()) {
    *error = absl::StrFormat("unclosed '%c'", open.back());
    return false;
  }
  return true;
}

}  // namespace

std::string PromqlString(const std::string& s) {
  return absl::StrCat("\"", absl::StrReplaceAll(s, {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}}),
                      "\"");
}

std::string SelectorOf(const std::string& service, const std::string& metric) {
  return absl::StrFormat("%s{service=%s}", metric, PromqlString(service));
}

std::string ComparedSide(const std::string& expr) {
  std::string_view text = expr;
  size_t cut = std::string_view::npos;
  std::string error;
  Scan(
      text,
      [&](size_t i, size_t depth) {
        if (depth != 0) return true;
        const char c = text[i];
        const char next = i + 1 < text.size() ? text[i + 1] : 0;
        if (c == '<' || c == '>' || ((c == '=' || c == '!') && next == '=')) {
          cut = i;
          return false;
        }
        return true;
      },
      &error);
  return std::string(absl::StripAsciiWhitespace(absl::string_view(expr).substr(0, cut)));
}

std::string QueryOf(const google::protobuf::Map<std::string, std::string>& templates,
                    const std::string& service, const std::string& metric,
                    const std::string& alert_expr) {
  if (auto t = templates.find(metric); t != templates.end()) {
    // Inside the template's quotes: the literal without its own.
    std::string value = PromqlString(service);
    return absl::StrReplaceAll(t->second, {{"$service", value.substr(1, value.size() - 2)}});
  }
  if (std::string side = ComparedSide(alert_expr); !side.empty()) return side;
  return SelectorOf(service, metric);
}

absl::Status CheckQueryTemplate(const std::string& text) {
  if (absl::StripAsciiWhitespace(text).empty()) return absl::InvalidArgumentError("empty query");
  for (size_t i = text.find('$'); i != std::string::npos; i = text.find('$', i + 1)) {
    if (text.compare(i + 1, 7, "service") != 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("column %d: only $service may be replaced", i + 1));
    }
  }
  std::string error;
  if (!Scan(
          text, [](size_t, size_t) { return true; }, &error)) {
    return absl::InvalidArgumentError(error);
  }
  return absl::OkStatus();
}

}  // namespace triage::rules
