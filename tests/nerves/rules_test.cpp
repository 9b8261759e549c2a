// The rule files' vocabulary: every word is parsed into its enum once; an unknown word is an error that
// names the file, the field, the word and the allowed ones; values keep their words for notes.
#include "synthetic.h"

#include <gtest/gtest.h>

using namespace nervemap;
using namespace nervemap::test;

namespace {

//! A waypoint rule using every kind of vocabulary word once.
const std::string kWaypointRule = kTestRuleHead + R"(extent:
  from: {top_of: common_carotid_artery_<side>}
  to: {bottom_of: common_carotid_artery_<side>, part: anterior}
waypoints:
  - name: top
    anchor: extreme
    structure: common_carotid_artery_<side>
    toward: superior
    sd_mm: {value: 2.0, tag: D, note: t}
  - name: bottom
    anchor: centroid
    structure: internal_jugular_vein_<side>
    at: {level: carotid_bifurcation, offset_mm: {value: -10, tag: D, note: t}}
    sd_mm: {value: 2.0, tag: D, note: t}
variants:
  - name: other
    description: test
    probability:
      - {goitre: large, condition: aberrant_right_subclavian, probability: {value: 0.5, tag: D, note: t}}
    placement:
      - name: behind the vein
        primitive: surface
        structure: internal_jugular_vein_<side>
        surface: posterolateral
        sd_mm: {lateral: {value: 2, tag: D, note: t}, anteroposterior: {value: 2, tag: D, note: t}}
)";

std::string replaced(const std::string& text, const std::string& from, const std::string& to) {
  std::string s = text;
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos)
    s.replace(at, from.size(), to);
  return s;
}

} // namespace

TEST(RuleVocabulary, EveryWordIsParsedIntoItsEnum) {
  RuleDir dir({{"testnerve.yaml", kWaypointRule}});
  const auto rules = nerves::load_rule_base(dir.path());
  const nerves::NerveRule& r = rules.nerves.at(0);
  EXPECT_EQ(r.from.kind, nerves::LevelKind::top);
  EXPECT_EQ(r.to.kind, nerves::LevelKind::bottom);
  EXPECT_EQ(r.to.part, nerves::Part::anterior);
  ASSERT_EQ(r.waypoints.size(), 2u);
  EXPECT_EQ(r.waypoints[0].anchor, nerves::Anchor::extreme);
  EXPECT_EQ(r.waypoints[0].toward, nerves::Direction::superior);
  EXPECT_EQ(r.waypoints[1].anchor, nerves::Anchor::centroid);
  EXPECT_EQ(r.waypoints[1].at->kind, nerves::LevelKind::carotid_bifurcation);
  const nerves::Variant& other = r.variants.at(1);
  EXPECT_EQ(other.placement.at(0).primitive, nerves::Primitive::surface);
  EXPECT_EQ(other.placement.at(0).surface, nerves::Direction::posterolateral);
  EXPECT_EQ(other.probability.at(0).goitre, nerves::Goitre::large);
  EXPECT_EQ(other.probability.at(0).condition, nerves::Condition::aberrant_right_subclavian);
}

TEST(RuleVocabulary, ValuesKeepTheirWordsForNotesAndReports) {
  EXPECT_EQ(nerves::to_string(nerves::Primitive::groove), "groove");
  EXPECT_EQ(nerves::to_string(nerves::Anchor::midline), "midline");
  EXPECT_EQ(nerves::to_string(nerves::LevelKind::fraction), "fraction");
  EXPECT_EQ(nerves::to_string(nerves::LevelKind::laryngeal_prominence), "laryngeal_prominence");
  EXPECT_EQ(nerves::to_string(nerves::Part::posterior), "posterior");
  EXPECT_EQ(nerves::to_string(nerves::Condition::aberrant_right_subclavian), "aberrant_right_subclavian");
  EXPECT_EQ(nerves::to_string(nerves::Goitre::small), "small");
  EXPECT_EQ(nerves::to_string(nerves::Direction::axis_anterior), "axis_anterior");

  RuleDir dir({{"testnerve.yaml", kWaypointRule}});
  const auto rules = nerves::load_rule_base(dir.path());
  const nerves::NerveRule& r = rules.nerves.at(0);
  EXPECT_EQ(r.from.describe(), "top of common_carotid_artery_<side>");
  EXPECT_EQ(r.to.describe(), "bottom of common_carotid_artery_<side> (anterior part)");
  EXPECT_EQ(r.waypoints[1].at->describe(), "carotid_bifurcation -10.0 mm");
  const auto shipped = nerves::load_rule_base(nerves::default_rules_dir());
  EXPECT_EQ(shipped.find("recurrent_laryngeal")->from.describe(), "thoracic_inlet");
}

TEST(RuleVocabulary, UnknownWordsNameTheFieldAndListTheAllowedOnes) {
  const std::string good = kWaypointRule;
  expect_rule_error(replaced(good, "anchor: extreme", "anchor: teleport"),
                    "waypoints[0].anchor: unknown anchor 'teleport' (extreme, surface, centroid, between, "
                    "groove, midline, nerve)");
  expect_rule_error(replaced(good, "toward: superior", "toward: upward"),
                    "waypoints[0].toward: unknown direction 'upward' (anterior, posterior, lateral, medial, "
                    "superior, inferior, anterolateral, posterolateral, anteromedial, posteromedial, "
                    "axis_posterior, axis_anterior)");
  expect_rule_error(replaced(good, "part: anterior", "part: middle"),
                    "extent.to.part: unknown part 'middle' (anterior, posterior)");
  expect_rule_error(replaced(good, "level: carotid_bifurcation", "level: c4"),
                    "unknown level 'c4' (thoracic_inlet, carotid_bifurcation, laryngeal_prominence)");
  expect_rule_error(replaced(good, "primitive: surface", "primitive: along"),
                    "placement[0].primitive: unknown placement primitive 'along' (between, groove, surface)");
  expect_rule_error(replaced(good, "condition: aberrant_right_subclavian", "condition: retrosternal_goitre"),
                    "probability[0].condition: unknown condition 'retrosternal_goitre' "
                    "(aberrant_right_subclavian)");
  expect_rule_error(replaced(good, "goitre: large", "goitre: huge"),
                    "probability[0].goitre: unknown goitre size 'huge' (small, large)");
}
