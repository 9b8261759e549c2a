// NIfTI-1 reader: the nibabel-written geometry fixtures (cases a–l, TotalSegmentator layouts), byte order,
// multi-member gzip, the CaretExtension label table, and one clear InputError per kind of bad file.
#include "helpers.h"
#include "io/io.h"
#include "support/test_support.h"

#include <cstring>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace nervemap;
namespace fs = std::filesystem;
using nervemap::io_test::file_contents;
using nervemap::io_test::gzip_member;
using nervemap::io_test::read_bytes;
using nervemap::io_test::write_bytes;
using nervemap::test::read_json;
using nervemap::test::shared_path;
using nervemap::test::TempDir;
using nlohmann::json;
using ::testing::HasSubstr;

namespace {

const std::vector<std::string> nifti_cases = {"a_ras_diag",
                                              "b_lps_diag",
                                              "c_flip_z",
                                              "d_oblique",
                                              "e_qform_only",
                                              "f_sform_over_qform",
                                              "g_int16_scaled",
                                              "h_float32",
                                              "i_uint8_mask",
                                              "j_oblique",
                                              "k_permuted",
                                              "l_qform_qfac_neg"};

fs::path fixture(const std::string& relative) {
  return shared_path("fixtures/geometry/" + relative);
}

json sidecar(const std::string& name) {
  return read_json(fixture("nifti/" + name + ".json"));
}

fs::path case_file(const std::string& name) {
  return fixture("nifti/" + sidecar(name)["file"].get<std::string>());
}

Mat4 matrix4(const json& rows) {
  Mat4 m;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c)
      m(r, c) = rows[r][c].get<double>();
  return m;
}

Vec3 vec3(const json& v) {
  return Vec3(v[0].get<double>(), v[1].get<double>(), v[2].get<double>());
}

template <class T> Vec3 centroid_lps(const Volume<T>& v, int label, int64_t& count) {
  Vec3 sum = Vec3::Zero();
  count = 0;
  for (int64_t k = 0; k < v.geometry.dims[2]; ++k)
    for (int64_t j = 0; j < v.geometry.dims[1]; ++j)
      for (int64_t i = 0; i < v.geometry.dims[0]; ++i)
        if (v.at(i, j, k) == T(label)) {
          sum += v.geometry.index_to_lps(Vec3(double(i), double(j), double(k)));
          ++count;
        }
  return count ? Vec3(sum / double(count)) : Vec3(Vec3::Zero());
}

// NIfTI-1 header field offsets (nifti1.h), used to build and damage files independently of the reader.
constexpr size_t off_sizeof_hdr = 0, off_dim = 40, off_datatype = 70, off_bitpix = 72, off_pixdim = 76,
                 off_vox_offset = 108, off_scl_slope = 112, off_scl_inter = 116, off_qform_code = 252,
                 off_sform_code = 254, off_quatern = 256, off_srow = 280, off_magic = 344;

template <class T> void poke(std::string& bytes, size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof(T));
}
template <class T> T peek(const std::string& bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

//! The uncompressed bytes of fixture a (int16, 20×24×16, vox_offset 352).
std::string case_a_bytes() {
  return file_contents(case_file("a_ras_diag"));
}

void expect_input_error(const std::function<void()>& action, const std::vector<std::string>& fragments) {
  try {
    action();
    ADD_FAILURE() << "expected an InputError";
  } catch (const InputError& e) {
    for (const auto& fragment : fragments)
      EXPECT_THAT(e.what(), HasSubstr(fragment));
  }
}

} // namespace

// ---- Group 1: nibabel geometry fixtures ----

class NiftiFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(NiftiFixture, GeometryMatchesNibabel) {
  json expected = sidecar(GetParam());
  Warnings warnings;
  io::NiftiHeader header;
  CtVolume volume = io::read_nifti_image(case_file(GetParam()), warnings, &header);
  const Geometry& g = volume.geometry;

  EXPECT_EQ(header.affine_source, expected["affine_source"].get<std::string>());
  Index3 shape{expected["shape"][0].get<int64_t>(),
               expected["shape"][1].get<int64_t>(),
               expected["shape"][2].get<int64_t>()};
  EXPECT_EQ(g.dims, shape);
  Mat4 affine = matrix4(expected["affine_lps"]);
  EXPECT_LT((g.affine() - affine).cwiseAbs().maxCoeff(), 1e-6) << g.affine() << "\nexpected\n" << affine;
  EXPECT_LT((g.spacing - vec3(expected["spacing_mm"])).cwiseAbs().maxCoeff(), 1e-6);
  const json& columns = expected["direction_lps_columns"];
  EXPECT_LT((g.direction.col(0) - vec3(columns["i"])).norm(), 1e-6);
  EXPECT_LT((g.direction.col(1) - vec3(columns["j"])).norm(), 1e-6);
  EXPECT_LT((g.direction.col(2) - vec3(columns["k"])).norm(), 1e-6);
  EXPECT_LT((g.origin - vec3(expected["origin_lps_mm"])).norm(), 1e-4);
  EXPECT_EQ(header.sform_code, expected["header"]["sform_code"].get<int>());
  EXPECT_EQ(header.qform_code, expected["header"]["qform_code"].get<int>());
  EXPECT_EQ(header.datatype, expected["header"]["datatype"].get<int>());
}

TEST_P(NiftiFixture, ListedVoxelsHaveValueAndPosition) {
  json expected = sidecar(GetParam());
  Warnings warnings;
  CtVolume volume = io::read_nifti_image(case_file(GetParam()), warnings);
  double tolerance = expected["tolerance_mm"].get<double>();
  ASSERT_GE(expected["voxels"].size(), 12u);
  for (const json& voxel : expected["voxels"]) {
    Vec3 ijk = vec3(voxel["ijk"]);
    auto i = int64_t(ijk[0]), j = int64_t(ijk[1]), k = int64_t(ijk[2]);
    Vec3 lps = vec3(voxel["lps_mm"]);
    EXPECT_LT((volume.geometry.index_to_lps(ijk) - lps).norm(), tolerance) << "voxel " << ijk.transpose();
    EXPECT_EQ(volume.at(i, j, k), voxel["value"].get<float>()) << "voxel " << ijk.transpose();
    // And the other way round: the voxel found at the listed LPS point holds the listed value.
    Vec3 back = volume.geometry.lps_to_index(lps);
    Vec3 rounded = back.array().round();
    EXPECT_LT((back - rounded).cwiseAbs().maxCoeff(), 1e-3);
    EXPECT_EQ(volume.at(int64_t(rounded[0]), int64_t(rounded[1]), int64_t(rounded[2])),
              voxel["value"].get<float>());
  }
}

INSTANTIATE_TEST_SUITE_P(Nibabel, NiftiFixture, ::testing::ValuesIn(nifti_cases));

TEST(NiftiRead, EveryVoxelCarriesItsFileOrderCode) {
  // Cases a–f, j, k, l store v = i + 20j + 480k: any flip or permutation of the data shows here.
  for (const std::string name : {"a_ras_diag",
                                 "b_lps_diag",
                                 "c_flip_z",
                                 "d_oblique",
                                 "e_qform_only",
                                 "f_sform_over_qform",
                                 "j_oblique",
                                 "k_permuted",
                                 "l_qform_qfac_neg"}) {
    Warnings warnings;
    CtVolume v = io::read_nifti_image(case_file(name), warnings);
    int64_t wrong = 0;
    for (int64_t k = 0; k < 16; ++k)
      for (int64_t j = 0; j < 24; ++j)
        for (int64_t i = 0; i < 20; ++i)
          wrong += v.at(i, j, k) != float(i + 20 * j + 480 * k);
    EXPECT_EQ(wrong, 0) << name;
  }
}

TEST(NiftiRead, DecoyTransformsAreNotUsed) {
  Warnings warnings;
  // e: sform_code 0 → the srow decoy must be ignored.
  CtVolume e = io::read_nifti_image(case_file("e_qform_only"), warnings);
  Mat4 decoy_e = lps_from_ras(matrix4(sidecar("e_qform_only")["decoy_sform_ras"]));
  EXPECT_GT((e.geometry.affine() - decoy_e).cwiseAbs().maxCoeff(), 1.0);
  // f: sform_code 2 wins over a different qform.
  CtVolume f = io::read_nifti_image(case_file("f_sform_over_qform"), warnings);
  Mat4 decoy_f = lps_from_ras(matrix4(sidecar("f_sform_over_qform")["decoy_qform_ras"]));
  EXPECT_GT((f.geometry.affine() - decoy_f).cwiseAbs().maxCoeff(), 1.0);
}

TEST(NiftiRead, WarnsWhenSformAndQformDisagree) {
  Warnings f_warnings;
  io::read_nifti_image(case_file("f_sform_over_qform"), f_warnings);
  ASSERT_EQ(f_warnings.items().size(), 1u);
  EXPECT_THAT(f_warnings.items()[0], HasSubstr("f_sform_over_qform.nii.gz"));
  EXPECT_THAT(f_warnings.items()[0], HasSubstr("using the sform"));

  for (const std::string name : {"a_ras_diag",
                                 "b_lps_diag",
                                 "c_flip_z",
                                 "d_oblique",
                                 "e_qform_only",
                                 "g_int16_scaled",
                                 "h_float32",
                                 "j_oblique",
                                 "k_permuted",
                                 "l_qform_qfac_neg"}) {
    Warnings warnings;
    io::read_nifti_image(case_file(name), warnings);
    EXPECT_TRUE(warnings.empty()) << name << ": " << (warnings.empty() ? "" : warnings.items()[0]);
  }
}

TEST(NiftiRead, AppliesSlopeAndIntercept) {
  Warnings warnings;
  io::NiftiHeader header;
  CtVolume g = io::read_nifti_image(case_file("g_int16_scaled"), warnings, &header);
  EXPECT_EQ(header.scl_slope, 2.0);
  EXPECT_EQ(header.scl_inter, -1024.0);
  EXPECT_EQ(g.at(0, 0, 0), -1024.0f);
  EXPECT_EQ(g.at(19, 23, 15), float(2 * (19 + 20 * 23 + 480 * 15) - 1024));
  EXPECT_EQ(g.at(3, 5, 7), float(2 * (3 + 100 + 480 * 7) - 1024));
}

TEST(NiftiRead, Float32ValuesAreExact) {
  Warnings warnings;
  CtVolume h = io::read_nifti_image(case_file("h_float32"), warnings);
  int64_t wrong = 0;
  for (int64_t k = 0; k < 16; ++k)
    for (int64_t j = 0; j < 24; ++j)
      for (int64_t i = 0; i < 20; ++i)
        wrong += h.at(i, j, k) != float(0.5 * double(i + 20 * j + 480 * k) - 1000.25);
  EXPECT_EQ(wrong, 0);
}

TEST(NiftiRead, MaskCountAndCentroid) {
  json expected = sidecar("i_uint8_mask");
  Warnings warnings;
  MaskVolume mask = io::read_nifti_labels(case_file("i_uint8_mask"), warnings);
  int64_t count = 0;
  Vec3 centroid = centroid_lps(mask, 1, count);
  EXPECT_EQ(count, 48);
  EXPECT_EQ(count, expected["mask_voxel_count"].get<int64_t>());
  EXPECT_LT((centroid - vec3(expected["mask_centroid_lps_mm"])).norm(), 1e-4);
  EXPECT_LT((centroid - Vec3(4.4167, -6.7708, -8.125)).norm(), 1e-3);
}

TEST(NiftiRead, PlainAndCompressedFilesAgree) {
  Warnings warnings;
  CtVolume d = io::read_nifti_image(case_file("d_oblique"), warnings);
  CtVolume j = io::read_nifti_image(case_file("j_oblique"), warnings);
  EXPECT_TRUE(d.geometry.same_grid(j.geometry, 1e-9, 1e-12));
  EXPECT_EQ(d.data, j.data);
}

TEST(NiftiRead, HeaderOnlyMatchesFullRead) {
  io::NiftiHeader header = io::read_nifti_header(case_file("k_permuted"));
  Warnings warnings;
  CtVolume k = io::read_nifti_image(case_file("k_permuted"), warnings);
  EXPECT_TRUE(header.geometry.same_grid(k.geometry, 1e-12, 1e-12));
  EXPECT_EQ(header.vox_offset, 352);
  EXPECT_EQ(header.datatype, 4);
}

TEST(NiftiRead, BaseAffineWhenNoTransformIsSet) {
  // nibabel's fallback: diag(-pixdim1, pixdim2, pixdim3) in RAS with the grid centre at 0.
  TempDir dir;
  std::string bytes = case_a_bytes();
  poke<int16_t>(bytes, off_qform_code, 0);
  poke<int16_t>(bytes, off_sform_code, 0);
  write_bytes(dir / "base.nii", bytes);
  io::NiftiHeader header = io::read_nifti_header(dir / "base.nii");
  EXPECT_EQ(header.affine_source, "base");
  Vec3 zooms(0.75, peek<float>(bytes, off_pixdim + 8), 1.5);
  // LPS = diag(-1,-1,1)·RAS: i runs along +x (patient left), j along -y, k along +z.
  Mat4 expected = Mat4::Identity();
  expected(0, 0) = zooms[0];
  expected(1, 1) = -zooms[1];
  expected(2, 2) = zooms[2];
  expected(0, 3) = -9.5 * zooms[0];
  expected(1, 3) = 11.5 * zooms[1];
  expected(2, 3) = -7.5 * zooms[2];
  EXPECT_LT((header.geometry.affine() - expected).cwiseAbs().maxCoeff(), 1e-9) << header.geometry.affine();
}

TEST(NiftiRead, BigEndianFiles) {
  // Byte-swap every numeric header field and the data: same image, other byte order. Fixture a is
  // int16 with qform and sform, g adds scaling, h is float32.
  for (const auto& [name, value_bytes] : std::vector<std::pair<std::string, size_t>>{
           {"a_ras_diag", 2}, {"g_int16_scaled", 2}, {"h_float32", 4}}) {
    std::string bytes = file_contents(case_file(name));
    auto swap_field = [&](size_t offset, size_t width, size_t count) {
      for (size_t n = 0; n < count; ++n)
        std::reverse(bytes.begin() + long(offset + n * width),
                     bytes.begin() + long(offset + (n + 1) * width));
    };
    swap_field(off_sizeof_hdr, 4, 1);
    swap_field(off_dim, 2, 8);
    swap_field(off_datatype, 2, 2); // datatype, bitpix
    swap_field(off_pixdim, 4, 8);
    swap_field(off_vox_offset, 4, 3); // vox_offset, scl_slope, scl_inter
    swap_field(off_qform_code, 2, 2);
    swap_field(off_quatern, 4, 6);
    swap_field(off_srow, 4, 12);
    swap_field(352, value_bytes, 20 * 24 * 16);
    TempDir dir;
    write_bytes(dir / "big.nii", bytes);
    Warnings warnings;
    CtVolume little = io::read_nifti_image(case_file(name), warnings);
    CtVolume big = io::read_nifti_image(dir / "big.nii", warnings);
    EXPECT_TRUE(big.geometry.same_grid(little.geometry, 1e-9, 1e-12)) << name;
    EXPECT_EQ(big.data, little.data) << name;
    EXPECT_TRUE(warnings.empty()) << name;
  }
}

TEST(NiftiRead, MultiMemberGzip) {
  // bgzip/pigz --independent style: the stream is several concatenated gzip members (RFC 1952 §2.2).
  std::string bytes = case_a_bytes();
  std::string gz = gzip_member(bytes.substr(0, 100)) + gzip_member(bytes.substr(100, 5000)) +
                   gzip_member(bytes.substr(5100));
  TempDir dir;
  write_bytes(dir / "multi.nii.gz", gz);
  Warnings warnings;
  CtVolume a = io::read_nifti_image(case_file("a_ras_diag"), warnings);
  CtVolume multi = io::read_nifti_image(dir / "multi.nii.gz", warnings);
  EXPECT_TRUE(multi.geometry.same_grid(a.geometry, 1e-9, 1e-12));
  EXPECT_EQ(multi.data, a.data);
  // Also with trailing bytes after the data inside the member (some writers pad).
  write_bytes(dir / "padded.nii.gz", gzip_member(bytes + std::string(1000, '\0')));
  EXPECT_EQ(io::read_nifti_image(dir / "padded.nii.gz", warnings).data, a.data);
}

TEST(NiftiRead, SuffixDoesNotDecideCompression) {
  TempDir dir;
  write_bytes(dir / "actually_plain.nii.gz", case_a_bytes());
  Warnings warnings;
  CtVolume v = io::read_nifti_image(dir / "actually_plain.nii.gz", warnings);
  EXPECT_EQ(v.at(19, 23, 15), float(19 + 20 * 23 + 480 * 15));
}

TEST(NiftiRead, ScaleSlopeZeroOrNanMeansNoScaling) {
  TempDir dir;
  std::string bytes = case_a_bytes();
  Warnings warnings;
  for (float slope : {0.0f, std::numeric_limits<float>::quiet_NaN()}) {
    poke<float>(bytes, off_scl_slope, slope);
    poke<float>(bytes, off_scl_inter, 100.0f);
    write_bytes(dir / "slope.nii", bytes);
    io::NiftiHeader header;
    CtVolume v = io::read_nifti_image(dir / "slope.nii", warnings, &header);
    EXPECT_EQ(header.scl_slope, 1.0);
    EXPECT_EQ(header.scl_inter, 0.0);
    EXPECT_EQ(v.at(3, 5, 7), float(3 + 100 + 480 * 7));
  }
}

// ---- Group 2: TotalSegmentator layouts ----

TEST(NiftiLabels, TotalSegmentatorMultilabelWithTable) {
  json expected = read_json(fixture("ts_ml_expected.json"));
  Warnings warnings;
  LabelTable table;
  io::NiftiHeader header;
  MaskVolume ml = io::read_nifti_labels(fixture("ts_ml/multilabel.nii.gz"), warnings, &table, &header);
  EXPECT_TRUE(warnings.empty());
  EXPECT_LT((ml.geometry.affine() - matrix4(expected["affine_lps"])).cwiseAbs().maxCoeff(), 1e-9);
  EXPECT_EQ(header.vox_offset, 1152);

  ASSERT_EQ(header.extensions.size(), 1u);
  EXPECT_EQ(header.extensions[0].first, 0);
  std::string xml = expected["extension"]["content_utf8"].get<std::string>();
  EXPECT_EQ(header.extensions[0].second, xml);
  // The header-only path (streaming inflate up to vox_offset) finds the same extension.
  io::NiftiHeader header_only = io::read_nifti_header(fixture("ts_ml/multilabel.nii.gz"));
  ASSERT_EQ(header_only.extensions.size(), 1u);
  EXPECT_EQ(header_only.extensions[0].second, xml);

  ASSERT_EQ(table.size(), expected["labels"].size());
  for (const auto& [key, name] : expected["labels"].items()) {
    const Label* label = table.find(std::stoi(key));
    ASSERT_NE(label, nullptr) << key;
    EXPECT_EQ(label->name, name.get<std::string>());
  }
  EXPECT_EQ(table.find(1)->rgb, (Rgb{0, 255, 0}));
  EXPECT_EQ(table.find(4)->rgb, (Rgb{255, 0, 255}));

  for (const json& cls : expected["classes"]) {
    int64_t count = 0;
    Vec3 centroid = centroid_lps(ml, cls["label_value_in_multilabel"].get<int>(), count);
    EXPECT_EQ(count, cls["voxel_count"].get<int64_t>()) << cls["name"];
    EXPECT_LT((centroid - vec3(cls["centroid_lps_mm"])).norm(), 1e-4) << cls["name"];
  }
  // Anatomy in LPS: the left carotid is at larger x than the right jugular; trachea anterior to oesophagus.
  int64_t n = 0;
  EXPECT_GT(centroid_lps(ml, 4, n)[0], centroid_lps(ml, 5, n)[0]);
  EXPECT_LT(centroid_lps(ml, 1, n)[1], centroid_lps(ml, 2, n)[1]);
}

TEST(NiftiLabels, CaretXmlIsByteIdenticalToTotalSegmentator) {
  json expected = read_json(fixture("ts_ml_expected.json"));
  LabelTable table;
  for (const auto& [key, name] : expected["labels"].items())
    table.add(Label{std::stoi(key), name.get<std::string>(), {}});
  std::string xml = io::caret_label_xml(table);
  EXPECT_EQ(xml, expected["extension"]["content_utf8"].get<std::string>());
  EXPECT_EQ(xml.size(), expected["extension"]["content_bytes_written"].get<size_t>());
}

TEST(NiftiLabels, CaretPaletteFollowsKeyModTwelveLikePythonRepr) {
  LabelTable table;
  table.add(Label{6, "a", {}});
  table.add(Label{11, "b", {}});
  table.add(Label{12, "c", {}});
  table.add(Label{200, "d", {}});
  std::string xml = io::caret_label_xml(table);
  EXPECT_THAT(xml,
              HasSubstr("<Label Key=\"6\" Red=\"1.0\" Green=\"0.5019607843137255\" Blue=\"0.0\" Alpha=\"1\">"
                        "<![CDATA[a]]></Label>\n"));
  EXPECT_THAT(xml,
              HasSubstr("<Label Key=\"11\" Red=\"0.7254901960784313\" Green=\"0.6666666666666666\" "
                        "Blue=\"0.6078431372549019\" Alpha=\"1\"><![CDATA[b]]></Label>\n"));
  EXPECT_THAT(xml, HasSubstr("<Label Key=\"12\" Red=\"1.0\" Green=\"0.0\" Blue=\"0.0\" Alpha=\"1\">"));
  // 200 mod 12 = 8 → (128, 255, 128)
  EXPECT_THAT(
      xml,
      HasSubstr("<Label Key=\"200\" Red=\"0.5019607843137255\" Green=\"1.0\" Blue=\"0.5019607843137255\""));
  LabelTable back = io::parse_caret_label_xml(xml);
  ASSERT_EQ(back.size(), 4u);
  EXPECT_EQ(back.find(11)->name, "b");
  EXPECT_EQ(back.find(11)->rgb, (Rgb{185, 170, 155}));
}

TEST(NiftiLabels, ParsesWorkbenchStyleXml) {
  std::string xml =
      "<?xml version=\"1.0\"?>\n<CaretExtension><VolumeInformation><LabelTable>\n"
      "  <Label Key='0' Red='0' Green='0' Blue='0' Alpha='0'><![CDATA[???]]></Label>\n"
      "  <Label Key=\"7\" Red=\"0.5\" Green=\"0.25\" Blue=\"1\" Alpha=\"1\"> A &amp; B </Label>\n"
      "  <Label Key=\"8\">x<![CDATA[<y>]]>&#x7A;</Label>\n"
      "</LabelTable></VolumeInformation></CaretExtension>";
  LabelTable table = io::parse_caret_label_xml(xml);
  ASSERT_EQ(table.size(), 3u);
  EXPECT_EQ(table.find(0)->name, "???");
  EXPECT_EQ(table.find(7)->name, "A & B");
  EXPECT_EQ(table.find(7)->rgb, (Rgb{128, 64, 255}));
  EXPECT_EQ(table.find(8)->name, "x<y>z");
}

TEST(NiftiLabels, MalformedXmlIsAnInputError) {
  const std::string head = "<CaretExtension><LabelTable>";
  expect_input_error([&] { io::parse_caret_label_xml(head + "<Label Key=\"1\">open"); }, {"</Label>"});
  expect_input_error([&] { io::parse_caret_label_xml(head + "<Label Red=\"1\">x</Label>"); }, {"Key"});
  expect_input_error([&] { io::parse_caret_label_xml(head + "<Label Key=\"one\">x</Label>"); }, {"integer"});
  expect_input_error([&] { io::parse_caret_label_xml(head + "<Label Key=\"1\" Red=\"red\">x</Label>"); },
                     {"colour"});
  expect_input_error([&] { io::parse_caret_label_xml(head + "<Label Key=\"1\"><![CDATA[x</Label>"); },
                     {"CDATA"});
  expect_input_error(
      [&] { io::parse_caret_label_xml(head + "<Label Key=\"1\">a</Label><Label Key=\"1\">b</Label>"); },
      {"twice"});
  expect_input_error([&] { io::parse_caret_label_xml("<LabelTable></LabelTable>"); }, {"CaretExtension"});
}

TEST(NiftiLabels, TotalSegmentatorPerClassFolder) {
  json expected = read_json(fixture("ts_dir_expected.json"));
  Warnings warnings;
  MaskVolume ml = io::read_nifti_labels(fixture("ts_ml/multilabel.nii.gz"), warnings);
  ASSERT_EQ(expected["classes"].size(), 5u);
  for (const json& cls : expected["classes"]) {
    fs::path file = fixture(cls["file"].get<std::string>());
    LabelTable table;
    MaskVolume mask = io::read_nifti_labels(file, warnings, &table);
    EXPECT_TRUE(table.empty());
    int64_t count = 0;
    Vec3 centroid = centroid_lps(mask, 1, count);
    EXPECT_EQ(count, cls["voxel_count"].get<int64_t>()) << file;
    EXPECT_LT((centroid - vec3(cls["centroid_lps_mm"])).norm(), 1e-4) << file;
    EXPECT_TRUE(mask.geometry.same_grid(ml.geometry));
    auto label = uint8_t(cls["label_value_in_multilabel"].get<int>());
    int64_t differ = 0;
    for (size_t i = 0; i < mask.data.size(); ++i)
      differ += mask.data[i] != uint8_t(ml.data[i] == label);
    EXPECT_EQ(differ, 0) << file;
  }
  EXPECT_TRUE(warnings.empty());
}

TEST(NiftiLabels, IntegerAndFloatFilesWithWholeValuesAreLabels) {
  Warnings warnings;
  // int16 codes up to 7679 are not labels...
  expect_input_error([&] { io::read_nifti_labels(case_file("a_ras_diag"), warnings); },
                     {"a_ras_diag.nii.gz", "too large", "0..255"});
  // ...but the same file restricted to 0..255 is.
  TempDir dir;
  std::string bytes = case_a_bytes();
  for (size_t v = 0; v < 20 * 24 * 16; ++v)
    poke<int16_t>(bytes, 352 + 2 * v, int16_t(v % 256));
  write_bytes(dir / "small.nii", bytes);
  MaskVolume small = io::read_nifti_labels(dir / "small.nii", warnings);
  EXPECT_EQ(small.at(19, 23, 15), uint8_t((19 + 20 * 23 + 480 * 15) % 256));
}

// ---- Errors: one clear InputError per kind of bad file ----

TEST(NiftiErrors, MissingFile) {
  Warnings warnings;
  expect_input_error([&] { io::read_nifti_image("/nonexistent/ct.nii.gz", warnings); },
                     {"/nonexistent/ct.nii.gz", "no such file"});
  TempDir dir;
  expect_input_error([&] { io::read_nifti_header(dir.path()); }, {"folder"});
}

TEST(NiftiErrors, TruncatedHeader) {
  TempDir dir;
  write_bytes(dir / "short.nii", case_a_bytes().substr(0, 200));
  write_bytes(dir / "short.nii.gz", gzip_member(case_a_bytes().substr(0, 200)));
  write_bytes(dir / "empty.nii", "");
  for (const char* name : {"short.nii", "short.nii.gz", "empty.nii"})
    expect_input_error([&] { io::read_nifti_header(dir / name); }, {name, "truncated NIfTI header"});
}

TEST(NiftiErrors, WrongMagic) {
  TempDir dir;
  std::string bytes = case_a_bytes();
  std::memcpy(bytes.data() + off_magic, "ni1\0", 4);
  write_bytes(dir / "pair.nii", bytes);
  expect_input_error([&] { io::read_nifti_header(dir / "pair.nii"); }, {"pair.nii", "NIfTI pair", "not"});
  std::memcpy(bytes.data() + off_magic, "\0\0\0\0", 4);
  write_bytes(dir / "analyze.nii", bytes);
  expect_input_error([&] { io::read_nifti_header(dir / "analyze.nii"); }, {"analyze.nii", "'n+1' magic"});
  write_bytes(dir / "text.nii", std::string(400, 'x'));
  expect_input_error([&] { io::read_nifti_header(dir / "text.nii"); }, {"text.nii", "not a NIfTI-1 file"});
  bytes = case_a_bytes();
  poke<int32_t>(bytes, off_sizeof_hdr, 540);
  write_bytes(dir / "nifti2.nii", bytes);
  expect_input_error([&] { io::read_nifti_header(dir / "nifti2.nii"); }, {"NIfTI-2"});
}

TEST(NiftiErrors, TruncatedAndCorruptGzip) {
  TempDir dir;
  std::string gz = read_bytes(case_file("a_ras_diag"));
  write_bytes(dir / "cut.nii.gz", gz.substr(0, gz.size() / 2));
  Warnings warnings;
  expect_input_error([&] { io::read_nifti_image(dir / "cut.nii.gz", warnings); },
                     {"cut.nii.gz", "truncated"});
  write_bytes(dir / "cut_in_header.nii.gz", gz.substr(0, 40));
  expect_input_error([&] { io::read_nifti_header(dir / "cut_in_header.nii.gz"); }, {"cut_in_header.nii.gz"});
  std::string damaged = gz;
  for (size_t i = 200; i < 260; ++i)
    damaged[i] = char(~damaged[i]);
  write_bytes(dir / "damaged.nii.gz", damaged);
  std::string bad_crc = gz; // stream decodes fine, only its CRC-32 (trailer bytes -8..-5) is wrong
  bad_crc[gz.size() - 8] = char(~bad_crc[gz.size() - 8]);
  write_bytes(dir / "bad_crc.nii.gz", bad_crc);
  expect_input_error([&] { io::read_nifti_image(dir / "bad_crc.nii.gz", warnings); },
                     {"bad_crc.nii.gz", "corrupt"});
  expect_input_error([&] { io::read_nifti_image(dir / "damaged.nii.gz", warnings); },
                     {"damaged.nii.gz", "corrupt"});
}

TEST(NiftiErrors, DataShorterThanDims) {
  TempDir dir;
  std::string bytes = case_a_bytes();
  write_bytes(dir / "short.nii", bytes.substr(0, bytes.size() - 10));
  write_bytes(dir / "short.nii.gz", gzip_member(bytes.substr(0, bytes.size() - 10)));
  Warnings warnings;
  for (const char* name : {"short.nii", "short.nii.gz"})
    expect_input_error([&] { io::read_nifti_image(dir / name, warnings); },
                       {name, "shorter than the header says", "20×24×16 int16"});
  // The header alone still reads: only the data is missing.
  EXPECT_EQ(io::read_nifti_header(dir / "short.nii").geometry.dims, (Index3{20, 24, 16}));
}

TEST(NiftiErrors, AbsurdDimsFailWithoutHugeAllocation) {
  // 32767³ int16 voxels (70 TB) claimed by a 15 kB file: refused before any allocation.
  TempDir dir;
  std::string bytes = case_a_bytes();
  for (int a = 1; a <= 3; ++a)
    poke<int16_t>(bytes, off_dim + 2 * a, 32767);
  write_bytes(dir / "huge.nii.gz", gzip_member(bytes));
  write_bytes(dir / "huge.nii", bytes);
  Warnings warnings;
  for (const char* name : {"huge.nii", "huge.nii.gz"})
    expect_input_error([&] { io::read_nifti_image(dir / name, warnings); }, {name});
  // 2^31 voxels claimed by a 16 kB gzip, more than deflate can expand to: refused before allocating.
  poke<int16_t>(bytes, off_dim + 2, 2048);
  poke<int16_t>(bytes, off_dim + 4, 2048);
  poke<int16_t>(bytes, off_dim + 6, 512);
  poke<int16_t>(bytes, off_datatype, 2);
  write_bytes(dir / "big.nii.gz", gzip_member(bytes + std::string(size_t(1) << 24, '\0')));
  expect_input_error([&] { io::read_nifti_labels(dir / "big.nii.gz", warnings); },
                     {"big.nii.gz", "2048×2048×512 uint8", "more than", "can hold"});
}

TEST(NiftiErrors, ZeroSizeDimension) {
  TempDir dir;
  std::string bytes = case_a_bytes();
  poke<int16_t>(bytes, off_dim + 4, 0);
  write_bytes(dir / "zero.nii", bytes);
  expect_input_error([&] { io::read_nifti_header(dir / "zero.nii"); },
                     {"zero.nii", "dimension 2 has size 0"});
  bytes = case_a_bytes();
  poke<int16_t>(bytes, off_dim, 9);
  write_bytes(dir / "ndim.nii", bytes);
  expect_input_error([&] { io::read_nifti_header(dir / "ndim.nii"); }, {"dim[0] = 9"});
}

TEST(NiftiErrors, UnsupportedDatatype) {
  TempDir dir;
  std::string bytes = case_a_bytes();
  poke<int16_t>(bytes, off_datatype, 32); // complex64
  write_bytes(dir / "complex.nii", bytes);
  expect_input_error([&] { io::read_nifti_header(dir / "complex.nii"); },
                     {"complex.nii", "complex64", "unsupported"});
  poke<int16_t>(bytes, off_datatype, 128);
  write_bytes(dir / "rgb.nii", bytes);
  expect_input_error([&] { io::read_nifti_header(dir / "rgb.nii"); }, {"RGB24"});
}

TEST(NiftiErrors, FourDimensionalWithSeveralVolumes) {
  TempDir dir;
  std::string bytes = case_a_bytes();
  poke<int16_t>(bytes, off_dim, 4);
  poke<int16_t>(bytes, off_dim + 8, 2);
  bytes += bytes.substr(352); // really holds two volumes
  write_bytes(dir / "two.nii", bytes);
  Warnings warnings;
  expect_input_error([&] { io::read_nifti_image(dir / "two.nii", warnings); },
                     {"two.nii", "2 volumes", "only 3-D"});
  // One volume in a 4-D header is fine.
  bytes = case_a_bytes();
  poke<int16_t>(bytes, off_dim, 4);
  poke<int16_t>(bytes, off_dim + 8, 1);
  write_bytes(dir / "one.nii", bytes);
  EXPECT_EQ(io::read_nifti_image(dir / "one.nii", warnings).at(1, 1, 1), float(1 + 20 + 480));
}

TEST(NiftiErrors, LabelValuesThatAreNotLabels) {
  TempDir dir;
  Geometry g;
  g.dims = {4, 3, 2};
  CtVolume v(g, 0.0f);
  v.at(3, 2, 1) = 300;
  io::write_nifti(dir / "big.nii.gz", v);
  Warnings warnings;
  expect_input_error([&] { io::read_nifti_labels(dir / "big.nii.gz", warnings); },
                     {"big.nii.gz", "300", "(3, 2, 1)", "too large"});
  v.at(3, 2, 1) = 1.5f;
  io::write_nifti(dir / "half.nii.gz", v);
  expect_input_error([&] { io::read_nifti_labels(dir / "half.nii.gz", warnings); },
                     {"half.nii.gz", "not a label map", "1.5"});
  v.at(3, 2, 1) = -2;
  io::write_nifti(dir / "negative.nii", v);
  expect_input_error([&] { io::read_nifti_labels(dir / "negative.nii", warnings); }, {"negative"});
  v.at(3, 2, 1) = 7;
  io::write_nifti(dir / "ok.nii", v, io::NiftiStorage::float32);
  EXPECT_EQ(io::read_nifti_labels(dir / "ok.nii", warnings).at(3, 2, 1), 7);
}

TEST(NiftiErrors, NonFiniteSform) {
  TempDir dir;
  std::string bytes = case_a_bytes();
  poke<float>(bytes, off_srow + 4, std::numeric_limits<float>::infinity());
  write_bytes(dir / "inf.nii", bytes);
  expect_input_error([&] { io::read_nifti_header(dir / "inf.nii"); }, {"inf.nii", "non-finite"});
}

TEST(NiftiErrors, CorruptExtension) {
  TempDir dir;
  std::string bytes = case_a_bytes();
  // Claim an extension and move the data back 16 bytes, but give the extension a size beyond vox_offset.
  bytes.insert(352, std::string(16, '\0'));
  bytes[348] = 1;
  poke<float>(bytes, off_vox_offset, 368.0f);
  poke<int32_t>(bytes, 352, 64);
  write_bytes(dir / "ext.nii", bytes);
  expect_input_error([&] { io::read_nifti_header(dir / "ext.nii"); }, {"ext.nii", "extension"});
  // A correct one reads, content with NULs stripped.
  poke<int32_t>(bytes, 352, 16);
  poke<int32_t>(bytes, 356, 4);
  std::memcpy(bytes.data() + 360, "abc\0\0\0\0\0", 8);
  write_bytes(dir / "ext.nii", bytes);
  io::NiftiHeader header = io::read_nifti_header(dir / "ext.nii");
  ASSERT_EQ(header.extensions.size(), 1u);
  EXPECT_EQ(header.extensions[0], (std::pair<int, std::string>{4, "abc"}));
  EXPECT_EQ(header.vox_offset, 368);
}

TEST(NiftiSuffix, RecognisesNiftiNames) {
  EXPECT_TRUE(io::has_nifti_suffix("a/ct.nii.gz"));
  EXPECT_TRUE(io::has_nifti_suffix("ct.nii"));
  EXPECT_TRUE(io::has_nifti_suffix("CT.NII.GZ"));
  EXPECT_FALSE(io::has_nifti_suffix("ct.gz"));
  EXPECT_FALSE(io::has_nifti_suffix("ct.nii.zip"));
  EXPECT_FALSE(io::has_nifti_suffix(".nii"));
  EXPECT_FALSE(io::has_nifti_suffix("dicom/"));
}
