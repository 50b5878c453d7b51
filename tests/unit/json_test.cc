#include "collectors/json.h"

#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace triage::collectors {
namespace {

using ::testing::HasSubstr;

TEST(JsonTest, ParsesNestedDocuments) {
  absl::StatusOr<JsonValue> v =
      ParseJson(R"( {"a": [1, -2.5e3, true, null, "x\"y\u00e9"], "b": {}, "a2": 1777334400000} )");
  ASSERT_TRUE(v.ok()) << v.status();
  const JsonValue* a = v->Find("a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->items.size(), 5u);
  EXPECT_EQ(a->items[0].number, 1);
  EXPECT_TRUE(a->items[0].integral);
  EXPECT_EQ(a->items[1].number, -2500);
  EXPECT_FALSE(a->items[1].integral);
  EXPECT_TRUE(a->items[2].boolean);
  EXPECT_TRUE(a->items[3].is_null());
  EXPECT_EQ(a->items[4].text, "x\"y\xc3\xa9");
  EXPECT_EQ(v->Find("a2")->number, 1777334400000.0);
  EXPECT_EQ(v->Find("missing"), nullptr);
}

TEST(JsonTest, KeepsNonFiniteNumbersForTheCallerToReject) {
  absl::StatusOr<JsonValue> v = ParseJson("[NaN, Infinity, -Infinity, 1e999]");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(std::isnan(v->items[0].number));
  EXPECT_EQ(v->items[0].text, "NaN");
  EXPECT_TRUE(std::isinf(v->items[1].number));
  EXPECT_EQ(v->items[2].text, "-Infinity");
  EXPECT_TRUE(std::isinf(v->items[3].number));
}

TEST(JsonTest, ErrorsNameTheColumn) {
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {R"({"a" 1})", "column 6: expected ':'"},
      {R"({"a": [1, 2})", "column 12: expected ',' or ']'"},
      {R"({"a": 01})", "column 8: expected ',' or '}'"},
      {R"({"a": "x)", "unterminated string"},
      {R"({"a": tru})", "invalid literal"},
      {R"({} extra)", "unexpected text after the JSON value"},
      {"", "unexpected end of input"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<JsonValue> v = ParseJson(c.text);
    ASSERT_FALSE(v.ok()) << c.text;
    EXPECT_THAT(v.status().message(), HasSubstr(c.message)) << c.text;
  }
}

TEST(JsonTest, DeepNestingIsAnErrorNotACrash) {
  std::string deep(10000, '[');
  EXPECT_FALSE(ParseJson(deep).ok());
}

TEST(JsonTest, AppendJsonStringEscapes) {
  std::string out;
  AppendJsonString(&out, "a\"b\\c\n\x01");
  EXPECT_EQ(out, R"("a\"b\\c\n\u0001")");
}

TEST(JsonTest, StringsMustBeValidUtf8) {
  EXPECT_THAT(std::string(ParseJson("{\"a\":\"bad \xc0\xaf\"}").status().message()),
              HasSubstr("column 6: a string that is not valid UTF-8"));
  EXPECT_THAT(std::string(ParseJson(R"(["\udc00"])").status().message()),
              HasSubstr("unpaired surrogate"));
  EXPECT_TRUE(ParseJson("[\"caf\xc3\xa9\", \"\\ud83d\\ude00\"]").ok());
}

}  // namespace
// Points read as pairs (a bundle's series) hold what the generic reading
// would; anything else under that member is read the generic way, errors
// and all.
TEST(JsonTest, PairsAreReadStraightOnlyWhenWellFormed) {
  const JsonOptions pairs{.pairs_member = "points"};
  absl::StatusOr<JsonValue> v =
      ParseJson(R"({"points": [ [1, 0.5] ,[ -2,1e-3],[3,-0],[4,7E+2]], "x": [[1,2]]})", pairs);
  ASSERT_TRUE(v.ok()) << v.status();
  const JsonValue* p = v->Find("points");
  ASSERT_TRUE(p->paired);
  EXPECT_TRUE(p->items.empty());
  EXPECT_EQ(p->pairs,
            (std::vector<std::pair<int64_t, double>>{{1, 0.5}, {-2, 1e-3}, {3, -0.0}, {4, 700}}));
  EXPECT_FALSE(v->Find("x")->paired) << "only the named member";
  EXPECT_TRUE(ParseJson(R"({"points": []})", pairs)->Find("points")->paired);
  for (const char* generic : {R"({"points": [[1.5, 2]]})", R"({"points": [[1, NaN]]})",
                              R"({"points": [[1, 2, 3]]})", R"({"points": [[1, "2"]]})",
                              R"({"points": [[1e3, 2]]})", R"({"points": [[1234567890123456, 2]]})",
                              R"({"points": [[1, 1e999]]})", R"({"points": {"a": 1}})"}) {
    absl::StatusOr<JsonValue> g = ParseJson(generic, pairs);
    ASSERT_TRUE(g.ok()) << generic;
    EXPECT_FALSE(g->Find("points")->paired) << generic;
    EXPECT_EQ(g->Find("points")->type, ParseJson(generic)->Find("points")->type) << generic;
  }
  // A syntax error inside is reported where the generic reading finds it.
  const char* broken = R"({"points": [[1, 2], [3 4]]})";
  EXPECT_EQ(ParseJson(broken, pairs).status().message(), ParseJson(broken).status().message());
}

}  // namespace triage::collectors
