// probe(): what a file is and whether its data is all there — plain and gzip NIfTI, whole and cut off at
// many places, damaged gzip, zip, DICOM, other files, TotalSegmentator label tables, 4-D headers.
#include "helpers.h"
#include "io/io.h"
#include "support/test_support.h"

#include <cstring>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace nervemap::io {
namespace {

using io_test::file_contents;
using io_test::gzip_member;
using io_test::input_error;
using io_test::read_bytes;
using io_test::write_bytes;
using test::shared_path;
using test::TempDir;
using ::testing::HasSubstr;

constexpr size_t off_dim = 40; // nifti1.h: int16 dim[8] at byte 40

//! 64×64×40 int16 voxels of noise (320 KiB, several 64 KiB chunks, barely compressible), so that a
//! cut anywhere in the gzip stream loses data.
CtVolume noise_ct() {
  Geometry g;
  g.dims = {64, 64, 40};
  g.spacing = Vec3(0.8, 0.8, 2.0);
  CtVolume ct(g);
  uint32_t state = 12345;
  for (float& v : ct.data) {
    state = state * 1664525u + 1013904223u; // Numerical Recipes LCG
    v = float(int(state >> 16) % 3000 - 1024);
  }
  return ct;
}

constexpr uint64_t noise_needed = 352 + 64 * 64 * 40 * 2; // vox_offset + voxels × int16

TEST(Probe, PlainNiftiWholeAndCutOff) {
  TempDir tmp;
  write_nifti(tmp / "ct.nii", noise_ct());
  const std::string bytes = read_bytes(tmp / "ct.nii");
  ASSERT_EQ(bytes.size(), noise_needed);

  const Probe whole = probe(tmp / "ct.nii");
  EXPECT_EQ(whole.format, FileFormat::nifti);
  ASSERT_TRUE(whole.nifti);
  EXPECT_EQ(whole.nifti->geometry.dims, (Index3{64, 64, 40}));
  EXPECT_EQ(whole.nifti->datatype, 4); // int16
  EXPECT_EQ(whole.data_bytes_needed, noise_needed);
  EXPECT_EQ(whole.data_bytes_present, noise_needed);
  EXPECT_TRUE(whole.complete());
  EXPECT_FALSE(whole.has_label_table);

  // Cut inside the voxel data: the header still reads, the data is short, and that is no error.
  for (size_t cut : {size_t(352), size_t(353), size_t(70000), bytes.size() / 2, bytes.size() - 1}) {
    SCOPED_TRACE(cut);
    write_bytes(tmp / "cut.nii", bytes.substr(0, cut));
    const Probe p = probe(tmp / "cut.nii");
    EXPECT_EQ(p.format, FileFormat::nifti);
    EXPECT_TRUE(p.nifti);
    EXPECT_EQ(p.data_bytes_needed, noise_needed);
    EXPECT_EQ(p.data_bytes_present, cut);
    EXPECT_FALSE(p.complete());
  }
  // Cut inside the header: it cannot be read.
  for (size_t cut : {size_t(4), size_t(100), size_t(347)}) {
    SCOPED_TRACE(cut);
    write_bytes(tmp / "cut.nii", bytes.substr(0, cut));
    EXPECT_THAT(input_error([&] { probe(tmp / "cut.nii"); }), HasSubstr("truncated NIfTI header"));
  }
}

TEST(Probe, GzipNiftiWholeAndCutOff) {
  TempDir tmp;
  write_nifti(tmp / "ct.nii.gz", noise_ct());
  const std::string gz = read_bytes(tmp / "ct.nii.gz");

  const Probe whole = probe(tmp / "ct.nii.gz");
  EXPECT_EQ(whole.format, FileFormat::nifti_gz);
  ASSERT_TRUE(whole.nifti);
  EXPECT_EQ(whole.nifti->geometry.dims, (Index3{64, 64, 40}));
  EXPECT_EQ(whole.data_bytes_needed, noise_needed);
  EXPECT_EQ(whole.data_bytes_present, noise_needed); // the stream ends with the voxels
  EXPECT_TRUE(whole.complete());

  // A stream that ends early is no error: it holds less than needed.
  for (double fraction : {0.05, 0.25, 0.5, 0.75, 0.99}) {
    SCOPED_TRACE(fraction);
    write_bytes(tmp / "cut.nii.gz", gz.substr(0, size_t(double(gz.size()) * fraction)));
    const Probe p = probe(tmp / "cut.nii.gz");
    EXPECT_EQ(p.format, FileFormat::nifti_gz);
    EXPECT_TRUE(p.nifti);
    EXPECT_EQ(p.data_bytes_needed, noise_needed);
    EXPECT_GT(p.data_bytes_present, 352u);
    EXPECT_LT(p.data_bytes_present, noise_needed);
    EXPECT_FALSE(p.complete());
  }
  // Cut inside the 8-byte trailer (RFC 1952): every voxel is there, as the reader finds too.
  write_bytes(tmp / "no_trailer.nii.gz", gz.substr(0, gz.size() - 4));
  const Probe no_trailer = probe(tmp / "no_trailer.nii.gz");
  EXPECT_EQ(no_trailer.data_bytes_present, noise_needed);
  EXPECT_TRUE(no_trailer.complete());
  Warnings w;
  EXPECT_EQ(read_nifti_image(tmp / "no_trailer.nii.gz", w).data.size(), size_t(64 * 64 * 40));
  // Cut before the header has been inflated: it cannot be read.
  write_bytes(tmp / "cut.nii.gz", gz.substr(0, 40));
  EXPECT_THAT(input_error([&] { probe(tmp / "cut.nii.gz"); }), HasSubstr("cut.nii.gz"));
}

TEST(Probe, MultiMemberGzipIsCountedAcrossMembers) {
  TempDir tmp;
  write_nifti(tmp / "ct.nii", noise_ct());
  const std::string bytes = read_bytes(tmp / "ct.nii");
  write_bytes(tmp / "multi.nii.gz",
              gzip_member(bytes.substr(0, 1000)) + gzip_member(bytes.substr(1000, 100000)) +
                  gzip_member(bytes.substr(101000)));
  const Probe p = probe(tmp / "multi.nii.gz");
  EXPECT_EQ(p.format, FileFormat::nifti_gz);
  EXPECT_EQ(p.data_bytes_present, noise_needed);
  EXPECT_TRUE(p.complete());
}

TEST(Probe, DamagedGzipIsAnInputError) {
  TempDir tmp;
  write_nifti(tmp / "ct.nii.gz", noise_ct());
  const std::string gz = read_bytes(tmp / "ct.nii.gz");
  std::string damaged = gz; // deflate data garbled after the header
  for (size_t i = gz.size() / 2; i < gz.size() / 2 + 64; ++i)
    damaged[i] = char(~damaged[i]);
  write_bytes(tmp / "damaged.nii.gz", damaged);
  std::string message = input_error([&] { probe(tmp / "damaged.nii.gz"); });
  EXPECT_THAT(message, HasSubstr("damaged.nii.gz"));
  EXPECT_THAT(message, HasSubstr("gzip data is corrupt"));

  std::string bad_crc = gz; // decodes fine, only the CRC-32 in the trailer (bytes -8..-5) is wrong
  bad_crc[gz.size() - 8] = char(~bad_crc[gz.size() - 8]);
  write_bytes(tmp / "bad_crc.nii.gz", bad_crc);
  message = input_error([&] { probe(tmp / "bad_crc.nii.gz"); });
  EXPECT_THAT(message, HasSubstr("bad_crc.nii.gz"));
  EXPECT_THAT(message, HasSubstr("gzip data is corrupt"));

  // A fixture written by nibabel, damaged the same way.
  std::string fixture = read_bytes(shared_path("fixtures/geometry/nifti/a_ras_diag.nii.gz"));
  fixture[fixture.size() - 6] = char(~fixture[fixture.size() - 6]);
  write_bytes(tmp / "a.nii.gz", fixture);
  EXPECT_THAT(input_error([&] { probe(tmp / "a.nii.gz"); }), HasSubstr("gzip data is corrupt"));
}

TEST(Probe, EveryNiftiFixtureIsCompleteAndAgreesWithTheReader) {
  for (const auto& entry : fs::directory_iterator(shared_path("fixtures/geometry/nifti"))) {
    if (!has_nifti_suffix(entry.path()))
      continue;
    SCOPED_TRACE(entry.path().filename().string());
    const Probe p = probe(entry.path());
    EXPECT_EQ(p.format, entry.path().extension() == ".gz" ? FileFormat::nifti_gz : FileFormat::nifti);
    ASSERT_TRUE(p.nifti);
    EXPECT_TRUE(p.nifti->geometry.same_grid(read_nifti_header(entry.path()).geometry, 0, 0));
    const std::string contents = file_contents(entry.path());
    int16_t bitpix = 0;
    std::memcpy(&bitpix, contents.data() + 72, 2); // nifti1.h: bitpix at byte 72
    EXPECT_EQ(p.data_bytes_needed, uint64_t(p.nifti->vox_offset) + 20 * 24 * 16 * uint64_t(bitpix / 8));
    EXPECT_EQ(p.data_bytes_present, contents.size());
    EXPECT_TRUE(p.complete());
    EXPECT_FALSE(p.has_label_table);
  }
}

TEST(Probe, TotalSegmentatorLabelTable) {
  const Probe ml = probe(shared_path("fixtures/geometry/ts_ml/multilabel.nii.gz"));
  EXPECT_EQ(ml.format, FileFormat::nifti_gz);
  EXPECT_TRUE(ml.has_label_table);
  EXPECT_TRUE(ml.complete());
  EXPECT_EQ(ml.nifti->vox_offset, 1152); // fixtures/geometry/README.md, Group 2
  EXPECT_EQ(ml.data_bytes_needed, 1152u + 48 * 40 * 32);

  const Probe mask = probe(shared_path("fixtures/geometry/ts_dir/trachea.nii.gz"));
  EXPECT_FALSE(mask.has_label_table);
  EXPECT_TRUE(mask.complete());

  // The table our own writer stores counts too.
  TempDir tmp;
  Geometry g;
  g.dims = {4, 3, 2};
  MaskVolume labels(g, 0);
  labels.at(1, 1, 1) = 2;
  LabelTable table;
  table.add({2, "esophagus"});
  write_nifti(tmp / "ml.nii.gz", labels, &table);
  EXPECT_TRUE(probe(tmp / "ml.nii.gz").has_label_table);
  write_nifti(tmp / "no_table.nii.gz", labels);
  EXPECT_FALSE(probe(tmp / "no_table.nii.gz").has_label_table);
}

TEST(Probe, FourDimensionalHeaderWithOneVolume) {
  TempDir tmp;
  write_nifti(tmp / "ct.nii", noise_ct());
  std::string bytes = read_bytes(tmp / "ct.nii");
  const int16_t four = 4, one = 1, two = 2;
  std::memcpy(bytes.data() + off_dim, &four, 2);    // dim[0]: 4 axes
  std::memcpy(bytes.data() + off_dim + 8, &one, 2); // dim[4]: one volume
  write_bytes(tmp / "one.nii", bytes);
  write_bytes(tmp / "one.nii.gz", gzip_member(bytes));
  for (const char* name : {"one.nii", "one.nii.gz"}) {
    SCOPED_TRACE(name);
    const Probe p = probe(tmp / name);
    ASSERT_TRUE(p.nifti);
    EXPECT_EQ(p.nifti->geometry.dims, (Index3{64, 64, 40}));
    EXPECT_EQ(p.data_bytes_needed, noise_needed);
    EXPECT_EQ(p.data_bytes_present, noise_needed);
    EXPECT_TRUE(p.complete());
  }
  // Several volumes are no image io reads: the header is refused, as by the readers.
  std::memcpy(bytes.data() + off_dim + 8, &two, 2);
  write_bytes(tmp / "two.nii", bytes);
  EXPECT_THAT(input_error([&] { probe(tmp / "two.nii"); }), HasSubstr("2 volumes"));
}

TEST(Probe, ZipDicomAndOtherFiles) {
  const Probe zip = probe(shared_path("fixtures/geometry/dicom/series_a.zip"));
  EXPECT_EQ(zip.format, FileFormat::zip);
  EXPECT_FALSE(zip.nifti);
  EXPECT_EQ(zip.data_bytes_needed, 0u);

  const Probe dcm = probe(shared_path("fixtures/geometry/dicom/real_ct_small/CT_small.dcm"));
  EXPECT_EQ(dcm.format, FileFormat::dicom);
  EXPECT_FALSE(dcm.nifti);
  const fs::path series_a = shared_path("fixtures/geometry/dicom/series_a");
  EXPECT_EQ(probe(fs::directory_iterator(series_a)->path()).format, FileFormat::dicom);

  TempDir tmp;
  write_bytes(tmp / "notes.txt", "a CT? no.\n");
  write_bytes(tmp / "empty.bin", "");
  write_bytes(tmp / "data.zip", "not a zip at all, whatever the name says");
  for (const char* name : {"notes.txt", "empty.bin", "data.zip"}) {
    SCOPED_TRACE(name);
    const Probe p = probe(tmp / name);
    EXPECT_EQ(p.format, FileFormat::unknown);
    EXPECT_FALSE(p.nifti);
  }
  // Content decides: a zip called .nii.gz is a zip; a plain NIfTI called .nii.gz is plain.
  fs::copy_file(shared_path("fixtures/geometry/dicom/series_a.zip"), tmp / "ct.nii.gz");
  EXPECT_EQ(probe(tmp / "ct.nii.gz").format, FileFormat::zip);
  fs::copy_file(shared_path("fixtures/geometry/nifti/j_oblique.nii"), tmp / "plain.nii.gz");
  EXPECT_EQ(probe(tmp / "plain.nii.gz").format, FileFormat::nifti);
  // Only a NIfTI name makes a file of unknown content a NIfTI, whose header error then explains it.
  write_bytes(tmp / "broken.nii", "definitely not NIfTI");
  EXPECT_THAT(input_error([&] { probe(tmp / "broken.nii"); }), HasSubstr("broken.nii"));
}

TEST(Probe, MissingPathAndFolderAreInputErrors) {
  TempDir tmp;
  EXPECT_THAT(input_error([&] { probe(tmp / "absent.nii.gz"); }), HasSubstr("no such file"));
  EXPECT_THAT(input_error([&] { probe(tmp.path()); }), HasSubstr("is a folder"));
}

} // namespace
} // namespace nervemap::io
