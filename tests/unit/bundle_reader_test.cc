#include "collectors/bundle_reader.h"

#include <zlib.h>

#include <cstdio>
#include <filesystem>

#include "collectors/bundle_writer.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace triage::collectors {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kIncident[] =
    R"({"type":"incident","id":"inc-1","alerts":[{"service":"reranker","metric":"ndcg","fired_at":"2026-04-28T03:00:00Z"}],"expected":{"category":"feature_drift","change_id":null}})";

std::vector<std::string> Errors(const std::string& body, BundleReadOptions options = {}) {
  BundleReadResult r = ReadBundle("b.jsonl", body, options);
  std::vector<std::string> out;
  for (const v1::InputError& e : r.errors.errors()) out.push_back(Render(e));
  if (!r.ok()) {
    EXPECT_EQ(r.bundle.ByteSizeLong(), 0u) << "a bundle with errors yields no records";
  }
  return out;
}

// The single error of a bundle made of the incident (line 1) and `line` (line 2).
std::string ErrorOf(const std::string& line) {
  std::vector<std::string> e = Errors(std::string(kIncident) + "\n" + line + "\n");
  EXPECT_EQ(e.size(), 1u) << line;
  return e.empty() ? "" : e[0];
}

TEST(BundleReaderTest, ReadsEveryRecordType) {
  std::string body = std::string(kIncident) + "\n\n" + R"(
{"type":"dependency","service":"reranker","depends_on":["embedding","catalog-items"]}
{"type":"change","id":"chg-1","time":"2026-04-28T01:55:00Z","kind":"model_version","service":"embedding","version":"b","previous_version":"a","actor":"ci","summary":"s","source":"model-registry","url":"https://example.invalid/x","extra":"ignored"}
{"type":"series","metric":"ndcg","labels":{"service":"reranker"},"points":[[1777334460000,0.5],[1777334400000,0.781],[1777334460000,0.779]]}
{"type":"histogram","feature":"score","service":"reranker","start":"2026-04-28T02:00:00Z","end":"2026-04-28T03:00:00Z","edges":[0.0,0.1,0.2,0.3],"counts":[120,340,90]}
{"type":"histogram","feature":"locale","service":"reranker","start":"2026-04-28T02:00:00Z","end":"2026-04-28T03:00:00Z","categories":{"en":1400,"ja":520}}
{"type":"upstream","source":"catalog-items","consumer":"reranker","time":"2026-04-28T02:00:00Z","row_count":1204331,"schema_fingerprint":"sha256:9f2c","last_seen":"2026-04-28T01:58:00Z","freshness_sla_seconds":7200}
{"type":"eval_set","service":"reranker","name":"golden-v3","time":"2026-04-28T02:00:00Z","refreshed_at":"2026-03-03T00:00:00Z","catalog_turnover":0.14}
{"type":"dependency_health","service":"opensearch","check":"shard_3_recall","time":"2026-04-28T02:40:00Z","value":0.43,"min":0.85}
)";
  BundleReadResult r = ReadBundle("b.jsonl", body);
  ASSERT_TRUE(r.ok()) << r.ToStatus();
  const v1::Bundle& b = r.bundle;
  EXPECT_EQ(b.incident().id(), "inc-1");
  EXPECT_EQ(b.incident().alerts(0).fired_at().seconds(), 1777345200);
  EXPECT_EQ(b.incident().expected().category(), "feature_drift");
  EXPECT_EQ(b.records().dependencies(0).depends_on_size(), 2);
  EXPECT_EQ(b.records().changes(0).previous_version(), "a");
  // Points are sorted and a repeated timestamp keeps the last value.
  ASSERT_EQ(b.records().series(0).points_size(), 2);
  EXPECT_EQ(b.records().series(0).points(0).t_ms(), 1777334400000);
  EXPECT_EQ(b.records().series(0).points(1).value(), 0.779);
  EXPECT_EQ(b.records().histograms(0).counts_size(), 3);
  EXPECT_EQ(b.records().histograms(1).categories().at("ja"), 520);
  EXPECT_EQ(b.records().upstreams(0).row_count(), 1204331);
  EXPECT_EQ(b.records().eval_sets(0).catalog_turnover(), 0.14);
  EXPECT_EQ(b.records().dependency_health(0).min(), 0.85);
  EXPECT_FALSE(b.records().dependency_health(0).has_max());

  // The writer gives back a bundle that reads as the same records.
  std::string written;
  WriteIncident(b.incident(), &written);
  WriteRecords(b.records(), &written);
  BundleReadResult again = ReadBundle("w.jsonl", written);
  ASSERT_TRUE(again.ok()) << again.ToStatus() << "\n" << written;
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(again.bundle, b))
      << again.bundle.DebugString() << "\nvs\n"
      << b.DebugString();
}

TEST(BundleReaderTest, InvalidJson) {
  EXPECT_EQ(ErrorOf(R"({"type":"change",)"),
            "b.jsonl:2: json: invalid JSON: column 18: expected a string key in an object");
  EXPECT_EQ(ErrorOf("[1,2]"), "b.jsonl:2: json: expected an object, got an array");
}

TEST(BundleReaderTest, UnknownTypeIsAnErrorUnlessLenient) {
  std::string body = std::string(kIncident) + "\n" + R"({"type":"weather","id":1})";
  EXPECT_THAT(Errors(body),
              ElementsAre(HasSubstr("b.jsonl:2: type: unknown record type \"weather\"")));
  BundleReadResult r = ReadBundle("b.jsonl", body, {.lenient = true});
  EXPECT_TRUE(r.ok());
  EXPECT_THAT(r.warnings, ElementsAre(HasSubstr(":2: type: unknown record type")));
}

TEST(BundleReaderTest, MissingRequiredField) {
  EXPECT_EQ(ErrorOf(R"({"type":"change","id":"c","kind":"config","service":"svc"})"),
            "b.jsonl:2: time: missing required field");
  EXPECT_EQ(ErrorOf(R"({"type":"series","metric":"m","labels":{}})"),
            "b.jsonl:2: points: missing required field");
  EXPECT_EQ(ErrorOf(R"({"metric":"m"})"), "b.jsonl:2: type: missing required field");
}

TEST(BundleReaderTest, UnparsableTime) {
  EXPECT_THAT(
      ErrorOf(R"({"type":"change","id":"c","time":"yesterday","kind":"config","service":"svc"})"),
      HasSubstr("b.jsonl:2: time: \"yesterday\" is not an RFC 3339 time"));
}

TEST(BundleReaderTest, NanAndInfinity) {
  EXPECT_EQ(
      ErrorOf(R"({"type":"series","metric":"m","labels":{},"points":[[1,0.5],[2,NaN]]})"),
      "b.jsonl:2: points[1][1]: NaN is not a finite number (NaN and Infinity are not allowed)");
  EXPECT_THAT(
      ErrorOf(
          R"({"type":"dependency_health","service":"s","check":"c","time":"2026-04-28T02:40:00Z","value":-Infinity})"),
      HasSubstr("b.jsonl:2: value: -Infinity is not a finite number"));
  EXPECT_THAT(ErrorOf(R"({"type":"series","metric":"m","points":[[1,1e999]]})"),
              HasSubstr("points[0][1]: 1e999 is not a finite number"));
}

constexpr char kHist[] =
    R"({"type":"histogram","feature":"f","service":"s","start":"2026-04-28T02:00:00Z","end":"2026-04-28T03:00:00Z",)";

TEST(BundleReaderTest, NegativeCount) {
  EXPECT_EQ(ErrorOf(std::string(kHist) + R"("edges":[0,1,2],"counts":[1,-3]})"),
            "b.jsonl:2: counts[1]: negative count -3");
  EXPECT_EQ(ErrorOf(std::string(kHist) + R"("categories":{"en":-1}})"),
            "b.jsonl:2: categories.en: negative count -1");
  EXPECT_EQ(
      ErrorOf(
          R"({"type":"upstream","source":"a","consumer":"b","time":"2026-04-28T02:00:00Z","row_count":-5})"),
      "b.jsonl:2: row_count: negative value -5 (must be >= 0)");
}

TEST(BundleReaderTest, EdgesNotStrictlyIncreasing) {
  EXPECT_EQ(ErrorOf(std::string(kHist) + R"("edges":[0,1,1],"counts":[1,2]})"),
            "b.jsonl:2: edges[2]: edges must be strictly increasing (1 after 1)");
}

TEST(BundleReaderTest, CountsEdgesLengthMismatch) {
  EXPECT_EQ(ErrorOf(std::string(kHist) + R"("edges":[0,1,2],"counts":[1,2,3]})"),
            "b.jsonl:2: counts: 3 counts for 3 edges (n edges need n-1 counts)");
}

TEST(BundleReaderTest, EdgesDifferingFromTheFeaturesEarlierHistograms) {
  std::string body = std::string(kIncident) + "\n" + kHist + R"("edges":[0,1,2],"counts":[1,2]})" +
                     "\n" + kHist + R"("edges":[0,1,3],"counts":[1,2]})" + "\n";
  EXPECT_THAT(Errors(body), ElementsAre("b.jsonl:3: edges: edges [0,1,3] differ from feature s/f's "
                                        "edges [0,1,2] (first at line 2)"));
}

TEST(BundleReaderTest, NameOutsideTheAllowedCharacters) {
  EXPECT_EQ(ErrorOf(R"({"type":"dependency","service":"re ranker","depends_on":[]})"),
            "b.jsonl:2: service: \"re ranker\" is not a valid name ([A-Za-z0-9_.:-]{1,128})");
  EXPECT_EQ(ErrorOf(R"({"type":"dependency","service":"a","depends_on":["ok","b/c"]})"),
            "b.jsonl:2: depends_on[1]: \"b/c\" is not a valid name ([A-Za-z0-9_.:-]{1,128})");
  EXPECT_THAT(ErrorOf(std::string(R"({"type":"series","metric":")") + std::string(129, 'm') +
                      R"(","points":[]})"),
              HasSubstr("b.jsonl:2: metric: \"mmmm"));
}

TEST(BundleReaderTest, UnknownChangeKind) {
  EXPECT_THAT(
      ErrorOf(
          R"({"type":"change","id":"c","time":"2026-04-28T02:00:00Z","kind":"deploy","service":"*"})"),
      HasSubstr("b.jsonl:2: kind: unknown change kind \"deploy\" (known: code_deploy,"));
}

TEST(BundleReaderTest, ZeroOrTwoIncidentRecords) {
  EXPECT_THAT(
      Errors(R"({"type":"dependency","service":"a","depends_on":[]})"),
      ElementsAre("b.jsonl:1: type: the bundle has no incident record (exactly one is required)"));
  EXPECT_THAT(Errors(std::string(kIncident) + "\n" + kIncident),
              ElementsAre("b.jsonl:2: type: a second incident record (the first is at line 1); a "
                          "bundle holds exactly one"));
  // The daemon's ingest path allows a bundle without one.
  EXPECT_THAT(
      Errors(R"({"type":"dependency","service":"a","depends_on":[]})", {.require_incident = false}),
      IsEmpty());
}

TEST(BundleReaderTest, DependencyCycleNamesItsServices) {
  std::string body = std::string(kIncident) + "\n" +
                     R"({"type":"dependency","service":"a","depends_on":["b"]})" + "\n" +
                     R"({"type":"dependency","service":"b","depends_on":["c"]})" + "\n" +
                     R"({"type":"dependency","service":"c","depends_on":["a"]})" + "\n";
  EXPECT_THAT(Errors(body),
              ElementsAre("b.jsonl:2: depends_on: dependency cycle: a -> b -> c -> a"));
}

TEST(BundleReaderTest, ReportsAllErrorsUpToTheCap) {
  std::string body = std::string(kIncident) + "\n";
  for (int i = 0; i < 10; ++i)
    body += R"({"type":"change"})"
            "\n";
  std::vector<std::string> all = Errors(body);
  EXPECT_EQ(all.size(), 40u);  // id, time, kind, service on each of 10 lines.
  EXPECT_EQ(all.front(), "b.jsonl:2: id: missing required field");
  EXPECT_EQ(all.back(), "b.jsonl:11: service: missing required field");
  BundleReadResult capped = ReadBundle("b.jsonl", body, {.max_errors = 5});
  EXPECT_EQ(capped.errors.errors_size(), 5);
  EXPECT_TRUE(capped.errors.truncated());
  EXPECT_THAT(std::string(capped.ToStatus().message()), HasSubstr("stopped after 5 errors"));
}

TEST(BundleReaderTest, ReadsGzipAndPlainFiles) {
  std::string dir = ::testing::TempDir();
  std::string plain = dir + "/bundle.jsonl", gz = dir + "/bundle.jsonl.gz";
  std::string body = std::string(kIncident) + "\n";
  FILE* f = std::fopen(plain.c_str(), "wb");
  std::fwrite(body.data(), 1, body.size(), f);
  std::fclose(f);
  gzFile g = gzopen(gz.c_str(), "wb");
  gzwrite(g, body.data(), static_cast<unsigned>(body.size()));
  gzclose(g);
  for (const std::string& path : {plain, gz}) {
    BundleReadResult r = ReadBundleFile(path);
    EXPECT_TRUE(r.ok()) << path << " " << r.ToStatus();
    EXPECT_EQ(r.bundle.incident().id(), "inc-1");
  }
  BundleReadResult missing = ReadBundleFile(dir + "/nope.jsonl");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(Render(missing.errors.errors(0)), HasSubstr("nope.jsonl:0: file: cannot open"));
}

}  // namespace
}  // namespace triage::collectors
