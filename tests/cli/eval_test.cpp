// `nervemap eval` end to end: two small label maps with JSON tables written here, the table on stdout,
// the JSON numbers against hand-computed values, and the error cases (one `error:` line, no JSON file).
#include "core/core.h"
#include "io/io.h"
#include "support/test_support.h"

#include <fstream>
#include <gtest/gtest.h>
#include <sstream>

namespace fs = std::filesystem;
using namespace nervemap;
using nervemap::test::list_files;
using nervemap::test::read_json;
using nervemap::test::run_nervemap;
using nervemap::test::TempDir;

using nervemap::test::count_error_lines;
using nervemap::test::expect_one_error;

namespace {

// Spacing above the 1 mm tolerance everywhere: NSD counts coincident voxels.
Geometry grid(Vec3 origin = Vec3(10, -20, 30)) {
  return nervemap::test::voxel_grid({20, 18, 16}, Vec3(1.2, 1.1, 2.5), Mat3::Identity(), origin);
}

void box(MaskVolume& v, Index3 lo, int n, uint8_t value) {
  for (int64_t k = lo[2]; k < lo[2] + n; ++k)
    for (int64_t j = lo[1]; j < lo[1] + n; ++j)
      for (int64_t i = lo[0]; i < lo[0] + n; ++i)
        v.at(i, j, k) = value;
}

// Prediction and reference with different raw ids for the same names:
//  - trachea: the same 6³ cube → Dice 1, HD95 0, NSD 1;
//  - esophagus: 5³ cubes, the prediction 2 voxels higher along k (2.5 mm) → Dice 3/5, HD95 5 mm,
//    NSD at 1 mm = coincident surface voxels only = 4(n − k)(n − 1) / (n³ − (n − 2)³) = 48/98;
//  - thyroid_gland: only in the reference → Dice 0, HD95 null.
void write_case(const fs::path& dir, const Geometry& pred_grid = grid()) {
  MaskVolume pred(pred_grid, 0), ref(grid(), 0);
  box(pred, {2, 2, 2}, 6, 3);
  box(ref, {2, 2, 2}, 6, 1);
  box(pred, {10, 2, 6}, 5, 4);
  box(ref, {10, 2, 4}, 5, 2);
  box(ref, {3, 11, 3}, 3, 7);
  io::write_nifti(dir / "pred.nii.gz", pred);
  io::write_nifti(dir / "ref.nii.gz", ref);
  std::ofstream(dir / "pred.json") << R"([{"id": 3, "name": "trachea"}, {"id": 4, "name": "esophagus"}])";
  std::ofstream(dir / "ref.json") << R"({"1": "trachea", "2": "esophagus", "7": "thyroid_gland"})";
}

const nlohmann::json& entry(const nlohmann::json& doc, const std::string& name) {
  for (const auto& s : doc.at("structures"))
    if (s.at("name") == name)
      return s;
  throw std::runtime_error("no " + name);
}

} // namespace

TEST(CliEval, TableAndJson) {
  TempDir dir;
  write_case(dir.path());
  auto r = run_nervemap({"eval",
                         "--pred",
                         (dir / "pred.nii.gz").string(),
                         "--ref",
                         (dir / "ref.nii.gz").string(),
                         "--json",
                         (dir / "eval.json").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count_error_lines(r.err), 0) << r.err;
  // Sorted by name, with the mean Dice.
  const auto eso = r.out.find("esophagus"), thy = r.out.find("thyroid_gland"), tra = r.out.find("trachea");
  ASSERT_NE(eso, std::string::npos) << r.out;
  EXPECT_LT(eso, thy);
  EXPECT_LT(thy, tra);
  EXPECT_NE(r.out.find("mean Dice 0.5333"), std::string::npos) << r.out;

  auto doc = read_json(dir / "eval.json");
  EXPECT_EQ(doc["schema"], "nervemap.eval/1");
  EXPECT_EQ(doc["tolerance_mm"], 1.0);
  EXPECT_EQ(doc["pred"], "pred.nii.gz");
  ASSERT_EQ(doc["structures"].size(), 3u);
  const auto& trachea = entry(doc, "trachea");
  EXPECT_EQ(trachea["dice"], 1.0);
  EXPECT_EQ(trachea["hd95_mm"], 0.0);
  EXPECT_EQ(trachea["nsd"], 1.0);
  EXPECT_NEAR(trachea["volume_ref_ml"].get<double>(), 216 * 1.2 * 1.1 * 2.5 / 1000.0, 1e-4);
  const auto& esophagus = entry(doc, "esophagus");
  EXPECT_NEAR(esophagus["dice"].get<double>(), 0.6, 1e-6);
  EXPECT_NEAR(esophagus["hd95_mm"].get<double>(), 5.0, 1e-4);
  EXPECT_NEAR(esophagus["nsd"].get<double>(), 48.0 / 98.0, 1e-6);
  const auto& thyroid = entry(doc, "thyroid_gland");
  EXPECT_EQ(thyroid["dice"], 0.0);
  EXPECT_TRUE(thyroid["hd95_mm"].is_null());
  EXPECT_EQ(thyroid["in_pred"], false);
  EXPECT_EQ(thyroid["volume_pred_ml"], 0.0);
  EXPECT_NEAR(doc["mean_dice"].get<double>(), 1.6 / 3.0, 1e-6);

  // Above the shift every surface voxel is within tolerance.
  auto wide = run_nervemap({"eval",
                            "--pred",
                            (dir / "pred.nii.gz").string(),
                            "--ref",
                            (dir / "ref.nii.gz").string(),
                            "--tolerance-mm",
                            "5",
                            "--json",
                            (dir / "wide.json").string()});
  ASSERT_EQ(wide.exit_code, 0) << wide.err;
  auto w = read_json(dir / "wide.json");
  EXPECT_EQ(w["tolerance_mm"], 5.0);
  EXPECT_EQ(entry(w, "esophagus")["nsd"], 1.0);
}

TEST(CliEval, UsageErrorsExitTwo) {
  TempDir dir;
  write_case(dir.path());
  const std::string pred = (dir / "pred.nii.gz").string(), ref = (dir / "ref.nii.gz").string();
  expect_one_error(run_nervemap({"eval", "--pred", pred}), 2, "--ref");
  expect_one_error(run_nervemap({"eval", "--ref", ref}), 2, "--pred");
  expect_one_error(
      run_nervemap({"eval", "--pred", pred, "--ref", ref, "--tolerance-mm", "-1"}), 2, "--tolerance-mm");
  expect_one_error(
      run_nervemap({"eval", "--pred", pred, "--ref", ref, "--tolerance-mm", "x"}), 2, "--tolerance-mm");
  expect_one_error(
      run_nervemap({"eval", "--pred", pred, "--ref", ref, "--json", dir.path().string()}), 2, "--json");
}

TEST(CliEval, BadInputExitsOneWithoutJson) {
  TempDir dir;
  write_case(dir.path());
  const std::string pred = (dir / "pred.nii.gz").string(), ref = (dir / "ref.nii.gz").string();
  const std::string json = (dir / "out.json").string();
  expect_one_error(
      run_nervemap({"eval", "--pred", (dir / "none.nii.gz").string(), "--ref", ref, "--json", json}),
      1,
      "none.nii.gz");
  expect_one_error(
      run_nervemap({"eval", "--pred", pred, "--ref", ref, "--json", (dir / "no/out.json").string()}),
      1,
      "no");
  // A prediction on another grid (origin 5 mm away).
  TempDir other;
  write_case(other.path(), grid(Vec3(10, -20, 35)));
  expect_one_error(
      run_nervemap({"eval", "--pred", (other / "pred.nii.gz").string(), "--ref", ref, "--json", json}),
      1,
      "different grids");
  // A label map without a table.
  fs::remove(dir / "ref.json");
  expect_one_error(run_nervemap({"eval", "--pred", pred, "--ref", ref, "--json", json}), 1, "ref.nii.gz");
  // A file that is not NIfTI.
  std::ofstream(dir / "notes.txt") << "not a label map\n";
  expect_one_error(
      run_nervemap({"eval", "--pred", (dir / "notes.txt").string(), "--ref", ref, "--json", json}),
      1,
      "notes.txt");
  EXPECT_FALSE(fs::exists(json));
  EXPECT_EQ(list_files(dir.path()),
            (std::vector<std::string>{"notes.txt", "pred.json", "pred.nii.gz", "ref.nii.gz"}));
}
