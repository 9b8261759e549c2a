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
  in.warnings = w.items();
  return in;
}

} // namespace

TEST(ReportJson, FollowsTheContractAndValidates) {
  auto in = sample_inputs();
  auto r = report::build_report(in);
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
  auto r = report::build_report(sample_inputs());
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
