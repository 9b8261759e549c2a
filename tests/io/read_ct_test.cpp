// read_ct: one entry point deciding by content between a DICOM folder, a DICOM zip, one DICOM file
// and NIfTI.
#include "helpers.h"
#include "io/io.h"
#include "support/test_support.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace nervemap::io {
namespace {

using io_test::input_error;
using io_test::write_bytes;
using nlohmann::json;
using test::read_json;
using test::shared_path;
using test::TempDir;
using ::testing::HasSubstr;

fs::path dicom(const std::string& relative) {
  return shared_path("fixtures/geometry/dicom/" + relative);
}
fs::path nifti(const std::string& relative) {
  return shared_path("fixtures/geometry/nifti/" + relative);
}

//! g_int16_scaled: 20 × 24 × 16, HU = stored × 2 − 1024, affine as in its sidecar.
void expect_nifti_g(const CtImage& ct) {
  const json e = read_json(nifti("g_int16_scaled.json"));
  EXPECT_EQ(ct.source_format, "nifti");
  EXPECT_TRUE(ct.patient.empty());
  EXPECT_EQ(ct.volume.geometry.dims, (Index3{20, 24, 16}));
  Mat4 affine;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c)
      affine(r, c) = e["affine_lps"][size_t(r)][size_t(c)].get<double>();
  EXPECT_LT((ct.volume.geometry.affine() - affine).cwiseAbs().maxCoeff(), 1e-5);
  for (const auto& v : e["voxels"])
    EXPECT_EQ(ct.volume.at(v["ijk"][0], v["ijk"][1], v["ijk"][2]), v["value"].get<float>());
}

TEST(ReadCt, MissingPathIsAnInputError) {
  TempDir tmp;
  Warnings w;
  EXPECT_THAT(input_error([&] { read_ct(tmp / "nope.nii.gz", "", w); }), HasSubstr("does not exist"));
}

TEST(ReadCt, FolderIsReadAsDicom) {
  Warnings w;
  const CtImage ct = read_ct(dicom("series_a"), "", w);
  EXPECT_EQ(ct.source_format, "dicom");
  EXPECT_EQ(ct.volume.geometry.dims, (Index3{32, 28, 12}));
  EXPECT_EQ(ct.patient.id, "GEOMFX01");
}

TEST(ReadCt, ZipIsReadAsDicomZipWhateverItsName) {
  TempDir tmp;
  fs::copy_file(dicom("series_a.zip"), tmp / "ct.nii.gz");
  for (const fs::path& p : {dicom("series_a.zip"), tmp / "ct.nii.gz"}) {
    Warnings w;
    const CtImage ct = read_ct(p, "", w);
    EXPECT_EQ(ct.source_format, "dicom-zip") << p;
    EXPECT_EQ(ct.volume.geometry.dims, (Index3{32, 28, 12}));
  }
}

TEST(ReadCt, OneDicomFileReadsItsSeries) {
  Warnings w;
  const CtImage ct = read_ct(dicom("series_a/IM_4EC2D003.dcm"), "", w);
  EXPECT_EQ(ct.source_format, "dicom");
  EXPECT_EQ(ct.volume.geometry.dims, (Index3{32, 28, 12}));
}

TEST(ReadCt, SeveralSeriesNeedAChoice) {
  Warnings w;
  EXPECT_THAT(input_error([&] { read_ct(dicom("two_series"), "", w); }), HasSubstr("--series"));
  const json e = read_json(dicom("two_series_expected.json"));
  const CtImage ct = read_ct(dicom("two_series"), e["series"][1]["series_instance_uid"], w);
  EXPECT_EQ(ct.volume.geometry.dims, (Index3{24, 20, 5}));
}

TEST(ReadCt, NiftiIsRecognisedByContent) {
  TempDir tmp;
  fs::copy_file(nifti("g_int16_scaled.nii.gz"), tmp / "scan.dat");
  for (const fs::path& p : {nifti("g_int16_scaled.nii.gz"), tmp / "scan.dat"}) {
    SCOPED_TRACE(p.string());
    Warnings w;
    expect_nifti_g(read_ct(p, "", w));
  }
}

TEST(ReadCt, UncompressedNifti) {
  Warnings w;
  const CtImage ct = read_ct(nifti("j_oblique.nii"), "", w);
  EXPECT_EQ(ct.source_format, "nifti");
  EXPECT_GT(ct.volume.geometry.voxel_count(), 0);
}

TEST(ReadCt, SeriesUidWithNiftiWarns) {
  Warnings w;
  read_ct(nifti("g_int16_scaled.nii.gz"), "1.2.3", w);
  ASSERT_FALSE(w.empty());
  EXPECT_THAT(w.items().back(), HasSubstr("--series 1.2.3 ignored"));
}

TEST(ReadCt, AnythingElseIsRefused) {
  TempDir tmp;
  write_bytes(tmp / "notes.txt", "a CT? no.\n");
  Warnings w;
  EXPECT_THAT(input_error([&] { read_ct(tmp / "notes.txt", "", w); }),
              HasSubstr("is not a NIfTI file, DICOM folder or zip of a DICOM series"));
  write_bytes(tmp / "empty.bin", "");
  EXPECT_THAT(input_error([&] { read_ct(tmp / "empty.bin", "", w); }),
              HasSubstr("is not a NIfTI file, DICOM folder or zip of a DICOM series"));
}

TEST(ReadCt, BrokenNiftiNameGoesToTheNiftiReader) {
  // Named .nii.gz but neither NIfTI nor anything else: the NIfTI reader's own error explains it.
  TempDir tmp;
  write_bytes(tmp / "ct.nii.gz", "definitely not gzip");
  Warnings w;
  const std::string message = input_error([&] { read_ct(tmp / "ct.nii.gz", "", w); });
  EXPECT_THAT(message, HasSubstr("ct.nii.gz"));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("DICOM")));
}

TEST(ReadCt, EmptyFolderIsAnInputError) {
  TempDir tmp;
  Warnings w;
  EXPECT_THAT(input_error([&] { read_ct(tmp.path(), "", w); }), HasSubstr("no DICOM image files found"));
}

} // namespace
} // namespace nervemap::io
