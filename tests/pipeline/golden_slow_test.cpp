// Behaviour pinned: `nervemap demo --truth-masks` (the phantom's own masks, so no model is involved) writes
// the report.json of tests/pipeline/golden/, field by field, `created` aside. A change that moves a nerve,
// a distance or a grade shows here as the list of fields that differ; when the change is intended, write
// the new golden copy with NERVEMAP_UPDATE_GOLDEN=1 and say why in the commit.
#include "support/test_support.h"

#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <gtest/gtest.h>

using namespace nervemap;
using namespace nervemap::test;
namespace fs = std::filesystem;

namespace {

const fs::path kGolden = "tests/pipeline/golden/demo_truth_masks.report.json";

//! Every place where two documents differ (JSON pointer: expected vs actual), up to `limit`.
void differences(const nlohmann::json& expected,
                 const nlohmann::json& actual,
                 const std::string& where,
                 std::vector<std::string>& out,
                 size_t limit = 25) {
  if (out.size() >= limit)
    return;
  if (expected.type() != actual.type() && !(expected.is_number() && actual.is_number())) {
    out.push_back(fmt::format("{}: {} vs {}", where, expected.dump(), actual.dump()));
    return;
  }
  if (expected.is_object()) {
    for (const auto& [key, value] : expected.items())
      if (!actual.contains(key))
        out.push_back(fmt::format("{}/{}: missing", where, key));
      else
        differences(value, actual.at(key), where + "/" + key, out, limit);
    for (const auto& [key, value] : actual.items())
      if (!expected.contains(key))
        out.push_back(fmt::format("{}/{}: new ({})", where, key, value.dump()));
  } else if (expected.is_array()) {
    if (expected.size() != actual.size())
      out.push_back(fmt::format("{}: {} items vs {}", where, expected.size(), actual.size()));
    for (size_t i = 0; i < std::min(expected.size(), actual.size()); ++i)
      differences(expected[i], actual[i], fmt::format("{}/{}", where, i), out, limit);
  } else if (expected != actual) {
    out.push_back(fmt::format("{}: {} vs {}", where, expected.dump(), actual.dump()));
  }
}

} // namespace

TEST(GoldenReport, DemoWithTheTruthMasksIsUnchanged) {
  TempDir dir;
  const auto r = run_nervemap({"--quiet",
                               "demo",
                               "--truth-masks",
                               "--out",
                               (dir / "demo").string(),
                               "--data",
                               (dir / "data").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json actual = read_json(dir / "demo" / "results" / "report.json");
  actual.erase("created");
  if (const char* update = std::getenv("NERVEMAP_UPDATE_GOLDEN"); update && std::string(update) == "1") {
    std::ofstream(kGolden) << actual.dump(1) << '\n';
    GTEST_SKIP() << "wrote " << kGolden;
  }
  ASSERT_TRUE(fs::is_regular_file(kGolden)) << "run from the source tree (CTest does)";
  nlohmann::json expected = read_json(kGolden);
  expected.erase("created");
  std::vector<std::string> diff;
  differences(expected, actual, "", diff);
  EXPECT_TRUE(diff.empty()) << diff.size() << " fields differ from " << kGolden << ", first:\n"
                            << fmt::format("{}", fmt::join(diff, "\n"));
  // Not vacuous: the golden case has tumours by two nerves and every nerve of the rule base.
  EXPECT_EQ(expected["tumours"].size(), 2u);
  EXPECT_GE(expected["nerves"].size(), 14u);
}
