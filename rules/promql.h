// The little PromQL the engine writes or reads: a metric's selector, the
// tree's query templates, and the compared side of an alert's expression.
// Pure functions; thread-safe.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/map.h"

namespace triage::rules {

// `s` as a PromQL string literal, quoted and escaped.
std::string PromqlString(const std::string& s);

// METRIC{service="S"}, the label value escaped as PromQL wants.
std::string SelectorOf(const std::string& service, const std::string& metric);

// What draws `metric` of `service`: the tree's template for the metric
// ($service replaced), else `alert_expr` (its left-hand side when it is a
// comparison), else SelectorOf.
std::string QueryOf(const google::protobuf::Map<std::string, std::string>& templates,
                    const std::string& service, const std::string& metric,
                    const std::string& alert_expr = "");

// The left-hand side of a PromQL comparison at the top level
// ("m{a="b"} < 0.7" -> "m{a="b"}"), else `expr` trimmed.
std::string ComparedSide(const std::string& expr);

// A tree's query template is usable: brackets and quotes balance, and "$"
// names only $service. InvalidArgument says where it is not.
absl::Status CheckQueryTemplate(const std::string& text);

}  // namespace triage::rules
