// NIfTI-1 writer: geometry round trips (RAS, LPS, flipped, oblique, sheared), the qform it writes, int16
// vs float32 storage, label tables in the CaretExtension, and the raw header fields other readers need.
#include "helpers.h"
#include "io/io.h"
#include "support/test_support.h"

#include <cmath>
#include <cstring>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace nervemap;
namespace fs = std::filesystem;
using nervemap::io_test::file_contents;
using nervemap::io_test::read_bytes;
using nervemap::io_test::write_bytes;
using nervemap::test::TempDir;
using ::testing::HasSubstr;

namespace {

constexpr size_t off_sizeof_hdr = 0, off_dim = 40, off_datatype = 70, off_bitpix = 72, off_pixdim = 76,
                 off_vox_offset = 108, off_scl_slope = 112, off_xyzt_units = 123, off_qform_code = 252,
                 off_sform_code = 254, off_magic = 344;

template <class T> T peek(const std::string& bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}
template <class T> void poke(std::string& bytes, size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof(T));
}

Geometry grid(const Mat3& direction, const Vec3& spacing, const Vec3& origin, Index3 dims = {7, 6, 5}) {
  return nervemap::test::voxel_grid(dims, spacing, direction, origin);
}

struct NamedGeometry {
  std::string name;
  Geometry geometry;
  bool orthonormal;
};

std::vector<NamedGeometry> geometries() {
  Vec3 spacing(0.7, 0.9, 2.5);
  Vec3 origin(-120.25, 85.5, -310.75);
  Mat3 ras_storage = Vec3(-1, -1, 1).asDiagonal(); // RAS+ file: i → patient right, j → anterior
  Mat3 flipped_z = Vec3(1, 1, -1).asDiagonal();
  Mat3 oblique = (Eigen::AngleAxisd(0.21, Vec3::UnitZ()) * Eigen::AngleAxisd(-0.13, Vec3::UnitX()) *
                  Eigen::AngleAxisd(0.05, Vec3::UnitY()))
                     .toRotationMatrix();
  Mat3 oblique_reflected = oblique * Vec3(1, -1, 1).asDiagonal();
  double tilt = 15.0 * M_PI / 180;
  Mat3 sheared = Mat3::Identity(); // gantry tilt: k steps along z, slices tilted about x
  sheared.col(1) = Vec3(0, std::cos(tilt), -std::sin(tilt));
  return {{"ras", grid(ras_storage, spacing, origin), true},
          {"lps", grid(Mat3::Identity(), spacing, origin), true},
          {"flipped_z", grid(flipped_z, spacing, origin), true},
          {"oblique", grid(oblique, spacing, origin), true},
          {"oblique_reflected", grid(oblique_reflected, spacing, origin), true},
          {"sheared", grid(sheared, Vec3(0.8, 0.8, 2.5), origin), false}};
}

CtVolume pattern_ct(const Geometry& g) {
  CtVolume v(g);
  for (size_t n = 0; n < v.data.size(); ++n)
    v.data[n] = float(int(n * 37 % 3001) - 1024);
  return v;
}

} // namespace

class NiftiRoundTrip : public ::testing::TestWithParam<std::tuple<size_t, std::string>> {};

TEST_P(NiftiRoundTrip, GeometryAndValuesSurvive) {
  auto [index, suffix] = GetParam();
  NamedGeometry case_ = geometries()[index];
  TempDir dir;
  fs::path file = dir / (case_.name + suffix);
  CtVolume written = pattern_ct(case_.geometry);
  io::write_nifti(file, written);

  Warnings warnings;
  io::NiftiHeader header;
  CtVolume read = io::read_nifti_image(file, warnings, &header);
  EXPECT_TRUE(warnings.empty()) << (warnings.empty() ? "" : warnings.items()[0]);
  EXPECT_EQ(header.affine_source, "sform");
  EXPECT_EQ(header.sform_code, 1);
  EXPECT_EQ(header.qform_code, case_.orthonormal ? 1 : 0);
  EXPECT_EQ(header.datatype, 4); // whole HU values in range → int16
  // float32 header fields: positions agree to well below the 1e-4 mm fixture tolerance.
  EXPECT_TRUE(read.geometry.same_grid(case_.geometry, 1e-4, 1e-6)) << read.geometry.affine() << "\nvs\n"
                                                                   << case_.geometry.affine();
  for (const Vec3& ijk : {Vec3(0, 0, 0), Vec3(6, 5, 4), Vec3(3, 0, 4)})
    EXPECT_LT((read.geometry.index_to_lps(ijk) - case_.geometry.index_to_lps(ijk)).norm(), 1e-4);
  EXPECT_EQ(read.data, written.data);
}

class NiftiQform : public ::testing::TestWithParam<size_t> {};

TEST_P(NiftiQform, QformAloneGivesTheSameGrid) {
  // Readers that prefer the qform (ITK) must see the same grid: drop the sform and read again.
  NamedGeometry case_ = geometries()[GetParam()];
  ASSERT_TRUE(case_.orthonormal);
  TempDir dir;
  io::write_nifti(dir / "x.nii", pattern_ct(case_.geometry));
  std::string bytes = read_bytes(dir / "x.nii");
  poke<int16_t>(bytes, off_sform_code, 0);
  write_bytes(dir / "qform_only.nii", bytes);
  io::NiftiHeader header = io::read_nifti_header(dir / "qform_only.nii");
  EXPECT_EQ(header.affine_source, "qform");
  // The quaternion's a = sqrt(1 - b² - c² - d²) is not stored, so near 180° rotations the float32 b, c, d
  // limit the direction to a few 1e-6; positions stay within 1e-4 mm.
  EXPECT_TRUE(header.geometry.same_grid(case_.geometry, 1e-4, 1e-5)) << header.geometry.affine() << "\nvs\n"
                                                                     << case_.geometry.affine();
  float qfac = peek<float>(bytes, off_pixdim);
  EXPECT_EQ(qfac, case_.geometry.direction.determinant() < 0 ? -1.0f : 1.0f);
}

INSTANTIATE_TEST_SUITE_P(Orthonormal, NiftiQform, ::testing::Range<size_t>(0, 5), [](const auto& info) {
  return geometries()[info.param].name;
});

INSTANTIATE_TEST_SUITE_P(Geometries,
                         NiftiRoundTrip,
                         ::testing::Combine(::testing::Range<size_t>(0, 6),
                                            ::testing::Values(".nii.gz", ".nii")),
                         [](const auto& info) {
                           std::string suffix = std::get<1>(info.param) == ".nii" ? "nii" : "niigz";
                           return geometries()[std::get<0>(info.param)].name + "_" + suffix;
                         });

TEST(NiftiWrite, ShearedGridKeepsExactSformAndNoQform) {
  NamedGeometry sheared = geometries()[5];
  ASSERT_FALSE(sheared.geometry.is_orthonormal());
  TempDir dir;
  io::write_nifti(dir / "tilt.nii", pattern_ct(sheared.geometry));
  std::string bytes = read_bytes(dir / "tilt.nii");
  EXPECT_EQ(peek<int16_t>(bytes, off_qform_code), 0);
  EXPECT_EQ(peek<int16_t>(bytes, off_sform_code), 1);
  // srow_y holds the RAS y row: -(LPS y row of D·diag(spacing)).
  Mat4 lps = sheared.geometry.affine();
  for (int c = 0; c < 4; ++c)
    EXPECT_NEAR(peek<float>(bytes, 296 + 4 * c), -lps(1, c), 1e-5);
}

TEST(NiftiWrite, StorageTypeFollowsTheValues) {
  TempDir dir;
  Geometry g = grid(Mat3::Identity(), Vec3(1, 1, 1), Vec3::Zero(), {3, 2, 2});
  CtVolume v(g, -1024.0f);
  v.at(2, 1, 1) = 32767;
  io::write_nifti(dir / "int.nii.gz", v);
  EXPECT_EQ(io::read_nifti_header(dir / "int.nii.gz").datatype, 4);

  Warnings warnings;
  for (float odd : {0.5f, 40000.0f, -40000.0f, std::numeric_limits<float>::quiet_NaN()}) {
    v.at(2, 1, 1) = odd;
    io::write_nifti(dir / "float.nii.gz", v);
    EXPECT_EQ(io::read_nifti_header(dir / "float.nii.gz").datatype, 16) << odd;
    float back = io::read_nifti_image(dir / "float.nii.gz", warnings).at(2, 1, 1);
    EXPECT_TRUE(back == odd || (std::isnan(back) && std::isnan(odd))) << odd;
  }

  v.at(2, 1, 1) = 12.6f;
  v.at(0, 0, 0) = 1e6f;
  io::write_nifti(dir / "forced.nii", v, io::NiftiStorage::int16);
  CtVolume forced = io::read_nifti_image(dir / "forced.nii", warnings);
  EXPECT_EQ(io::read_nifti_header(dir / "forced.nii").datatype, 4);
  EXPECT_EQ(forced.at(2, 1, 1), 13.0f);    // rounded
  EXPECT_EQ(forced.at(0, 0, 0), 32767.0f); // saturated
  EXPECT_EQ(forced.at(1, 0, 0), -1024.0f);

  v.at(0, 0, 0) = 5;
  v.at(2, 1, 1) = 7;
  io::write_nifti(dir / "forced_float.nii", v, io::NiftiStorage::float32);
  EXPECT_EQ(io::read_nifti_header(dir / "forced_float.nii").datatype, 16);
}

TEST(NiftiWrite, MaskWithLabelTable) {
  TempDir dir;
  Geometry g = geometries()[3].geometry;
  MaskVolume mask(g, 0);
  mask.at(1, 2, 3) = 1;
  mask.at(6, 5, 4) = 5;
  mask.at(0, 0, 0) = 255;
  LabelTable table;
  table.add(Label{1, "trachea", {0, 255, 0}});
  table.add(Label{5, "internal_jugular_vein_right", {0, 255, 255}});
  table.add(Label{255, "GTVp", {255, 255, 0}}); // 255 mod 12 = 3
  for (const char* name : {"labels.nii.gz", "labels.nii"}) {
    io::write_nifti(dir / name, mask, &table);
    Warnings warnings;
    LabelTable back;
    io::NiftiHeader header;
    MaskVolume read = io::read_nifti_labels(dir / name, warnings, &back, &header);
    EXPECT_TRUE(warnings.empty());
    EXPECT_EQ(read.data, mask.data);
    EXPECT_TRUE(read.geometry.same_grid(g, 1e-4, 1e-6));
    EXPECT_EQ(header.datatype, 2);
    ASSERT_EQ(header.extensions.size(), 1u);
    EXPECT_EQ(header.extensions[0].first, 0);
    EXPECT_EQ(header.extensions[0].second, io::caret_label_xml(table));
    size_t esize = (io::caret_label_xml(table).size() + 8 + 15) / 16 * 16;
    EXPECT_EQ(header.vox_offset, int64_t(352 + esize));
    ASSERT_EQ(back.size(), 3u);
    for (const Label& label : table.labels()) {
      ASSERT_NE(back.find(label.id), nullptr);
      EXPECT_EQ(back.find(label.id)->name, label.name);
      EXPECT_EQ(back.find(label.id)->rgb, label.rgb); // these colours are the TotalSegmentator palette's
    }
  }
  // Without a table: no extension, data at 352.
  io::write_nifti(dir / "plain.nii.gz", mask);
  io::NiftiHeader header = io::read_nifti_header(dir / "plain.nii.gz");
  EXPECT_TRUE(header.extensions.empty());
  EXPECT_EQ(header.vox_offset, 352);
}

TEST(NiftiWrite, HeaderFieldsAreStandard) {
  TempDir dir;
  Geometry g = geometries()[0].geometry;
  MaskVolume mask(g, 1);
  LabelTable table;
  table.add(Label{1, "thyroid_gland", {}});
  io::write_nifti(dir / "m.nii.gz", mask, &table);
  io::write_nifti(dir / "m.nii", mask, &table);
  std::string gz_raw = read_bytes(dir / "m.nii.gz");
  ASSERT_GE(gz_raw.size(), 18u);
  EXPECT_EQ(uint8_t(gz_raw[0]), 0x1f);
  EXPECT_EQ(uint8_t(gz_raw[1]), 0x8b);
  std::string bytes = file_contents(dir / "m.nii.gz");
  EXPECT_EQ(bytes, read_bytes(dir / "m.nii")); // same file, compressed or not

  EXPECT_EQ(peek<int32_t>(bytes, off_sizeof_hdr), 348);
  EXPECT_EQ(std::memcmp(bytes.data() + off_magic, "n+1\0", 4), 0);
  auto vox_offset = peek<float>(bytes, off_vox_offset);
  EXPECT_GE(vox_offset, 352.0f);
  EXPECT_EQ(std::fmod(vox_offset, 16.0f), 0.0f);
  EXPECT_EQ(bytes.size(), size_t(vox_offset) + 7 * 6 * 5);
  EXPECT_EQ(bytes[348], 1); // extender: extensions follow
  EXPECT_EQ(peek<int16_t>(bytes, off_dim), 3);
  EXPECT_EQ(peek<int16_t>(bytes, off_dim + 2), 7);
  EXPECT_EQ(peek<int16_t>(bytes, off_dim + 4), 6);
  EXPECT_EQ(peek<int16_t>(bytes, off_dim + 6), 5);
  EXPECT_EQ(peek<int16_t>(bytes, off_dim + 8), 1);
  EXPECT_EQ(peek<int16_t>(bytes, off_datatype), 2);
  EXPECT_EQ(peek<int16_t>(bytes, off_bitpix), 8);
  EXPECT_EQ(peek<float>(bytes, off_pixdim + 4), 0.7f);
  EXPECT_EQ(peek<float>(bytes, off_pixdim + 8), 0.9f);
  EXPECT_EQ(peek<float>(bytes, off_pixdim + 12), 2.5f);
  EXPECT_EQ(peek<float>(bytes, off_scl_slope), 1.0f);
  EXPECT_EQ(uint8_t(bytes[off_xyzt_units]), 2); // mm
  EXPECT_EQ(peek<int16_t>(bytes, off_qform_code), 1);
  EXPECT_EQ(peek<int16_t>(bytes, off_sform_code), 1);
  // Extension: esize multiple of 16, ecode 0, NUL padding after the XML.
  auto esize = peek<int32_t>(bytes, 352);
  EXPECT_EQ(esize % 16, 0);
  EXPECT_EQ(peek<int32_t>(bytes, 356), 0);
  EXPECT_EQ(352 + esize, int32_t(vox_offset));
  EXPECT_EQ(std::string(bytes.data() + 360, 5), "<?xml");
}

TEST(NiftiWrite, RefusesOtherSuffixesAndLeavesNoPartialFile) {
  TempDir dir;
  MaskVolume mask(geometries()[1].geometry, 0);
  try {
    io::write_nifti(dir / "mask.img", mask);
    ADD_FAILURE() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr(".nii or .nii.gz"));
  }
  try {
    io::write_nifti(dir / "missing_folder" / "mask.nii.gz", mask);
    ADD_FAILURE() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("missing_folder"));
  }
  Geometry empty = geometries()[1].geometry;
  empty.dims = {0, 6, 5};
  try {
    io::write_nifti(dir / "empty.nii.gz", MaskVolume(empty, 0));
    ADD_FAILURE() << "expected an InputError";
  } catch (const InputError& e) {
    EXPECT_THAT(e.what(), HasSubstr("zero-size"));
  }
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

TEST(NiftiWrite, OverwritesAnExistingFile) {
  TempDir dir;
  Geometry g = geometries()[1].geometry;
  io::write_nifti(dir / "m.nii.gz", MaskVolume(g, 1));
  io::write_nifti(dir / "m.nii.gz", MaskVolume(g, 2));
  Warnings warnings;
  EXPECT_EQ(io::read_nifti_labels(dir / "m.nii.gz", warnings).at(3, 3, 3), 2);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}
