#include "../nerves/synthetic.h"
#include "report/report.h"

#include <gtest/gtest.h>

using namespace nervemap;
using namespace nervemap::test;

namespace {

report::ReportInputs sample_inputs() {
  Geometry g = grid({0, -15, 0}, {45, 15, 60}, {1, 1, 1});
  auto m = rasterise(g,
                     {cylinder("common_carotid_artery_left", 22, 0, 3.3, 2, 58),
                      cylinder("internal_jugular_vein_left", 34, 0, 5, 2, 58)});
  Warnings w;
  auto rules = nerves::load_rule_base(nerves::default_rules_dir());
  report::ReportInputs in;
  in.ct_name = "ct.nii.gz";
  in.ct_geometry = g;
  in.rules_version = rules.version;
  in.structures = anatomy::summarise(m);
  in.nerves = nerves::estimate_nerves(rules, m, nullptr, {}, w);
  in.risks = risk::assess(in.nerves, nullptr, {});
  in.warnings = w.items();
  return in;
}

} // namespace

TEST(ReportJson, FollowsTheContractAndValidates) {
  auto in = sample_inputs();
  auto r = report::to_json(report::build_report(in));
  auto errors = report::schema_errors(r);
  EXPECT_TRUE(errors.empty()) << errors.front();
  EXPECT_EQ(r["schema"], "nervemap.report/1");
  EXPECT_EQ(r["coordinate_system"], "LPS");
  EXPECT_EQ(r["input"]["dims"], nlohmann::json({46, 31, 61}));
  EXPECT_EQ(r["patient"], nlohmann::json::object());
  // Every nerve of the rule base appears, each side; the sheath alone places the vagus (no ICA, so only
  // below the bifurcation), the rest lack landmarks and say why.
  EXPECT_EQ(r["nerves"].size(), 14u);
  for (const auto& n : r["nerves"]) {
    if (n["status"] == "not_estimated") {
      EXPECT_FALSE(n["reason"].get<std::string>().empty());
      EXPECT_TRUE(n["path_mm"].empty());
    }
  }
  EXPECT_EQ(r["nerves"][0]["id"], "vagus_left");
  EXPECT_EQ(r["nerves"][0]["status"], "estimated");
}

TEST(ReportJson, SchemaCatchesBrokenDocuments) {
  auto r = report::to_json(report::build_report(sample_inputs()));
  auto broken = r;
  broken["coordinate_system"] = "RAS";
  EXPECT_FALSE(report::schema_errors(broken).empty());
  broken = r;
  broken["nerves"][0]["corridor_r95_mm"][0] = -1.0;
  EXPECT_FALSE(report::schema_errors(broken).empty());
  broken = r;
  broken["nerves"][0]["risk"] = "catastrophic";
  EXPECT_FALSE(report::schema_errors(broken).empty());
  broken = r;
  broken["input"]["ct"] = "/home/patient/ct.nii.gz"; // base names only
  EXPECT_FALSE(report::schema_errors(broken).empty());
  broken = r;
  broken.erase("warnings");
  EXPECT_FALSE(report::schema_errors(broken).empty());
  EXPECT_THROW(report::validate_report(broken), std::logic_error);
}

//! The sample case with a nodal tumour (GTVn) beside the left carotid sheath, so the risk fields are filled.
report::ReportInputs sample_with_tumour() {
  auto in = sample_inputs();
  Geometry g = grid({0, -15, 0}, {45, 15, 60}, {1, 1, 1});
  auto m = rasterise(g, {cylinder("common_carotid_artery_left", 22, 0, 3.3, 2, 58)});
  anatomy::StructureMap tumour;
  tumour.voxels = MaskVolume(g, 0);
  for (int64_t k = 20; k < 35; ++k)
    for (int64_t j = 20; j < 26; ++j)
      for (int64_t i = 24; i < 30; ++i)
        tumour.voxels.at(i, j, k) = anatomy::kGtvnId;
  in.tumours = report::summarise_tumours(tumour);
  in.risks = risk::assess(in.nerves, &tumour, risk::GradeThresholds{});
  return in;
}

TEST(ReportJson, NerveEntriesSayWhatIsKnown) {
  const auto r = report::to_json(report::build_report(sample_inputs()));
  size_t estimated = 0;
  for (const auto& n : r["nerves"]) {
    if (n["status"] == "not_estimated") {
      // Not estimated: numbers null, lists empty, no grade.
      EXPECT_TRUE(n["path_mm"].empty());
      EXPECT_TRUE(n["corridor_r95_mm"].empty());
      EXPECT_TRUE(n["min_distance_mm"].is_null());
      EXPECT_TRUE(n["length_mm"].is_null());
      EXPECT_TRUE(n["risk"].is_null());
      continue;
    }
    ++estimated;
    // Estimated without a tumour: the course and its length, grade "none", distances null.
    EXPECT_EQ(n["risk"], "none");
    EXPECT_TRUE(n["length_mm"].is_number());
    EXPECT_TRUE(n["min_distance_mm"].is_null());
    EXPECT_TRUE(n["p_within_mm"].is_null());
    EXPECT_EQ(n["path_mm"].size(), n["corridor_r95_mm"].size());
  }
  EXPECT_GT(estimated, 0u);
}

TEST(ReportJson, RoundedAsWrittenAndReadBackUnchanged) {
  const report::Report built = report::build_report(sample_with_tumour());
  const auto j = report::to_json(built);
  EXPECT_TRUE(report::schema_errors(j).empty()) << report::schema_errors(j).front();
  const auto& vagus = j["nerves"][0];
  ASSERT_EQ(vagus["id"], "vagus_left");
  ASSERT_TRUE(vagus["min_distance_mm"].is_number());
  EXPECT_EQ(vagus["closest_tumour"], "GTVn");
  EXPECT_TRUE(vagus["by_tumour"].contains("GTVn"));
  EXPECT_EQ(vagus["p_within_mm"].size(), 4u);
  EXPECT_EQ(vagus["distance_profile_mm"].size(), vagus["path_mm"].size());
  // Every number already has the file's precision: what other outputs show is what the file says.
  for (const auto& p : vagus["path_mm"])
    for (const auto& x : p)
      EXPECT_EQ(x.get<double>(), round_decimal(x.get<double>(), 0.01));
  EXPECT_EQ(vagus["fraction_within_10mm"].get<double>(),
            round_decimal(vagus["fraction_within_10mm"].get<double>(), 0.0001));
  // The typed reader is the serializer's inverse.
  const report::Report read = report::read_report(j);
  EXPECT_EQ(report::to_json(read), j);
  EXPECT_EQ(read.nerves.size(), built.nerves.size());
  EXPECT_EQ(read.nerves[0].risk.grade, built.nerves[0].risk.grade);
  EXPECT_EQ(read.nerves[0].estimate.path_mm, built.nerves[0].estimate.path_mm);
}

TEST(ReportJson, ReaderRefusesDocumentsOffTheSchema) {
  auto j = report::to_json(report::build_report(sample_inputs()));
  j["nerves"][0]["risk"] = "catastrophic";
  EXPECT_THROW(report::read_report(j), InputError);
  EXPECT_THROW(report::read_report(nlohmann::json::array()), InputError);
}

TEST(TumourSummary, VolumesAndConnectedComponents) {
  Geometry g = grid({0, 0, 0}, {30, 30, 30}, {1, 1, 1});
  anatomy::StructureMap t;
  t.voxels = MaskVolume(g, 0);
  for (int64_t i = 2; i < 6; ++i)
    t.voxels.at(i, 2, 2) = anatomy::kGtvnId; // 4 voxels
  t.voxels.at(10, 10, 10) = anatomy::kGtvnId;
  t.voxels.at(11, 11, 11) = anatomy::kGtvnId; // diagonal neighbour: same component (26-connected)
  t.voxels.at(20, 20, 20) = anatomy::kGtvpId;
  auto s = report::summarise_tumours(t);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].label, "GTVp");
  EXPECT_EQ(s[0].components, 1);
  EXPECT_NEAR(s[0].volume_ml, 0.001, 1e-9);
  EXPECT_EQ(s[1].label, "GTVn");
  EXPECT_EQ(s[1].components, 2);
  EXPECT_NEAR(s[1].volume_ml, 0.006, 1e-9);
}
