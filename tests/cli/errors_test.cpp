// Every bad input: exit code 1 (bad input) or 2 (usage), exactly one `error:` line, no partial output.
#include "support/test_support.h"

#include <fstream>
#include <gtest/gtest.h>
#include <sstream>

namespace fs = std::filesystem;
using nervemap::test::list_files;
using nervemap::test::run_nervemap;
using nervemap::test::shared_path;
using nervemap::test::TempDir;

using nervemap::test::expect_one_error;

namespace {

void copy_truncated(const fs::path& from, const fs::path& to, size_t keep) {
  std::ifstream in(from, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::ofstream(to, std::ios::binary).write(bytes.data(), std::streamsize(std::min(keep, bytes.size())));
}

fs::path nifti(const std::string& name) {
  return shared_path("fixtures/geometry/nifti/" + name);
}

} // namespace

TEST(CliErrors, UsageErrorsExitTwo) {
  expect_one_error(run_nervemap({}), 2, "error:");
  expect_one_error(run_nervemap({"frobnicate"}), 2, "error:");
  expect_one_error(run_nervemap({"info"}), 2, "--ct");
  expect_one_error(run_nervemap({"info", "--ct", "x.nii", "--bogus"}), 2, "--bogus");
  TempDir dir;
  expect_one_error(
      run_nervemap({"phantom", "--out", (dir / "p").string(), "--spacing", "0", "1", "1"}), 2, "--spacing");
  EXPECT_FALSE(fs::exists(dir / "p"));
  expect_one_error(
      run_nervemap({"phantom", "--out", (dir / "p").string(), "--tumor-near", "vagus_left", "x", "3"}),
      2,
      "GAP_MM");
  expect_one_error(
      run_nervemap(
          {"convert", "--ct", nifti("a_ras_diag.nii.gz").string(), "--out", (dir / "x.png").string()}),
      2,
      ".nii.gz");
  EXPECT_TRUE(list_files(dir.path()).empty());
}

TEST(CliErrors, HelpAndVersionSucceed) {
  auto help = run_nervemap({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("phantom"), std::string::npos);
  auto version = run_nervemap({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.out.find("nervemap"), std::string::npos);
}

TEST(CliErrors, MissingFile) {
  expect_one_error(run_nervemap({"info", "--ct", "/nonexistent/ct.nii.gz"}), 1, "/nonexistent/ct.nii.gz");
}

TEST(CliErrors, TruncatedAndCorruptNifti) {
  TempDir dir;
  copy_truncated(nifti("a_ras_diag.nii.gz"), dir / "trunc.nii.gz", 4000);
  expect_one_error(run_nervemap({"info", "--ct", (dir / "trunc.nii.gz").string()}), 1, "trunc.nii.gz");
  copy_truncated(nifti("j_oblique.nii"), dir / "short.nii", 2000);
  expect_one_error(run_nervemap({"info", "--ct", (dir / "short.nii").string()}), 1, "short.nii");
  copy_truncated(nifti("j_oblique.nii"), dir / "header.nii", 200);
  expect_one_error(run_nervemap({"info", "--ct", (dir / "header.nii").string()}), 1, "header.nii");
  std::ofstream(dir / "garbage.nii.gz", std::ios::binary) << std::string(5000, '\x5a');
  expect_one_error(run_nervemap({"info", "--ct", (dir / "garbage.nii.gz").string()}), 1, "garbage.nii.gz");
}

TEST(CliErrors, WrongFileType) {
  TempDir dir;
  std::ofstream(dir / "notes.txt") << "this is not a CT\n";
  expect_one_error(run_nervemap({"info", "--ct", (dir / "notes.txt").string()}), 1, "notes.txt");
  auto r = run_nervemap(
      {"info", "--ct", nifti("a_ras_diag.nii.gz").string(), "--structures", (dir / "notes.txt").string()});
  expect_one_error(r, 1, "notes.txt");
}

TEST(CliErrors, ZeroSizeDimension) {
  TempDir dir;
  copy_truncated(nifti("j_oblique.nii"), dir / "zero.nii", 1 << 20);
  std::fstream f(dir / "zero.nii", std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(46); // dim[3], NIfTI-1 header offset 40 + 2·3
  const int16_t zero = 0;
  f.write(reinterpret_cast<const char*>(&zero), 2);
  f.close();
  expect_one_error(run_nervemap({"info", "--ct", (dir / "zero.nii").string()}), 1, "zero");
}

TEST(CliErrors, MasksOnAnotherGrid) {
  auto r = run_nervemap({"info",
                         "--ct",
                         nifti("a_ras_diag.nii.gz").string(),
                         "--structures",
                         shared_path("fixtures/geometry/ts_dir").string()});
  expect_one_error(r, 1, "--resample-masks");
}

TEST(CliErrors, SeveralDicomSeriesNeedASeries) {
  fs::path folder = shared_path("fixtures/geometry/dicom/two_series");
  auto r = run_nervemap({"info", "--ct", folder.string()});
  expect_one_error(r, 1, "--series");
  auto listed = run_nervemap({"info", "--ct", folder.string(), "--list-series"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  std::string uid = listed.out.substr(0, listed.out.find(' '));
  auto chosen = run_nervemap({"info", "--ct", folder.string(), "--series", uid});
  EXPECT_EQ(chosen.exit_code, 0) << chosen.err;
  expect_one_error(run_nervemap({"info", "--ct", folder.string(), "--series", "1.2.3.4"}), 1, "1.2.3.4");
}

TEST(CliErrors, FailedConvertLeavesNoPartialOutput) {
  TempDir dir;
  copy_truncated(nifti("a_ras_diag.nii.gz"), dir / "trunc.nii.gz", 4000);
  fs::create_directories(dir / "out");
  auto r = run_nervemap(
      {"convert", "--ct", (dir / "trunc.nii.gz").string(), "--out", (dir / "out" / "ct.nii.gz").string()});
  expect_one_error(r, 1, "trunc.nii.gz");
  EXPECT_TRUE(list_files(dir / "out").empty());
  auto ok = run_nervemap({"convert",
                          "--ct",
                          shared_path("fixtures/geometry/dicom/series_a.zip").string(),
                          "--out",
                          (dir / "out" / "ct.nii.gz").string()});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(list_files(dir / "out"), std::vector<std::string>{"ct.nii.gz"});
}

TEST(CliErrors, RunWithAModelFolderThatCannotServe) {
  TempDir dir;
  const std::string ct = nifti("a_ras_diag.nii.gz").string();
  // Labels that are no structure nervemap knows (the nnU-Net fixture's organA, organB, boneC).
  auto r = run_nervemap({"run",
                         "--ct",
                         ct,
                         "--model",
                         shared_path("fixtures/nnunet/plain3d").string(),
                         "--out",
                         (dir / "out").string()});
  expect_one_error(r, 1, "TotalSegmentator class names");
  EXPECT_FALSE(fs::exists(dir / "out" / "report.json"));
  EXPECT_TRUE(!fs::exists(dir / "out") || list_files(dir / "out").empty());
  // Not a model folder at all.
  r = run_nervemap(
      {"run", "--ct", ct, "--model", (dir / "nothing").string(), "--out", (dir / "out").string()});
  expect_one_error(r, 1, "nothing");
  // --model and --models together.
  r = run_nervemap({"run",
                    "--ct",
                    ct,
                    "--model",
                    "models/demo_phantom_neck",
                    "--models",
                    dir.path().string(),
                    "--out",
                    (dir / "out").string()});
  expect_one_error(r, 1, "not both");
}

TEST(CliErrors, DemoWithoutItsModelWritesNothing) {
  TempDir dir;
  auto r = run_nervemap({"demo",
                         "--model",
                         (dir / "missing").string(),
                         "--out",
                         (dir / "demo").string(),
                         "--data",
                         (dir / "data").string()});
  expect_one_error(r, 1, "--truth-masks");
  EXPECT_FALSE(fs::exists(dir / "demo"));
  EXPECT_FALSE(fs::exists(dir / "data"));
}
