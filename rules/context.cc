#include "rules/context.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proto/model/time.h"

namespace triage::rules {

namespace {

std::string Minutes(int64_t ms) { return absl::StrFormat("%d min", (ms + 30'000) / 60'000); }

}  // namespace

std::string Join(const std::set<std::string>& s) { return absl::StrJoin(s, ", "); }

bool AppliesTo(const v1::Change& c, const std::set<std::string>& services) {
  return c.service() == "*" || services.contains(c.service());
}

std::vector<const v1::Change*> Candidates(
    const Context& ctx, const google::protobuf::RepeatedPtrField<std::string>& kinds,
    const std::set<std::string>& services) {
  return Candidates(ctx, kinds, services, ctx.candidate_from, ctx.candidate_to);
}

std::vector<const v1::Change*> Candidates(
    const Context& ctx, const google::protobuf::RepeatedPtrField<std::string>& kinds,
    const std::set<std::string>& services, int64_t from, int64_t to) {
  std::vector<const v1::Change*> out;
  for (const v1::Change& c : ctx.changes) {
    int64_t t = ToMs(c.time());
    if (t < from || t > to) continue;
    if (std::find(kinds.begin(), kinds.end(), c.kind()) == kinds.end()) continue;
    if (AppliesTo(c, services)) out.push_back(&c);
  }
  std::stable_sort(out.begin(), out.end(), [](const v1::Change* a, const v1::Change* b) {
    return ToMs(a->time()) > ToMs(b->time());
  });
  return out;
}

std::string DescribeChange(const v1::Change& c, int64_t onset) {
  int64_t before = onset - ToMs(c.time());
  std::string when =
      before >= 0 ? Minutes(before) + " before onset" : Minutes(-before) + " after onset";
  std::string version;
  if (!c.version().empty()) {
    version = c.previous_version().empty()
                  ? absl::StrFormat(" %s", c.version())
                  : absl::StrFormat(" %s <- %s", c.version(), c.previous_version());
  }
  return absl::StrFormat("%s %s on %s%s at %s (%s)%s", c.id(), c.kind(), c.service(), version,
                         FormatRfc3339(ToMs(c.time())), when,
                         c.summary().empty() ? "" : ": " + c.summary());
}

bool AddCandidates(const std::vector<const v1::Change*>& candidates, const Context& ctx,
                   v1::CategoryVerdict* v, std::vector<std::string>* evidence) {
  for (const v1::Change* c : candidates) {
    v->add_change_ids(c->id());
    evidence->push_back("candidate " + DescribeChange(*c, ctx.onset));
  }
  return !candidates.empty();
}

std::string WindowText(const Context& ctx) {
  return absl::StrFormat("[%s, %s]", FormatRfc3339(ctx.candidate_from),
                         FormatRfc3339(ctx.candidate_to));
}

}  // namespace triage::rules
