// `nervemap segment` scenarios (design §7): outputs in TotalSegmentator's layout or --ml, nnU-Net's
// predictor semantics for --model, TotalSegmentator's for --task, and every bad input as one `error:` line
// (exit 1) — corrupt or unsupported checkpoints, unknown architectures, missing folds, channel mismatch —
// or a usage error (exit 2).
#include "io/io.h"
#include "synthetic_home.h"

#include <gtest/gtest.h>

using namespace nervemap;
using namespace nervemap::segment::test;
using nervemap::test::run_nervemap;
using nervemap::test::TempDir;

using nervemap::test::expect_one_error;

namespace {

std::string input() {
  return nnunet_fixture("input/case_0000.nii.gz").string();
}

//! A copy of a fixture model folder to damage.
fs::path copy_model(const TempDir& dir, const std::string& model, const std::string& as) {
  const fs::path to = dir / as;
  fs::copy(nnunet_fixture(model), to, fs::copy_options::recursive);
  return to;
}

} // namespace

TEST(SegmentCli, UsageErrorsExitTwo) {
  TempDir out;
  expect_one_error(run_nervemap({"segment", "--ct", input(), "--out", out.path()}), 2, "--task");
  expect_one_error(
      run_nervemap({"segment", "--ct", input(), "--task", "total", "--model", "x", "--out", out.path()}),
      2,
      "either");
  expect_one_error(
      run_nervemap({"segment", "--ct", input(), "--task", "total", "--folds", "0", "--out", out.path()}),
      2,
      "--folds");
  expect_one_error(
      run_nervemap(
          {"segment", "--ct", input(), "--model", nnunet_fixture("plain3d"), "--fast", "--out", out.path()}),
      2,
      "--fast");
  expect_one_error(run_nervemap({"segment",
                                 "--ct",
                                 input(),
                                 "--model",
                                 nnunet_fixture("plain3d"),
                                 "--folds",
                                 "x",
                                 "--out",
                                 out.path()}),
                   2,
                   "--folds");
}

TEST(SegmentCli, ModelFolderWritesOneFilePerLabelAsNnUNetLabels) {
  TempDir out;
  auto r = run_nervemap({"segment",
                         "--ct",
                         input(),
                         "--model",
                         nnunet_fixture("plain3d"),
                         "--out",
                         out.path(),
                         "--threads",
                         "2",
                         "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nervemap::test::list_files(out.path()),
            (std::vector<std::string>{"boneC.nii.gz", "organA.nii.gz", "organB.nii.gz"}));
  Warnings w;
  const MaskVolume reference =
      io::read_nifti_labels(nnunet_fixture("out/plain3d/input/notta/case.nii.gz"), w);
  const MaskVolume a = io::read_nifti_labels(out / "organA.nii.gz", w);
  const MaskVolume c = io::read_nifti_labels(out / "boneC.nii.gz", w);
  EXPECT_TRUE(a.geometry.same_grid(reference.geometry));
  size_t mismatches = 0;
  for (size_t i = 0; i < a.data.size(); ++i)
    mismatches +=
        (a.data[i] != 0) != (reference.data[i] == 1) || (c.data[i] != 0) != (reference.data[i] == 3);
  EXPECT_EQ(mismatches, 0u);
}

TEST(SegmentCli, MultilabelFileCarriesTheLabelTable) {
  TempDir out;
  auto r = run_nervemap({"segment",
                         "--ct",
                         input(),
                         "--model",
                         nnunet_fixture("resenc3d"),
                         "--folds",
                         "0",
                         "--ml",
                         "--out",
                         out.path(),
                         "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nervemap::test::list_files(out.path()), (std::vector<std::string>{"segmentation.nii.gz"}));
  Warnings w;
  LabelTable table;
  const MaskVolume m = io::read_nifti_labels(out / "segmentation.nii.gz", w, &table);
  ASSERT_EQ(table.size(), 3u);
  EXPECT_EQ(table.find(3)->name, "boneC");
  const MaskVolume reference =
      io::read_nifti_labels(nnunet_fixture("out/resenc3d/input/notta/case.nii.gz"), w);
  size_t same = 0;
  for (size_t i = 0; i < m.data.size(); ++i)
    same += m.data[i] == reference.data[i];
  EXPECT_GE(double(same) / double(m.data.size()), 0.999);
}

TEST(SegmentCli, BadModelsAndInputsAreOneErrorLine) {
  TempDir dir;
  TempDir out;
  const auto run_model = [&](const fs::path& model, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"segment", "--ct", input(), "--model", model.string(), "--out", out.path()};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_nervemap(args);
  };
  // A corrupt checkpoint (truncated) and one that is not a zip at all.
  const fs::path cut = copy_model(dir, "plain3d", "cut");
  const fs::path pth = cut / "fold_0" / "checkpoint_final.pth";
  fs::resize_file(pth, fs::file_size(pth) / 2);
  expect_one_error(run_model(cut), 1, "checkpoint_final.pth");
  {
    std::ofstream(pth, std::ios::trunc) << "garbage";
    expect_one_error(run_model(cut), 1, "not a readable PyTorch checkpoint");
  }
  // A plans.json naming an architecture the runtime does not know.
  const fs::path unknown = copy_model(dir, "resenc3d", "unknown");
  {
    auto plans = nlohmann::json::parse(read_bytes(unknown / "plans.json"));
    plans["configurations"]["3d_fullres"]["architecture"]["network_class_name"] =
        "dynamic_network_architectures.architectures.unet.ResidualUNet";
    std::ofstream(unknown / "plans.json", std::ios::trunc) << plans.dump();
  }
  expect_one_error(run_model(unknown), 1, "ResidualUNet");
  // A fold that is not there.
  expect_one_error(run_model(nnunet_fixture("plain3d"), {"--folds", "0,3"}), 1, "fold 3");
  // A folder without checkpoints.
  fs::create_directories(dir / "empty");
  fs::copy_file(nnunet_fixture("plain3d/plans.json"), dir / "empty" / "plans.json");
  fs::copy_file(nnunet_fixture("plain3d/dataset.json"), dir / "empty" / "dataset.json");
  expect_one_error(run_model(dir / "empty"), 1, "no fold_N/checkpoint_final.pth");
  // Channel mismatch: a PET given to a CT-only model, a PET/CT model without its PET.
  expect_one_error(run_model(nnunet_fixture("plain3d"), {"--pet", input()}), 1, "input channel");
  const fs::path petct = copy_model(dir, "plain3d", "petct");
  {
    auto dataset = nlohmann::json::parse(read_bytes(petct / "dataset.json"));
    dataset["channel_names"] = {{"0", "CT"}, {"1", "PET"}};
    std::ofstream(petct / "dataset.json", std::ios::trunc) << dataset.dump();
    auto plans = nlohmann::json::parse(read_bytes(petct / "plans.json"));
    plans["configurations"]["3d_fullres"]["normalization_schemes"] = {"CTNormalization",
                                                                      "ZScoreNormalization"};
    std::ofstream(petct / "plans.json", std::ios::trunc) << plans.dump();
  }
  expect_one_error(run_model(petct), 1, "--pet");
  // Nothing was left behind by the failed runs.
  EXPECT_TRUE(nervemap::test::list_files(out.path()).empty());
}

TEST(SegmentCli, TotalSegmentatorTaskFromASyntheticHome) {
  TempDir home;
  write_synthetic_home(home.path(), default_choices(), {291, 292, 293, 294, 295});
  TempDir cases;
  io::write_nifti(cases / "ct.nii.gz", synthetic_ct());
  TempDir out;
  auto r = run_nervemap({"segment",
                         "--ct",
                         (cases / "ct.nii.gz").string(),
                         "--task",
                         "total",
                         "--fast",
                         "--models",
                         home.path(),
                         "--out",
                         out.path(),
                         "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto files = nervemap::test::list_files(out.path());
  EXPECT_EQ(files.size(), 117u);
  EXPECT_TRUE(std::find(files.begin(), files.end(), "skull.nii.gz") != files.end());
  Warnings w;
  const MaskVolume skull = io::read_nifti_labels(out / "skull.nii.gz", w);
  EXPECT_GT(std::count(skull.data.begin(), skull.data.end(), 1), 0);
  // Without --fast the five part models are needed and missing here.
  TempDir out2;
  expect_one_error(run_nervemap({"segment",
                                 "--ct",
                                 (cases / "ct.nii.gz").string(),
                                 "--task",
                                 "total",
                                 "--models",
                                 home.path(),
                                 "--out",
                                 out2.path()}),
                   1,
                   "totalseg_download_weights");
  expect_one_error(run_nervemap({"segment",
                                 "--ct",
                                 (cases / "ct.nii.gz").string(),
                                 "--task",
                                 "liver_vessels",
                                 "--models",
                                 home.path(),
                                 "--out",
                                 out2.path()}),
                   1,
                   "unknown TotalSegmentator task");
}

TEST(SegmentCli, RunSegmentsWithModelsBeforeTheNerves) {
  TempDir home;
  write_synthetic_home(home.path(), default_choices(), {291, 292, 293, 294, 295});
  TempDir cases;
  io::write_nifti(cases / "ct.nii.gz", synthetic_ct(Mat3::Identity(), {28, 24, 24}));
  TempDir out;
  auto r = run_nervemap({"run",
                         "--ct",
                         (cases / "ct.nii.gz").string(),
                         "--models",
                         home.path(),
                         "--out",
                         out.path(),
                         "--threads",
                         "2",
                         "--quiet"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto report = nervemap::test::read_json(out / "report.json");
  ASSERT_TRUE(report["software"]["models"].is_array());
  EXPECT_FALSE(report["software"]["models"].empty());
  EXPECT_EQ(report["software"]["models"][0], "Dataset297_TotalSegmentator_total_3mm_1559subj");
  // Neither structures nor models: one clear error.
  expect_one_error(
      run_nervemap({"run", "--ct", (cases / "ct.nii.gz").string(), "--out", out.path()}), 1, "--models");
}
