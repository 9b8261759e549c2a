// DICOM CT series: geometry and HU against the pydicom fixtures (fixtures/geometry/README.md, Group 3),
// series selection, consistency errors, corrupt files and compressed transfer syntaxes.
#include "helpers.h"
#include "io/io.h"
#include "support/test_support.h"

#include <algorithm>
#include <cstdlib>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <optional>

namespace nervemap::io {
namespace {

using io_test::input_error;
using io_test::read_bytes;
using io_test::write_bytes;
using nlohmann::json;
using test::read_json;
using test::shared_path;
using test::TempDir;
using ::testing::HasSubstr;

fs::path fixture(const std::string& relative) {
  return shared_path("fixtures/geometry/dicom/" + relative);
}

Vec3 vec3(const json& j) {
  return Vec3(j[0].get<double>(), j[1].get<double>(), j[2].get<double>());
}

Mat4 mat4(const json& j) {
  Mat4 m;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c)
      m(r, c) = j[size_t(r)][size_t(c)].get<double>();
  return m;
}

//! Dims, spacing, origin, direction, affine, HU range and every listed voxel of a sidecar. For the
//! tilted series the sidecar's `direction_lps_columns.k` is the (wrong) orthogonal normal, so the
//! caller passes `check_k_direction = false` and compares the sheared affine itself.
void expect_matches(const CtVolume& ct, const json& e, bool check_k_direction = true) {
  const Geometry& g = ct.geometry;
  EXPECT_EQ(g.dims, (Index3{e["dims_ijk"][0], e["dims_ijk"][1], e["dims_ijk"][2]}));
  if (!e["spacing_ijk_mm"].is_null()) {
    for (int a = 0; a < 3; ++a)
      EXPECT_NEAR(g.spacing[a], e["spacing_ijk_mm"][size_t(a)].get<double>(), 1e-6) << "axis " << a;
  }
  EXPECT_LT((g.origin - vec3(e["origin_lps_mm"])).cwiseAbs().maxCoeff(), 1e-6) << g.origin.transpose();
  const char* axes[] = {"i", "j", "k"};
  for (int a = 0; a < (check_k_direction ? 3 : 2); ++a) {
    EXPECT_LT((g.direction.col(a) - vec3(e["direction_lps_columns"][axes[a]])).cwiseAbs().maxCoeff(), 1e-6)
        << "direction " << axes[a] << ": " << g.direction.col(a).transpose();
  }
  if (e.contains("affine_lps")) {
    EXPECT_LT((g.affine() - mat4(e["affine_lps"])).cwiseAbs().maxCoeff(), 1e-6) << g.affine();
  }

  ASSERT_EQ(ct.data.size(), size_t(g.voxel_count()));
  const auto [lo, hi] = std::minmax_element(ct.data.begin(), ct.data.end());
  EXPECT_EQ(*lo, e["hu_min"].get<float>());
  EXPECT_EQ(*hi, e["hu_max"].get<float>());
  double sum = 0;
  for (float v : ct.data)
    sum += v;
  EXPECT_NEAR(sum / double(ct.data.size()), e["hu_mean"].get<double>(), 1e-3);

  ASSERT_FALSE(e["voxels"].empty());
  for (const auto& v : e["voxels"]) {
    const int64_t i = v["ijk"][0], j = v["ijk"][1], k = v["ijk"][2];
    ASSERT_TRUE(ct.contains(i, j, k));
    EXPECT_EQ(ct.at(i, j, k), v["hu"].get<float>()) << "voxel " << i << "," << j << "," << k;
    const Vec3 lps = g.index_to_lps(Vec3(double(i), double(j), double(k)));
    EXPECT_LT((lps - vec3(v["lps_mm"])).norm(), 1e-4)
        << "voxel " << i << "," << j << "," << k << " at " << lps.transpose();
  }
}

//! The synthetic fixtures encode every voxel: HU = i + C·j + C·R·k − 1024 + offset.
void expect_pixel_code(const CtVolume& ct, int offset = 0) {
  const auto& d = ct.geometry.dims;
  int64_t wrong = 0;
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j)
      for (int64_t i = 0; i < d[0]; ++i)
        if (ct.at(i, j, k) != float(i + d[0] * j + d[0] * d[1] * k - 1024 + offset))
          ++wrong;
  EXPECT_EQ(wrong, 0) << "voxels whose value does not match their index";
}

//! Copy of a fixture folder (files only) into `dest`.
void copy_folder(const fs::path& from, const fs::path& dest) {
  fs::create_directories(dest);
  for (const auto& entry : fs::directory_iterator(from))
    fs::copy_file(entry.path(), dest / entry.path().filename());
  // Fixtures are read-only; the copies get modified.
  for (const auto& entry : fs::directory_iterator(dest))
    fs::permissions(entry.path(), fs::perms::owner_read | fs::perms::owner_write);
}

//! Replace the value of a short explicit-VR little-endian element by one of the same length (so the
//! file structure stays valid). The fixtures are Explicit VR Little Endian.
void patch_value(const fs::path& file, uint16_t group, uint16_t element, const std::string& value) {
  std::string bytes = read_bytes(file);
  const std::string tag{char(group & 0xFF), char(group >> 8), char(element & 0xFF), char(element >> 8)};
  size_t found = std::string::npos, count = 0;
  for (size_t pos = bytes.find(tag); pos != std::string::npos; pos = bytes.find(tag, pos + 1)) {
    const size_t length = uint8_t(bytes[pos + 6]) | uint8_t(bytes[pos + 7]) << 8;
    if (std::isupper(uint8_t(bytes[pos + 4])) && length == value.size()) {
      found = pos;
      ++count;
    }
  }
  ASSERT_EQ(count, 1u) << "element to patch not found exactly once in " << file;
  bytes.replace(found + 8, value.size(), value);
  write_bytes(file, bytes);
}

//! File of series_a at sorted position k.
fs::path series_a_file(const fs::path& folder, int k) {
  const json e = read_json(fixture("series_a_expected.json"));
  return folder / e["slices_in_position_order"][size_t(k)]["file"].get<std::string>();
}

//! Sets an environment variable for the scope.
class ScopedEnv {
public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name))
      old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }

private:
  const char* name_;
  std::optional<std::string> old_;
};

bool has_warning(const Warnings& w, const std::string& part) {
  return std::any_of(w.items().begin(), w.items().end(), [&](const std::string& s) {
    return s.find(part) != std::string::npos;
  });
}

// ------------------------------------------------------------------------------------------------

TEST(DicomSeries, SeriesAMatchesSidecar) {
  const json e = read_json(fixture("series_a_expected.json"));
  Warnings w;
  const CtImage ct = read_dicom_ct(fixture("series_a"), "", w);
  expect_matches(ct.volume, e);
  expect_pixel_code(ct.volume);
  EXPECT_TRUE(ct.volume.geometry.is_orthonormal());
  EXPECT_EQ(ct.source_format, "dicom");
  EXPECT_TRUE(w.empty()) << w.items().front();
}

TEST(DicomSeries, SeriesAPatientInfo) {
  Warnings w;
  const CtImage ct = read_dicom_ct(fixture("series_a"), "", w);
  EXPECT_EQ(ct.patient.id, "GEOMFX01");
  EXPECT_EQ(ct.patient.name, "Fixture^Geometry");
  EXPECT_EQ(ct.patient.study_date, "20240102");
  EXPECT_EQ(ct.patient.series_uid, read_json(fixture("series_a_expected.json"))["series_instance_uid"]);
}

TEST(DicomSeries, SeriesAByItsUid) {
  const json e = read_json(fixture("series_a_expected.json"));
  Warnings w;
  const CtImage ct = read_dicom_ct(fixture("series_a"), e["series_instance_uid"], w);
  EXPECT_EQ(ct.volume.geometry.dims, (Index3{32, 28, 12}));
}

TEST(DicomSeries, ListsSeriesA) {
  const auto list = list_dicom_series(fixture("series_a"));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].series_uid, read_json(fixture("series_a_expected.json"))["series_instance_uid"]);
  EXPECT_EQ(list[0].series_number, 2);
  EXPECT_EQ(list[0].description, "series_a axial 2.5mm");
  EXPECT_EQ(list[0].modality, "CT");
  EXPECT_EQ(list[0].file_count, 12u);
  EXPECT_EQ(list[0].dims, (Index3{32, 28, 12}));
}

TEST(DicomSeries, ZipEqualsFolderAndLeavesNoTemporaryFiles) {
  TempDir tmp;
  Warnings w;
  CtImage from_zip;
  {
    ScopedEnv env("TMPDIR", tmp.path().string());
    from_zip = read_dicom_ct(fixture("series_a.zip"), "", w);
    EXPECT_EQ(list_dicom_series(fixture("series_a.zip")).size(), 1u);
  }
  EXPECT_TRUE(fs::is_empty(tmp.path())) << "the extracted zip was not removed";
  const CtImage from_folder = read_dicom_ct(fixture("series_a"), "", w);
  expect_matches(from_zip.volume, read_json(fixture("series_a_expected.json")));
  EXPECT_TRUE(from_zip.volume.geometry.same_grid(from_folder.volume.geometry, 1e-9, 1e-12));
  EXPECT_EQ(from_zip.volume.data, from_folder.volume.data);
  EXPECT_EQ(from_zip.source_format, "dicom-zip");
  EXPECT_EQ(from_zip.patient.series_uid, from_folder.patient.series_uid);
}

TEST(DicomSeries, ZipWithoutDicomIsAnErrorAndLeavesNoTemporaryFiles) {
  TempDir work, tmp;
  // A valid zip that holds no DICOM file.
  const fs::path zip = work / "notes.zip";
  {
    // Minimal valid zip with one stored text entry (APPNOTE.TXT 4.3), written by hand.
    const std::string name = "notes.txt", data = "hello";
    auto u16 = [](uint16_t v) { return std::string{char(v & 0xFF), char(v >> 8)}; };
    auto u32 = [](uint32_t v) {
      return std::string{char(v & 0xFF), char(v >> 8 & 0xFF), char(v >> 16 & 0xFF), char(v >> 24)};
    };
    const uint32_t crc = 0x3610a686; // crc32("hello")
    std::string local = "PK\x03\x04" + u16(10) + u16(0) + u16(0) + u16(0) + u16(0) + u32(crc) +
                        u32(uint32_t(data.size())) + u32(uint32_t(data.size())) + u16(uint16_t(name.size())) +
                        u16(0) + name + data;
    std::string central = "PK\x01\x02" + u16(20) + u16(10) + u16(0) + u16(0) + u16(0) + u16(0) + u32(crc) +
                          u32(uint32_t(data.size())) + u32(uint32_t(data.size())) +
                          u16(uint16_t(name.size())) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0) + u32(0) +
                          name;
    std::string end = "PK\x05\x06" + u16(0) + u16(0) + u16(1) + u16(1) + u32(uint32_t(central.size())) +
                      u32(uint32_t(local.size())) + u16(0);
    write_bytes(zip, local + central + end);
  }
  std::string message;
  {
    ScopedEnv env("TMPDIR", tmp.path().string());
    Warnings w;
    message = input_error([&] { read_dicom_ct(zip, "", w); });
  }
  EXPECT_THAT(message, HasSubstr("no DICOM image files found"));
  EXPECT_THAT(message, HasSubstr("notes.zip"));
  EXPECT_TRUE(fs::is_empty(tmp.path())) << "the extracted zip was not removed after the error";
}

TEST(DicomSeries, ObliqueMatchesSidecar) {
  const json e = read_json(fixture("oblique_expected.json"));
  Warnings w;
  const CtImage ct = read_dicom_ct(fixture("oblique"), "", w);
  expect_matches(ct.volume, e);
  expect_pixel_code(ct.volume);
  EXPECT_TRUE(ct.volume.geometry.is_orthonormal());
  EXPECT_TRUE(w.empty());
}

TEST(DicomSeries, TiltedKeepsTrueVoxelPositionsWithShear) {
  const json e = read_json(fixture("tilted_expected.json"));
  Warnings w;
  const CtImage ct = read_dicom_ct(fixture("tilted"), "", w);
  expect_matches(ct.volume, e, /*check_k_direction=*/false);
  expect_pixel_code(ct.volume);
  const Geometry& g = ct.volume.geometry;
  const Mat4 sheared = mat4(e["if_handled_with_shear"]["affine_lps"]);
  EXPECT_LT((g.affine() - sheared).cwiseAbs().maxCoeff(), 1e-6) << g.affine();
  EXPECT_GT((g.affine() - mat4(e["affine_lps_orthogonal_WRONG"])).cwiseAbs().maxCoeff(), 0.1);
  EXPECT_NEAR(g.spacing[2], 2.5, 1e-9);
  EXPECT_LT((g.direction.col(2) - Vec3(0, 0, 1)).norm(), 1e-9);
  EXPECT_FALSE(g.is_orthonormal());
  ASSERT_EQ(w.items().size(), 1u);
  EXPECT_THAT(w.items()[0],
              HasSubstr("gantry tilt of 15.0°; voxels kept at their true positions (sheared slice "
                        "axis)"));
  // The last slice's corner: an orthogonal stack would put it 5.8 mm away.
  EXPECT_LT((g.index_to_lps(Vec3(0, 0, 9)) - Vec3(-12.4, -9.45, -17.5)).norm(), 1e-4);
}

TEST(DicomSeries, TwoSeriesAreListed) {
  const json e = read_json(fixture("two_series_expected.json"));
  const auto list = list_dicom_series(fixture("two_series"));
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].series_number, 5);
  EXPECT_EQ(list[0].description, "two_series A axial 2.5mm");
  EXPECT_EQ(list[0].file_count, 6u);
  EXPECT_EQ(list[0].dims, (Index3{32, 28, 6}));
  EXPECT_EQ(list[0].series_uid, e["series"][0]["series_instance_uid"]);
  EXPECT_EQ(list[1].series_number, 6);
  EXPECT_EQ(list[1].description, "two_series B axial 5mm");
  EXPECT_EQ(list[1].file_count, 5u);
  EXPECT_EQ(list[1].dims, (Index3{24, 20, 5}));
  EXPECT_EQ(list[1].series_uid, e["series"][1]["series_instance_uid"]);
  EXPECT_EQ(list[1].modality, "CT");
}

TEST(DicomSeries, TwoSeriesWithoutUidAsksForOne) {
  const json e = read_json(fixture("two_series_expected.json"));
  Warnings w;
  const std::string message = input_error([&] { read_dicom_ct(fixture("two_series"), "", w); });
  EXPECT_THAT(message, HasSubstr("--series"));
  EXPECT_THAT(message, HasSubstr("2 DICOM series"));
  for (const auto& s : e["series"]) {
    EXPECT_THAT(message, HasSubstr(s["series_instance_uid"].get<std::string>()));
    EXPECT_THAT(message, HasSubstr(s["series_description"].get<std::string>()));
    EXPECT_THAT(message, HasSubstr(std::to_string(s["n_files"].get<int>()) + " files"));
  }
  EXPECT_EQ(message.find('\n'), std::string::npos) << "the CLI prints one error line";
}

TEST(DicomSeries, TwoSeriesEachByUid) {
  const json e = read_json(fixture("two_series_expected.json"));
  for (const auto& s : e["series"]) {
    Warnings w;
    const CtImage ct = read_dicom_ct(fixture("two_series"), s["series_instance_uid"], w);
    SCOPED_TRACE(s["series_description"].get<std::string>());
    expect_matches(ct.volume, s);
    expect_pixel_code(ct.volume, s["series_number"] == 6 ? 20000 : 0);
    EXPECT_EQ(ct.patient.series_uid, s["series_instance_uid"]);
  }
}

TEST(DicomSeries, UnknownUidListsTheAvailableOnes) {
  const json e = read_json(fixture("two_series_expected.json"));
  Warnings w;
  const std::string message = input_error([&] { read_dicom_ct(fixture("two_series"), "1.2.3.4", w); });
  EXPECT_THAT(message, HasSubstr("1.2.3.4"));
  EXPECT_THAT(message, HasSubstr(e["series"][0]["series_instance_uid"].get<std::string>()));
  EXPECT_THAT(message, HasSubstr(e["series"][1]["series_instance_uid"].get<std::string>()));
}

TEST(DicomSeries, RealCtSmallMatchesSidecar) {
  const json e = read_json(fixture("real_ct_small_expected.json"));
  Warnings w;
  const CtImage ct = read_dicom_ct(fixture("real_ct_small"), "", w);
  // Single slice: k spacing falls back to SpacingBetweenSlices, then SliceThickness (both 5.0 in this
  // file), documented in the warning, so the sidecar's affine (which uses 5.0) applies as a whole.
  expect_matches(ct.volume, e);
  EXPECT_TRUE(has_warning(w, "single slice"));
  EXPECT_TRUE(has_warning(w, "SpacingBetweenSlices (0018,0088)"));
  EXPECT_EQ(ct.patient.series_uid.empty(), false);
}

TEST(DicomSeries, OneFileReadsItsWholeSeries) {
  const fs::path file = fixture("series_a") / "IM_4EC2D003.dcm";
  Warnings w;
  const CtImage ct = read_dicom_ct(file, "", w);
  expect_matches(ct.volume, read_json(fixture("series_a_expected.json")));
  const auto list = list_dicom_series(file);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].file_count, 12u);
}

TEST(DicomSeries, OneFileGivenByItsBareName) {
  const fs::path before = fs::current_path();
  fs::current_path(fixture("series_a"));
  Warnings w;
  std::optional<CtImage> ct;
  EXPECT_NO_THROW(ct = read_dicom_ct("IM_4EC2D003.dcm", "", w));
  fs::current_path(before);
  ASSERT_TRUE(ct);
  EXPECT_EQ(ct->volume.geometry.dims, (Index3{32, 28, 12}));
}

TEST(DicomSeries, DicomdirFileReadsTheFolderItIndexes) {
  TempDir tmp;
  copy_folder(fixture("series_a"), tmp / "DICOM" / "S1");
  write_bytes(tmp / "DICOMDIR", std::string(128, '\0') + "DICM" + std::string(50, 'x'));
  Warnings w;
  const CtImage ct = read_dicom_ct(tmp / "DICOMDIR", "", w);
  EXPECT_EQ(ct.volume.geometry.dims, (Index3{32, 28, 12}));
  const auto list = list_dicom_series(tmp / "DICOMDIR");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].file_count, 12u);
}

TEST(DicomSeries, OneFileOfTwoSeriesPicksItsOwn) {
  const json e = read_json(fixture("two_series_expected.json"));
  const auto& b = e["series"][1];
  const fs::path file = fixture("two_series") / b["slices_in_position_order"][0]["file"].get<std::string>();
  Warnings w;
  const CtImage ct = read_dicom_ct(file, "", w);
  expect_matches(ct.volume, b);
  EXPECT_THAT(input_error([&] { read_dicom_ct(file, e["series"][0]["series_instance_uid"], w); }),
              HasSubstr("belongs to series"));
}

TEST(DicomSeries, MissingSliceIsAGap) {
  TempDir tmp;
  copy_folder(fixture("series_a"), tmp / "s");
  fs::remove(series_a_file(tmp / "s", 5));
  Warnings w;
  const std::string message = input_error([&] { read_dicom_ct(tmp / "s", "", w); });
  EXPECT_THAT(message, HasSubstr("non-uniform slice spacing"));
  EXPECT_THAT(message, HasSubstr("between slice 4"));
  EXPECT_THAT(message, HasSubstr("step is 5 mm"));
  EXPECT_THAT(message, HasSubstr(series_a_file(tmp / "s", 4).filename().string()));
}

TEST(DicomSeries, DuplicatePositionIsAnError) {
  TempDir tmp;
  copy_folder(fixture("series_a"), tmp / "s");
  fs::copy_file(series_a_file(tmp / "s", 3), tmp / "s" / "copy_of_slice3.dcm");
  Warnings w;
  const std::string message = input_error([&] { read_dicom_ct(tmp / "s", "", w); });
  EXPECT_THAT(message, HasSubstr("same position"));
  EXPECT_THAT(message, HasSubstr("copy_of_slice3.dcm"));
}

TEST(DicomSeries, DifferentOrientationIsAnError) {
  TempDir tmp;
  copy_folder(fixture("series_a"), tmp / "s");
  // "1\0\0\0\1\0 " → a sagittal plane in one file (a localizer slipped into the series).
  patch_value(series_a_file(tmp / "s", 7), 0x0020, 0x0037, "0\\1\\0\\0\\0\\1 ");
  Warnings w;
  const std::string message = input_error([&] { read_dicom_ct(tmp / "s", "", w); });
  EXPECT_THAT(message, HasSubstr("differ in orientation"));
  EXPECT_THAT(message, HasSubstr(series_a_file(tmp / "s", 7).filename().string()));
}

TEST(DicomSeries, DifferentPixelSpacingIsAnError) {
  TempDir tmp;
  copy_folder(fixture("series_a"), tmp / "s");
  patch_value(series_a_file(tmp / "s", 2), 0x0028, 0x0030, "0.7\\0.9 ");
  Warnings w;
  EXPECT_THAT(input_error([&] { read_dicom_ct(tmp / "s", "", w); }), HasSubstr("differ in PixelSpacing"));
}

TEST(DicomSeries, RescaleIsAppliedPerSlice) {
  TempDir tmp;
  copy_folder(fixture("series_a"), tmp / "s");
  patch_value(series_a_file(tmp / "s", 4), 0x0028, 0x1053, "2 ");     // RescaleSlope
  patch_value(series_a_file(tmp / "s", 6), 0x0028, 0x1052, "-1000 "); // RescaleIntercept (was -1024)
  Warnings w;
  const CtImage ct = read_dicom_ct(tmp / "s", "", w);
  const auto& d = ct.volume.geometry.dims;
  for (int64_t k : {3, 4, 6}) {
    const int64_t i = 5, j = 7;
    const double stored = double(i + d[0] * j + d[0] * d[1] * k);
    const double expected = k == 4 ? 2 * stored - 1024 : k == 6 ? stored - 1000 : stored - 1024;
    EXPECT_EQ(ct.volume.at(i, j, k), float(expected)) << "slice " << k;
  }
}

TEST(DicomSeries, OtherModalityWarns) {
  TempDir tmp;
  copy_folder(fixture("series_a"), tmp / "s");
  for (const auto& entry : fs::directory_iterator(tmp / "s"))
    patch_value(entry.path(), 0x0008, 0x0060, "MR");
  Warnings w;
  const CtImage ct = read_dicom_ct(tmp / "s", "", w);
  EXPECT_TRUE(has_warning(w, "modality MR, not CT"));
  EXPECT_EQ(list_dicom_series(tmp / "s")[0].modality, "MR");
}

TEST(DicomSeries, TruncatedPixelDataNamesTheFile) {
  TempDir tmp;
  copy_folder(fixture("series_a"), tmp / "s");
  const fs::path victim = series_a_file(tmp / "s", 6);
  fs::resize_file(victim, fs::file_size(victim) - 100);
  Warnings w;
  const std::string message = input_error([&] { read_dicom_ct(tmp / "s", "", w); });
  EXPECT_THAT(message, HasSubstr(victim.filename().string()));
  EXPECT_THAT(message, HasSubstr("truncated"));
}

TEST(DicomSeries, TruncatedAnywhereIsAnInputErrorNotACrash) {
  // Debian's GDCM aborts on some truncations (assert in gdcmItem.h); the reader must not let it.
  const std::string bytes = read_bytes(fixture("real_ct_small/CT_small.dcm"));
  TempDir tmp;
  int cases = 0;
  for (size_t cut = 0; cut < bytes.size(); cut += cut < 8000 ? 37 : 4099) {
    const fs::path dir = tmp / ("cut" + std::to_string(cut));
    fs::create_directories(dir);
    write_bytes(dir / "CT_small.dcm", bytes.substr(0, cut));
    Warnings w;
    const std::string message = input_error([&] { read_dicom_ct(dir, "", w); });
    EXPECT_TRUE(message.find("truncated") != std::string::npos ||
                message.find("no DICOM image files found") != std::string::npos)
        << "cut at " << cut << ": " << message;
    ++cases;
  }
  EXPECT_GT(cases, 200);
}

TEST(DicomSeries, TruncatedHeaderIsReportedAsCorrupt) {
  TempDir tmp;
  fs::create_directories(tmp / "d");
  write_bytes(tmp / "d" / "CT_small.dcm", read_bytes(fixture("real_ct_small/CT_small.dcm")).substr(0, 1000));
  Warnings w;
  const std::string message = input_error([&] { read_dicom_ct(tmp / "d", "", w); });
  EXPECT_THAT(message, HasSubstr("CT_small.dcm is corrupt"));
  EXPECT_THAT(message, HasSubstr("truncated"));
}

TEST(DicomSeries, EmptyFolderIsAnInputError) {
  TempDir tmp;
  fs::create_directories(tmp / "empty");
  Warnings w;
  EXPECT_THAT(input_error([&] { read_dicom_ct(tmp / "empty", "", w); }),
              HasSubstr("no DICOM image files found"));
  EXPECT_THAT(input_error([&] { list_dicom_series(tmp / "empty"); }),
              HasSubstr("no DICOM image files found"));
  EXPECT_THAT(input_error([&] { read_dicom_ct(tmp / "missing", "", w); }), HasSubstr("does not exist"));
}

TEST(DicomSeries, NonDicomFilesAndDicomdirAreIgnoredAndSubfoldersSearched) {
  TempDir tmp;
  copy_folder(fixture("series_a"), tmp / "export" / "CT" / "A");
  write_bytes(tmp / "README.txt", "exported by a PACS\n");
  write_bytes(tmp / "DICOMDIR", std::string(128, '\0') + "DICM" + std::string(50, 'x'));
  write_bytes(tmp / "export" / "thumbs.db", std::string(4096, '\x07'));
  Warnings w;
  const CtImage ct = read_dicom_ct(tmp.path(), "", w);
  EXPECT_EQ(ct.volume.geometry.dims, (Index3{32, 28, 12}));
  EXPECT_TRUE(w.empty()) << w.items().front();
}

TEST(DicomSeries, UnrelatedBrokenFileIsAWarning) {
  TempDir tmp;
  copy_folder(fixture("series_a"), tmp / "s");
  // A truncated CT of another series (CT_small, cut inside its pixel data) beside series_a.
  const std::string small = read_bytes(fixture("real_ct_small/CT_small.dcm"));
  write_bytes(tmp / "s" / "other.dcm", small.substr(0, small.size() - 5000));
  Warnings w;
  const CtImage ct = read_dicom_ct(tmp / "s", "", w);
  EXPECT_EQ(ct.volume.geometry.dims, (Index3{32, 28, 12}));
  EXPECT_TRUE(has_warning(w, "other.dcm")) << (w.empty() ? "" : w.items().front());
}

TEST(DicomSeries, CompressedTransferSyntaxesDecodeIdentically) {
  // gdcmconv (libgdcm-tools) rewrites series_a in other transfer syntaxes; lossless all of them.
  if (test::run({"gdcmconv", "--version"}).exit_code != 0)
    GTEST_SKIP() << "gdcmconv not installed";
  Warnings w;
  const CtImage reference = read_dicom_ct(fixture("series_a"), "", w);
  const std::vector<std::pair<std::string, std::string>> syntaxes = {{"-M", "implicit VR"},
                                                                     {"-d", "deflated"},
                                                                     {"-R", "RLE"},
                                                                     {"-J", "JPEG lossless"},
                                                                     {"-L", "JPEG-LS"},
                                                                     {"-K", "JPEG 2000"}};
  for (const auto& [option, name] : syntaxes) {
    SCOPED_TRACE(name);
    TempDir tmp;
    for (const auto& entry : fs::directory_iterator(fixture("series_a"))) {
      const auto r = test::run(
          {"gdcmconv", option, entry.path().string(), (tmp / entry.path().filename().string()).string()});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    Warnings w2;
    const CtImage ct = read_dicom_ct(tmp.path(), "", w2);
    EXPECT_TRUE(ct.volume.geometry.same_grid(reference.volume.geometry, 1e-9, 1e-12));
    EXPECT_EQ(ct.volume.data, reference.volume.data);
  }
}

TEST(DicomSeries, CorruptCompressedDataIsAnInputErrorNotACrash) {
  // GDCM's RLE codec divides by the segment count: 0 kills the process with SIGFPE. The reader
  // decodes compressed data in a child process and reports the file instead.
  if (test::run({"gdcmconv", "--version"}).exit_code != 0)
    GTEST_SKIP() << "gdcmconv not installed";
  TempDir tmp;
  for (const auto& entry : fs::directory_iterator(fixture("series_a"))) {
    const auto r = test::run(
        {"gdcmconv", "-R", entry.path().string(), (tmp / entry.path().filename().string()).string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  const fs::path victim = series_a_file(tmp.path(), 8);
  std::string bytes = read_bytes(victim);
  // Encapsulated pixel data (PS3.5 A.4): (7FE0,0010) OB, offset-table item, then the first fragment,
  // which starts with the RLE header: the number of segments (PS3.5 G.5).
  const size_t pixel_data = bytes.find(std::string("\xE0\x7F\x10\x00OB", 6));
  ASSERT_NE(pixel_data, std::string::npos);
  const size_t table_length = uint8_t(bytes[pixel_data + 16]) | uint8_t(bytes[pixel_data + 17]) << 8;
  const size_t rle_header = pixel_data + 12 + 8 + table_length + 8;
  ASSERT_EQ(bytes[rle_header], 2) << "two RLE segments expected for 16-bit pixels";
  bytes[rle_header] = 0;
  write_bytes(victim, bytes);
  Warnings w;
  const std::string message = input_error([&] { read_dicom_ct(tmp.path(), "", w); });
  EXPECT_THAT(message, HasSubstr(victim.filename().string()));
  EXPECT_THAT(message, HasSubstr("corrupt"));
}

TEST(DicomSeries, InvalidPixelFormatIsRefused) {
  TempDir tmp;
  copy_folder(fixture("series_a"), tmp / "s");
  // BitsStored (0028,0101) is US: binary, 2 bytes. 17 > BitsAllocated 16.
  patch_value(series_a_file(tmp / "s", 1), 0x0028, 0x0101, std::string("\x11\x00", 2));
  Warnings w;
  EXPECT_THAT(input_error([&] { read_dicom_ct(tmp / "s", "", w); }),
              HasSubstr("invalid or unsupported pixel format"));
}

} // namespace
} // namespace nervemap::io
