// run_case on a small phantom: the outputs it lists, the label map it writes, the tracts beside report.json,
// and a failure that leaves nothing behind.
#include "anatomy/anatomy.h"
#include "io/io.h"
#include "phantom/phantom.h"
#include "pipeline/pipeline.h"
#include "support/test_support.h"

#include <gtest/gtest.h>
#include <set>

using namespace nervemap;
using namespace nervemap::test;
namespace fs = std::filesystem;

namespace {

struct SmallCase {
  TempDir dir;
  phantom::Phantom neck;
  pipeline::RunResult result;
  fs::path out;
  SmallCase() {
    phantom::Options o;
    o.seed = 11;
    o.spacing_mm = Vec3(2, 2, 2);
    o.tumours.push_back({"vagus_left", 3.0, 10.0, anatomy::kHecktorGtvn});
    neck = phantom::make_phantom(o);
    OutputTransaction tx(dir / "case");
    tx.prepare();
    phantom::write_phantom(neck, dir / "case", phantom::Layout::dir, tx);
    tx.commit();
    pipeline::RunOptions r;
    r.inputs.ct = dir / "case" / "ct.nii.gz";
    r.inputs.structures = dir / "case" / "structures";
    r.inputs.tumour = dir / "case" / "tumor.nii.gz";
    r.out = out = dir / "out";
    result = pipeline::run_case(r);
  }
};

class RunCase : public ::testing::Test {
protected:
  static void SetUpTestSuite() { case_ = new SmallCase; }
  static void TearDownTestSuite() {
    delete case_;
    case_ = nullptr;
  }
  static SmallCase* case_;
};
SmallCase* RunCase::case_ = nullptr;

} // namespace

TEST_F(RunCase, ListsEveryOutputOnceWithReportJsonLast) {
  const auto& written = case_->result.written;
  ASSERT_FALSE(written.empty());
  EXPECT_EQ(written.back(), case_->out / "report.json");
  std::set<std::string> listed;
  for (const auto& p : written) {
    EXPECT_EQ(p.parent_path(), case_->out);
    EXPECT_TRUE(listed.insert(p.filename().string()).second) << "twice: " << p;
  }
  const auto on_disk = list_files(case_->out);
  EXPECT_EQ(std::set<std::string>(on_disk.begin(), on_disk.end()), listed);
  for (const char* name : {"ct.nii.gz",
                           "labels.nii.gz",
                           "labels.json",
                           "nerves.tck",
                           "nerves_r95.tsf",
                           "nerves_distance.tsf",
                           "report.pdf",
                           "report.html",
                           "mesh_GTVn.mz3"})
    EXPECT_TRUE(listed.count(name)) << name;
}

TEST_F(RunCase, LabelMapHoldsTheTumourOverThePresentStructures) {
  Warnings w;
  LabelTable table;
  const MaskVolume labels = io::read_nifti_labels(case_->out / "labels.nii.gz", w, &table);
  const auto& neck = case_->neck;
  ASSERT_TRUE(labels.geometry.same_grid(neck.ct.geometry));
  const LabelTable catalogue_table = anatomy::Catalogue::get().output_table();
  int64_t tumour_voxels = 0;
  for (size_t o = 0; o < labels.data.size(); ++o) {
    if (const uint8_t t = neck.tumour.data[o]) {
      ++tumour_voxels;
      ASSERT_EQ(labels.data[o], t == anatomy::kHecktorGtvp ? anatomy::kGtvpId : anatomy::kGtvnId) << o;
    } else {
      ASSERT_EQ(labels.data[o], neck.structures.voxels.data[o]) << o;
    }
  }
  EXPECT_GT(tumour_voxels, 0);
  // Only labels that are there, named as the catalogue names them, in its colours.
  const auto histogram = [&] {
    std::array<int64_t, 256> h{};
    for (uint8_t v : labels.data)
      ++h[v];
    return h;
  }();
  for (const auto& l : table.labels()) {
    EXPECT_GT(histogram[size_t(l.id)], 0) << l.name;
    const Label* expected = catalogue_table.find(l.id);
    ASSERT_NE(expected, nullptr) << l.name;
    EXPECT_EQ(l.name, expected->name);
  }
  EXPECT_TRUE(table.find("GTVn"));
  EXPECT_FALSE(table.find("GTVp"));
  // labels.json: the same labels, in the catalogue's display colours.
  const auto json = read_json(case_->out / "labels.json");
  ASSERT_EQ(json.size(), table.size());
  for (const auto& l : json) {
    const Label* expected = catalogue_table.find(l["id"].get<int>());
    ASSERT_NE(expected, nullptr);
    EXPECT_EQ(l["name"], expected->name);
    EXPECT_EQ(l["rgb"], nlohmann::json({expected->rgb[0], expected->rgb[1], expected->rgb[2]}))
        << expected->name;
  }
}

TEST_F(RunCase, TractsAreTheReportedCourses) {
  const auto lines = io::read_tck(case_->out / "nerves.tck");
  const auto r95 = io::read_tsf(case_->out / "nerves_r95.tsf");
  const auto distance = io::read_tsf(case_->out / "nerves_distance.tsf");
  size_t line = 0;
  for (const auto& entry : case_->result.report.nerves) {
    const auto& n = entry.estimate;
    for (const auto& [first, last] : n.segments) {
      ASSERT_LT(line, lines.size());
      ASSERT_EQ(lines[line].size(), last - first + 1) << n.id;
      for (size_t i = first; i <= last; ++i) {
        EXPECT_LT((lines[line][i - first] - n.path_mm[i]).norm(), 1e-4) << n.id;
        EXPECT_FLOAT_EQ(r95[line][i - first], float(n.corridor_r95_mm[i]));
        EXPECT_FLOAT_EQ(distance[line][i - first], float(entry.risk.combined.profile_mm[i]));
      }
      ++line;
    }
  }
  EXPECT_EQ(line, lines.size());
  EXPECT_GT(line, 10u);
}

TEST(RunCaseFailure, LeavesNoOutputBehind) {
  TempDir dir;
  phantom::Options o;
  o.seed = 3;
  o.spacing_mm = Vec3(2.5, 2.5, 2.5);
  const auto neck = phantom::make_phantom(o);
  OutputTransaction tx(dir / "case");
  tx.prepare();
  phantom::write_phantom(neck, dir / "case", phantom::Layout::dir, tx);
  tx.commit();
  // A tumour on another grid is refused only after the CT and the structures were read.
  MaskVolume elsewhere(voxel_grid({10, 10, 10}, Vec3(1, 1, 1)), 0);
  elsewhere.at(5, 5, 5) = 1;
  io::write_nifti(dir / "tumour.nii.gz", elsewhere);
  pipeline::RunOptions r;
  r.inputs.ct = dir / "case" / "ct.nii.gz";
  r.inputs.structures = dir / "case" / "structures";
  r.inputs.tumour = dir / "tumour.nii.gz";
  r.out = dir / "new" / "out";
  EXPECT_THROW(pipeline::run_case(r), InputError);
  EXPECT_FALSE(fs::exists(dir / "new"));
}
