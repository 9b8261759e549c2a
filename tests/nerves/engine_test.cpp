// Engine behaviour: gaps, not_estimated, levels, corridor, variants, validation of rule files.
#include "synthetic.h"

#include <algorithm>
#include <gtest/gtest.h>

using namespace nervemap;
using namespace nervemap::test;

namespace {

const std::string kVagusLike = kTestRuleHead + R"(extent:
  from: {top_of: common_carotid_artery_<side>}
  to: {bottom_of: common_carotid_artery_<side>}
placement:
  - name: between
    primitive: between
    a: common_carotid_artery_<side>
    b: internal_jugular_vein_<side>
    t: {value: 0.5, tag: D, note: t}
    sd_mm: {lateral: {value: 2, tag: D, note: t}, anteroposterior: {value: 3, tag: D, note: t}}
)";

LabelMap sheath(double gap_from, double gap_to) {
  Geometry g = grid({0, -15, 0}, {45, 15, 80}, {0.5, 0.5, 1.0});
  std::vector<Shape> shapes{cylinder("common_carotid_artery_left", 22, 0, 3.3, 2, 78),
                            cylinder("internal_jugular_vein_left", 34, 0, 5, 2, gap_from),
                            cylinder("internal_jugular_vein_left", 34, 0, 5, gap_to, 78)};
  return rasterise(g, shapes);
}

std::vector<nerves::NervePath> run(const LabelMap& m,
                                   const std::string& text,
                                   Warnings& w,
                                   const nerves::EstimationOptions& opt = {},
                                   const std::string& settings = shipped_settings()) {
  RuleDir dir({{"testnerve.yaml", text}}, settings);
  return nerves::estimate_nerves(nerves::load_rule_base(dir.path()), m, nullptr, opt, w);
}

} // namespace

TEST(Engine, BridgesShortGapsAndReportsSkippedLevels) {
  Warnings w;
  auto p = run(sheath(40, 47), kVagusLike, w).at(0);
  ASSERT_TRUE(p.estimated);
  EXPECT_EQ(p.segments.size(), 1u);
  ASSERT_FALSE(p.skipped_levels.empty());
  for (const auto& s : p.skipped_levels) {
    EXPECT_GT(s.z_mm, 39.5);
    EXPECT_LT(s.z_mm, 47.5);
    EXPECT_EQ(s.reason, "internal_jugular_vein_left absent");
  }
  // The corridor widens across the bridged gap.
  double r_gap = 0, r_far = 0;
  for (size_t i = 0; i < p.path_mm.size(); ++i) {
    if (std::abs(p.path_mm[i].z() - 43.5) < 0.6)
      r_gap = p.corridor_r95_mm[i];
    if (std::abs(p.path_mm[i].z() - 65) < 0.6)
      r_far = p.corridor_r95_mm[i];
  }
  EXPECT_GT(r_gap, r_far);
  // r95 = 2.4477 · sqrt(max(2², 3²) + 1²) + 1 away from gaps.
  EXPECT_NEAR(r_far, 2.4477 * std::sqrt(10.0) + 1.0, 0.01);
}

//! The corridor 95 % radius at the path point nearest to level z.
double r95_at(const nerves::NervePath& p, double z) {
  size_t best = 0;
  for (size_t i = 0; i < p.path_mm.size(); ++i)
    if (std::abs(p.path_mm[i].z() - z) < std::abs(p.path_mm[best].z() - z))
      best = i;
  return p.corridor_r95_mm.at(best);
}

TEST(Engine, CorridorGrowthAcrossGapsIsTheRuleBaseSetting) {
  Warnings w;
  const LabelMap m = sheath(40, 47);
  auto shipped = run(m, kVagusLike, w).at(0);
  auto none = run(m, kVagusLike, w, {}, with_value(shipped_settings(), "gap_sd_per_mm", "0")).at(0);
  auto steep = run(m, kVagusLike, w, {}, with_value(shipped_settings(), "gap_sd_per_mm", "1.0")).at(0);
  ASSERT_TRUE(shipped.estimated && none.estimated && steep.estimated);
  // Without growth the corridor in the gap is the one far from it; the steeper, the wider.
  EXPECT_NEAR(r95_at(none, 43.5), r95_at(none, 65), 1e-9);
  EXPECT_GT(r95_at(shipped, 43.5), r95_at(none, 43.5) + 0.1);
  EXPECT_GT(r95_at(steep, 43.5), r95_at(shipped, 43.5) + 0.1);
}

TEST(Engine, SliceSpacingWarningIsTheRuleBaseSetting) {
  auto warned = [](const std::string& settings) {
    Warnings w;
    run(sheath(200, 201), kVagusLike, w, {}, settings);
    for (const auto& m : w.items())
      if (m.find("slices are") != std::string::npos)
        return m;
    return std::string();
  };
  EXPECT_EQ(warned(shipped_settings()), ""); // 1 mm slices
  EXPECT_EQ(warned(with_value(shipped_settings(), "max_slice_spacing_mm", "0.5")),
            "slices are 1.0 mm apart (> 0.5 mm): small landmarks (cricoid, hyoid, thyroid poles) and nerve "
            "levels are less certain");
}

//! Both carotid sheaths and the oesophagus; with `aberrant`, a right subclavian artery behind the
//! oesophagus; with `right_vein`, the right jugular vein (a landmark of the test rule).
LabelMap neck(bool aberrant, bool right_vein = true) {
  Geometry g = grid({-45, -20, 0}, {45, 20, 60}, {1, 1, 1});
  std::vector<Shape> shapes{cylinder("common_carotid_artery_left", 22, 0, 3.3, 2, 58),
                            cylinder("internal_jugular_vein_left", 34, 0, 5, 2, 58),
                            cylinder("common_carotid_artery_right", -22, 0, 3.3, 2, 58),
                            cylinder("esophagus", 0, 5, 6, 2, 58)};
  if (right_vein)
    shapes.push_back(cylinder("internal_jugular_vein_right", -34, 0, 5, 2, 58));
  if (aberrant)
    shapes.push_back(box("subclavian_artery_right", {-8, 12, 20}, {8, 17, 30}));
  return rasterise(g, shapes);
}

//! kVagusLike for the given sides, with a variant whose right-side frequency is keyed on the condition
//! and carries a warning.
std::string with_condition_warning(const std::string& sides) {
  std::string text = kVagusLike;
  text.replace(text.find("sides: [left]"), 13, "sides: " + sides);
  return text + R"(variants:
  - name: elsewhere
    description: test variant
    probability:
      - side: right
        condition: aberrant_right_subclavian
        probability: {value: 0.2, tag: D, note: t}
        warning: "test: with this artery the right nerve may run elsewhere"
    placement:
      - name: behind the vein
        primitive: surface
        structure: internal_jugular_vein_<side>
        surface: posterior
        sd_mm: {lateral: {value: 2, tag: D, note: t}, anteroposterior: {value: 2, tag: D, note: t}}
)";
}

TEST(Engine, AConditionsWarningIsEmittedForAnEstimatedNerveOfItsSide) {
  const std::string warning = "test: with this artery the right nerve may run elsewhere";
  auto warnings = [&](const LabelMap& m, const std::string& sides) {
    Warnings w;
    auto paths = run(m, with_condition_warning(sides), w);
    return std::make_pair(std::count(w.items().begin(), w.items().end(), warning), paths);
  };
  auto [both, paths] = warnings(neck(true), "[left, right]");
  EXPECT_EQ(both, 1);
  ASSERT_EQ(paths.size(), 2u);
  EXPECT_TRUE(paths[1].estimated);
  EXPECT_NEAR(paths[1].variants.at(1).probability, 0.2, 1e-12); // the condition holds
  EXPECT_EQ(paths[0].variants.at(1).probability, 0.0);          // left: the entry is keyed right
  EXPECT_EQ(warnings(neck(true), "[left]").first, 0);           // not for the other side
  EXPECT_EQ(warnings(neck(false), "[left, right]").first, 0);   // not without the condition
  auto [unestimated, right] = warnings(neck(true, false), "[right]");
  EXPECT_FALSE(right.at(0).estimated);
  EXPECT_EQ(unestimated, 0); // not for a nerve that could not be placed
}

TEST(Engine, LongGapsSplitThePathAndWarn) {
  Warnings w;
  auto p = run(sheath(30, 50), kVagusLike, w).at(0);
  ASSERT_TRUE(p.estimated);
  ASSERT_EQ(p.segments.size(), 2u);
  EXPECT_GT(p.path_mm[p.segments[0].second].z(), 49);
  EXPECT_LT(p.path_mm[p.segments[1].first].z(), 31);
  bool warned = false;
  for (const auto& m : w.items())
    warned |= m.find("split") != std::string::npos;
  EXPECT_TRUE(warned);
}

TEST(Engine, MissingLandmarksMeanNotEstimatedWithTheReason) {
  Geometry g = grid({0, -15, 0}, {45, 15, 40}, {1, 1, 1});
  auto m = rasterise(g, {cylinder("common_carotid_artery_left", 22, 0, 3.3, 2, 38)});
  Warnings w;
  auto p = run(m, kVagusLike, w).at(0);
  EXPECT_FALSE(p.estimated);
  EXPECT_NE(p.reason.find("internal_jugular_vein_left"), std::string::npos) << p.reason;
  EXPECT_TRUE(p.path_mm.empty());
  EXPECT_TRUE(p.segments.empty()); // its report.json entry: tests/report/report_test.cpp
}

TEST(Engine, ResamplesAtMostOneMillimetreWithPositiveCorridor) {
  Warnings w;
  nerves::EstimationOptions opt;
  auto p = run(sheath(200, 201), kVagusLike, w, opt).at(0);
  ASSERT_TRUE(p.estimated);
  ASSERT_EQ(p.path_mm.size(), p.corridor_r95_mm.size());
  for (size_t i = 1; i < p.path_mm.size(); ++i)
    EXPECT_LE((p.path_mm[i] - p.path_mm[i - 1]).norm(), 1.0 + 1e-9);
  for (double r : p.corridor_r95_mm)
    EXPECT_GT(r, 0);
  EXPECT_NEAR(p.length_mm(), p.path_mm.front().z() - p.path_mm.back().z(), 0.01);
  EXPECT_EQ(p.id, "testnerve_left");
  ASSERT_EQ(p.variants.size(), 1u);
  EXPECT_EQ(p.variants[0].probability, 1.0);
}

TEST(RuleValidation, RejectsUnknownNamesAndUnsourcedNumbers) {
  auto expect_error = &expect_rule_error;
  std::string good = kVagusLike;
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    s.replace(s.find(from), from.size(), to);
    return s;
  };
  expect_error(replace("internal_jugular_vein_<side>", "jugular_thing_<side>"), "jugular_thing_left");
  expect_error(replace("primitive: between", "primitive: teleport"), "teleport");
  expect_error(replace("t: {value: 0.5, tag: D, note: t}", "t: {value: 0.5, tag: S}"), "needs a source");
  expect_error(replace("t: {value: 0.5, tag: D, note: t}", "t: {value: 0.5, tag: S, source: Nobody 1999}"),
               "unknown source 'Nobody 1999'");
  expect_error(replace("t: {value: 0.5, tag: D, note: t}", "t: 0.5"), "provenance");
  expect_error(replace("tag: D, note: t}\nextent", "tag: X, note: t}\nextent"), "provenance tag 'X'");
  expect_error(replace("{top_of: common_carotid_artery_<side>}", "{level: somewhere}"),
               "unknown level 'somewhere'");
  expect_error("nerve: [unclosed", "not valid YAML");
}

TEST(RuleBase, ShippedRulesLoadAndCiteKnownSources) {
  auto rules = nerves::load_rule_base(nerves::default_rules_dir());
  EXPECT_FALSE(rules.version.empty());
  for (const char* nerve : {"vagus",
                            "recurrent_laryngeal",
                            "superior_laryngeal_external",
                            "accessory",
                            "hypoglossal",
                            "phrenic",
                            "sympathetic_trunk"}) {
    const auto* r = rules.find(nerve);
    ASSERT_NE(r, nullptr) << nerve;
    EXPECT_EQ(r->sides, (std::vector<std::string>{"left", "right"}));
    EXPECT_FALSE(r->sources.empty()) << nerve;
    for (const auto& s : r->sources)
      EXPECT_TRUE(rules.sources.count(s)) << s;
  }
  // The seed system's citations are kept.
  EXPECT_TRUE(rules.sources.count("Inamura 2017"));
  EXPECT_TRUE(rules.sources.count("Estrela 2011"));
}
