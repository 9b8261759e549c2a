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
  expect_rule_error(replaced(good, "condition: aberrant_right_subclavian, ", "warning: \"no finding\", "),
                    "probability[0].warning: a warning reports a condition found on the scan");
  expect_rule_error(replaced(good, "goitre: large", "goitre: huge"),
                    "probability[0].goitre: unknown goitre size 'huge' (small, large)");
}

TEST(RuleSettings, ShippedTuningIsReadWithItsProvenance) {
  const auto rules = nerves::load_rule_base(nerves::default_rules_dir());
  const nerves::RuleSettings& s = rules.settings;
  // The values the engine had as literals before they moved to rule_base.yaml.
  const std::vector<std::pair<const nerves::Quantity*, double>> expected{
      {&s.large_goitre_ml, 40},
      {&s.smoothing.per_plane.knot_spacing_mm, 6},
      {&s.smoothing.per_plane.lambda, 2},
      {&s.smoothing.per_plane.lambda_max, 2000},
      {&s.smoothing.waypoints.knot_spacing_mm, 8},
      {&s.smoothing.waypoints.lambda, 0.02},
      {&s.smoothing.waypoints.lambda_max, 2},
      {&s.smoothing.lambda_growth, 3},
      {&s.gap_sd_per_mm, 0.25},
      {&s.groove_tolerance_mm, 2},
      {&s.level_profile_min_step_mm, 5},
      {&s.retro_oesophageal_mm2, 10},
      {&s.max_slice_spacing_mm, 3},
      {&s.contrast_min_hu, 150}};
  for (const auto& [q, value] : expected) {
    EXPECT_EQ(q->value, value);
    EXPECT_EQ(q->tag, nerves::Provenance::derived) << value;
    EXPECT_GT(q->note.size(), 20u) << value << ": a derived value says what it controls and why";
  }
}

TEST(RuleSettings, MissingOrUnusableSettingsAreErrors) {
  auto expect_settings_error = [](const std::string& settings, const std::string& needle) {
    RuleDir dir({{"testnerve.yaml", kWaypointRule}}, settings);
    try {
      nerves::load_rule_base(dir.path());
      ADD_FAILURE() << "accepted: " << needle;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("rule_base.yaml: " + needle), std::string::npos) << e.what();
    }
  };
  std::string without_lambda_max = shipped_settings();
  const size_t at = without_lambda_max.find("      lambda_max:");
  ASSERT_NE(at, std::string::npos);
  without_lambda_max.erase(at, without_lambda_max.find('\n', at) + 1 - at);
  expect_settings_error(without_lambda_max, "settings.smoothing.per_plane.lambda_max: missing");
  expect_settings_error(with_value(shipped_settings(), "lambda_growth", "1"),
                        "settings.smoothing.lambda_growth: lambda_growth is above 1");
  expect_settings_error(with_value(shipped_settings(), "knot_spacing_mm", "0"),
                        "settings.smoothing.per_plane.knot_spacing_mm: must be positive");
  expect_settings_error(with_value(shipped_settings(), "lambda_max", "0.5"),
                        "settings.smoothing.per_plane.lambda_max: lambda_max is at least lambda");
  expect_settings_error(with_value(shipped_settings(), "gap_sd_per_mm", "-0.1"),
                        "settings.gap_sd_per_mm: must not be negative");
}

TEST(RuleBase, TheAberrantSubclavianWarningIsRuleKnowledge) {
  // The engine names no nerve: the recurrent laryngeal rule carries the warning of its condition.
  const auto rules = nerves::load_rule_base(nerves::default_rules_dir());
  std::vector<std::string> warnings;
  for (const auto& r : rules.nerves)
    for (const auto& v : r.variants)
      for (const auto& k : v.probability)
        if (!k.warning.empty()) {
          EXPECT_EQ(r.nerve, "recurrent_laryngeal");
          EXPECT_EQ(k.side, "right");
          EXPECT_EQ(k.condition, nerves::Condition::aberrant_right_subclavian);
          warnings.push_back(k.warning);
        }
  EXPECT_EQ(warnings,
            std::vector<std::string>{"aberrant right subclavian artery segmented (retro-oesophageal): a "
                                     "non-recurrent right inferior laryngeal nerve is expected"});
}
