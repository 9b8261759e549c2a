// write_phantom: the case folder in both layouts, read back with nervemap's own NIfTI reader.
#include "io/io.h"
#include "phantom/phantom.h"
#include "support/test_support.h"

#include <gtest/gtest.h>

namespace nervemap::phantom {
namespace {

Phantom small_phantom() {
  Options o;
  o.seed = 2;
  o.spacing_mm = Vec3(3, 3, 3);
  o.orientation = Orientation::oblique;
  o.tumours.push_back({"vagus_left", 3, 10, 2});
  return make_phantom(o);
}

TEST(PhantomWriter, DirLayoutMatchesTotalSegmentatorAndReadsBack) {
  Phantom p = small_phantom();
  test::TempDir tmp;
  fs::path dir = tmp / "out" / "case";
  {
    OutputTransaction tx(tmp / "out");
    tx.prepare();
    write_phantom(p, dir, Layout::dir, tx);
    tx.commit();
  }
  Warnings w;
  io::NiftiHeader h;
  CtVolume ct = io::read_nifti_image(dir / "ct.nii.gz", w, &h);
  EXPECT_EQ(h.datatype, 4) << "CT stored as int16";
  EXPECT_TRUE(ct.geometry.same_grid(p.ct.geometry));
  EXPECT_EQ(ct.data, p.ct.data);
  // One 0/1 mask per structure, named by class.
  size_t files = 0;
  for (const Label& l : p.structures.table.labels()) {
    MaskVolume m = io::read_nifti_labels(dir / "structures" / (l.name + ".nii.gz"), w);
    int64_t ones = 0, mismatches = 0;
    for (size_t i = 0; i < m.data.size(); ++i) {
      ones += m.data[i] == 1;
      mismatches += (m.data[i] == 1) != (p.structures.voxels.data[i] == l.id);
    }
    EXPECT_EQ(mismatches, 0) << l.name;
    EXPECT_EQ(ones, p.truth["structures"][l.name]["voxels"].get<int64_t>()) << l.name;
    ++files;
  }
  EXPECT_EQ(files, p.structures.table.size());
  MaskVolume tumour = io::read_nifti_labels(dir / "tumor.nii.gz", w);
  EXPECT_EQ(tumour.data, p.tumour.data);
  auto truth = test::read_json(dir / "truth.json");
  EXPECT_EQ(truth["schema"], "nervemap.phantom-truth/1");
  EXPECT_EQ(truth["tumours"].size(), 1u);
  EXPECT_TRUE(w.empty());
}

TEST(PhantomWriter, MlLayoutCarriesTheLabelTable) {
  Phantom p = small_phantom();
  test::TempDir tmp;
  OutputTransaction tx(tmp.path());
  tx.prepare();
  write_phantom(p, tmp.path(), Layout::ml, tx);
  tx.commit();
  EXPECT_FALSE(fs::exists(tmp / "structures"));
  Warnings w;
  LabelTable table;
  MaskVolume m = io::read_nifti_labels(tmp / "structures.nii.gz", w, &table);
  EXPECT_EQ(m.data, p.structures.voxels.data);
  ASSERT_EQ(table.size(), p.structures.table.size());
  for (const Label& l : p.structures.table.labels()) {
    ASSERT_NE(table.find(l.id), nullptr) << l.name;
    EXPECT_EQ(table.find(l.id)->name, l.name);
  }
}

TEST(PhantomWriter, UncommittedTransactionRemovesEverything) {
  Phantom p = small_phantom();
  test::TempDir tmp;
  fs::path out = tmp / "run";
  {
    OutputTransaction tx(out);
    tx.prepare();
    write_phantom(p, out / "case", Layout::dir, tx);
    EXPECT_TRUE(fs::exists(out / "case" / "structures" / "trachea.nii.gz"));
  }
  EXPECT_FALSE(fs::exists(out));
}

} // namespace
} // namespace nervemap::phantom
