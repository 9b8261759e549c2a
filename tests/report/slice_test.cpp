// The axial slice renderer of the printable report: geometry (a label at a known LPS position lands on the
// right pixel whatever the voxel grid), radiological orientation letters and the scale bar.
#include "report/internal.h"
#include "report/report.h"

#include <Eigen/Geometry>
#include <gtest/gtest.h>

using namespace nervemap;
using namespace nervemap::report;

namespace {

//! A grid covering x, y ∈ [-60, 60] and z ∈ [-20, 20] mm (LPS) whatever its direction: the origin is chosen
//! so that the grid's centre voxel sits at the LPS origin.
Geometry grid(const Mat3& direction, const Vec3& spacing) {
  Geometry g;
  g.direction = direction;
  g.spacing = spacing;
  for (int a = 0; a < 3; ++a)
    g.dims[size_t(a)] = int64_t(std::ceil((a < 2 ? 170.0 : 90.0) / spacing[a]));
  const Vec3 centre_index((g.dims[0] - 1) / 2.0, (g.dims[1] - 1) / 2.0, (g.dims[2] - 1) / 2.0);
  g.origin = -(direction * spacing.asDiagonal() * centre_index);
  return g;
}

//! A vertical cylinder of label `value` (radius 6 mm) around LPS (x, y), and a CT whose value is the LPS x of
//! each voxel centre (a linear field, which trilinear interpolation reproduces exactly).
struct Scene {
  CtVolume ct;
  LabelMap labels;
};

Scene scene(const Geometry& g, const Vec3& disc_centre_lps, uint8_t value) {
  Scene s{CtVolume(g, 0.f), {}};
  s.labels.voxels = MaskVolume(g, 0);
  for (int64_t k = 0; k < g.dims[2]; ++k)
    for (int64_t j = 0; j < g.dims[1]; ++j)
      for (int64_t i = 0; i < g.dims[0]; ++i) {
        const Vec3 p = g.index_to_lps(Vec3(double(i), double(j), double(k)));
        s.ct.at(i, j, k) = float(p.x());
        if ((p.head<2>() - disc_centre_lps.head<2>()).norm() <= 6.0)
          s.labels.voxels.at(i, j, k) = value;
      }
  return s;
}

std::array<double, 2> label_centroid(const slice::AxialSample& s, uint8_t value) {
  double sc = 0, sr = 0, n = 0;
  for (int r = 0; r < s.view.height_px; ++r)
    for (int c = 0; c < s.view.width_px; ++c)
      if (s.label_at(c, r) == value) {
        sc += c + 0.5;
        sr += r + 0.5;
        ++n;
      }
  return {n > 0 ? sc / n : -1, n > 0 ? sr / n : -1};
}

slice::AxialView view_at(double z_mm) {
  slice::AxialView v;
  v.z_mm = z_mm;
  v.mm_per_pixel = 0.5;
  v.width_px = v.height_px = 200; // 100 mm square around the LPS origin
  return v;
}

struct GridCase {
  const char* name;
  Mat3 direction;
  Vec3 spacing;
};

std::vector<GridCase> grids() {
  Mat3 ras = Vec3(-1, -1, 1).asDiagonal();
  // Oblique: rotated about z (in-plane) and about x (tilting the slices), z running inferior.
  Mat3 oblique =
      (Eigen::AngleAxisd(0.35, Vec3::UnitZ()) * Eigen::AngleAxisd(0.2, Vec3::UnitX())).toRotationMatrix() *
      Vec3(1, 1, -1).asDiagonal();
  // Gantry tilt: the slice axis is sheared (non-orthonormal direction), as nervemap keeps tilted DICOM.
  Mat3 sheared = Mat3::Identity();
  sheared.col(2) = Vec3(0, std::sin(0.3), std::cos(0.3));
  return {{"LPS", Mat3::Identity(), Vec3(0.8, 0.8, 1.5)},
          {"RAS", ras, Vec3(0.8, 0.8, 1.5)},
          {"oblique", oblique, Vec3(0.9, 0.7, 1.2)},
          {"sheared", sheared, Vec3(0.8, 0.8, 1.0)}};
}

} // namespace

TEST(AxialSlice, DiscAppearsAtItsLpsPositionOnEveryGrid) {
  const Vec3 disc(20, -15, 0); // patient left (+x) and anterior (−y)
  for (const auto& gc : grids()) {
    SCOPED_TRACE(gc.name);
    const Geometry g = grid(gc.direction, gc.spacing);
    const Scene sc = scene(g, disc, 7);
    for (double z : {-8.3, 0.0, 5.7}) {
      const auto view = view_at(z);
      const auto sample = slice::sample_axial(sc.ct, &sc.labels, view);
      const auto expected = view.lps_to_image(Vec3(disc.x(), disc.y(), z));
      const auto found = label_centroid(sample, 7);
      // Within half a voxel: the disc is rasterised on the voxel grid, then sampled by nearest neighbour.
      EXPECT_NEAR(found[0], expected[0], 0.5 * gc.spacing.maxCoeff() / view.mm_per_pixel) << "z " << z;
      EXPECT_NEAR(found[1], expected[1], 0.5 * gc.spacing.maxCoeff() / view.mm_per_pixel) << "z " << z;
      // Radiological convention: the patient's left is on the image's right, anterior at the top.
      EXPECT_GT(found[0], 0.5 * view.width_px);
      EXPECT_LT(found[1], 0.5 * view.height_px);
      // The CT holds each voxel's LPS x: trilinear sampling returns the pixel's own x.
      for (auto [c, r] : {std::pair{100, 100}, {37, 150}, {160, 20}}) {
        const Vec3 p = view.image_to_lps(c + 0.5, r + 0.5);
        EXPECT_NEAR(sample.hu[size_t(r) * 200 + size_t(c)], p.x(), 1e-3) << c << "," << r;
      }
    }
  }
}

TEST(AxialSlice, OutsideTheVolumeIsEmpty) {
  const Geometry g = grid(Mat3::Identity(), Vec3(1, 1, 1));
  const Scene sc = scene(g, Vec3(0, 0, 0), 3);
  auto v = view_at(0);
  v.centre_x_mm = 120; // the right half of the image lies beyond x = 85 mm, outside the grid
  const auto s = slice::sample_axial(sc.ct, &sc.labels, v);
  EXPECT_TRUE(std::isnan(s.hu[100 * 200 + 199]));
  EXPECT_FALSE(std::isnan(s.hu[100 * 200 + 0]));
  const auto above = slice::sample_axial(sc.ct, &sc.labels, view_at(60)); // above the top slice
  EXPECT_TRUE(std::all_of(above.labels.begin(), above.labels.end(), [](uint8_t l) { return l == 0; }));
}

TEST(AxialSlice, NeurologicalConventionMirrorsLeftAndRight) {
  const Geometry g = grid(Mat3::Identity(), Vec3(1, 1, 1));
  const Scene sc = scene(g, Vec3(20, 0, 0), 5);
  auto v = view_at(0);
  v.convention = slice::Convention::neurological;
  const auto found = label_centroid(slice::sample_axial(sc.ct, &sc.labels, v), 5);
  EXPECT_NEAR(found[0], 100 - 20 / 0.5, 1.0); // patient left on the image's left
}

TEST(AxialSlice, OrientationLettersFollowTheConvention) {
  slice::AxialView v = view_at(0);
  auto letters = slice::orientation_letters(v);
  std::string order;
  for (const auto& l : letters)
    order += l.letter;
  EXPECT_EQ(order, "RLAP"); // left, right, top, bottom edges
  EXPECT_LT(letters[0].column, 0.1 * v.width_px);
  EXPECT_NEAR(letters[0].row, 0.5 * v.height_px, 1e-9);
  EXPECT_GT(letters[1].column, 0.9 * v.width_px);
  EXPECT_LT(letters[2].row, 0.1 * v.height_px);
  EXPECT_GT(letters[3].row, 0.9 * v.height_px);
  v.convention = slice::Convention::neurological;
  order.clear();
  for (const auto& l : slice::orientation_letters(v))
    order += l.letter;
  EXPECT_EQ(order, "LRAP");
}

TEST(AxialSlice, ScaleBarLengthIsMillimetresOverPixelSize) {
  slice::AxialView v;
  v.width_px = 400;
  v.mm_per_pixel = 0.25; // 100 mm wide: a quarter is 25 mm → a 20 mm bar
  auto bar = slice::scale_bar(v);
  EXPECT_EQ(bar.length_mm, 20);
  EXPECT_DOUBLE_EQ(bar.length_px, 20 / 0.25);
  v.width_px = 512;
  v.mm_per_pixel = 0.8; // 409.6 mm → 100 mm
  bar = slice::scale_bar(v);
  EXPECT_EQ(bar.length_mm, 100);
  EXPECT_DOUBLE_EQ(bar.length_px, 125);
  v.width_px = 300;
  v.mm_per_pixel = 0.1; // 30 mm → 5 mm
  bar = slice::scale_bar(v);
  EXPECT_EQ(bar.length_mm, 5);
  EXPECT_DOUBLE_EQ(bar.length_px, 50);
}

TEST(AxialSlice, WindowPresets) {
  EXPECT_EQ(slice::window_preset("soft_tissue").width_hu, 400);
  EXPECT_EQ(slice::window_preset("bone").level_hu, 400);
  EXPECT_THROW(slice::window_preset("lung"), InputError);
}

TEST(AxialSlice, ComposedImageTintsATumourOnTheImageRightWhenItIsOnThePatientsLeft) {
  const Geometry g = grid(Vec3(-1, -1, 1).asDiagonal(), Vec3(0.8, 0.8, 1.5)); // RAS storage
  Scene sc = scene(g, Vec3(25, 0, 0), uint8_t(anatomy::kGtvnId));
  for (auto& v : sc.ct.data)
    v = 40; // mid-grey in the soft-tissue window
  const auto view = view_at(0);
  const auto sample = slice::sample_axial(sc.ct, &sc.labels, view);
  const auto px = compose_slice(sample, slice::kSoftTissueWindow);
  // The disc centre (inside, tinted toward GTVn violet: more blue than green) and its mirror (plain grey).
  const auto at = [&](const Vec3& lps) {
    const auto im = view.lps_to_image(lps);
    return px[size_t(im[1]) * size_t(view.width_px) + size_t(im[0])];
  };
  const uint32_t inside = at(Vec3(25, 0, 0)), mirror = at(Vec3(-25, 0, 0));
  EXPECT_GT(int(inside & 0xff), int((inside >> 8) & 0xff) + 40);
  EXPECT_EQ((mirror >> 16) & 0xff, mirror & 0xff);
  EXPECT_GT(view.lps_to_image(Vec3(25, 0, 0))[0], 0.5 * view.width_px);
  // The outline is drawn in the label's own colour: the last labelled pixel right of the centre, on the
  // centre row, is at the disc border (6 mm out) and has the GTVn colour.
  const auto centre = view.lps_to_image(Vec3(25, 0, 0));
  const int row = int(centre[1]);
  int last = -1;
  for (int c = int(centre[0]); c < view.width_px; ++c)
    if (sample.label_at(c, row) == anatomy::kGtvnId)
      last = c;
  EXPECT_NEAR((last + 0.5 - centre[0]) * view.mm_per_pixel, 6.0, 1.0);
  const Rgb orange = anatomy::Catalogue::get().output_table().find(anatomy::kGtvnId)->rgb;
  EXPECT_EQ(px[size_t(row) * size_t(view.width_px) + size_t(last)],
            (uint32_t(orange[0]) << 16) | (uint32_t(orange[1]) << 8) | orange[2]);
  const auto legend = slice_legend(sample, {0, 0}, 5);
  ASSERT_EQ(legend.size(), 1u);
  EXPECT_TRUE(legend[0].tumour);
}

TEST(PrintableImages, PngEncoderRoundTripsThroughCairosReader) {
  // Our PNG writer (used for the HTML's data URIs) must produce files other readers decode exactly.
  const int w = 37, h = 21;
  std::vector<uint32_t> pixels(size_t(w * h));
  for (size_t i = 0; i < pixels.size(); ++i)
    pixels[i] = uint32_t((i * 2654435761u) & 0xffffff);
  cairo_surface_t* s = rgb24_surface(pixels, w, h);
  const std::string png = png_bytes(s);
  cairo_surface_destroy(s);
  struct Reader {
    const std::string* bytes;
    size_t at = 0;
  } reader{&png};
  cairo_surface_t* back = cairo_image_surface_create_from_png_stream(
      [](void* closure, unsigned char* data, unsigned int length) {
        auto* r = static_cast<Reader*>(closure);
        if (r->at + length > r->bytes->size())
          return CAIRO_STATUS_READ_ERROR;
        std::copy_n(r->bytes->data() + r->at, length, data);
        r->at += length;
        return CAIRO_STATUS_SUCCESS;
      },
      &reader);
  ASSERT_EQ(cairo_surface_status(back), CAIRO_STATUS_SUCCESS);
  ASSERT_EQ(cairo_image_surface_get_width(back), w);
  ASSERT_EQ(cairo_image_surface_get_height(back), h);
  const unsigned char* data = cairo_image_surface_get_data(back);
  const int stride = cairo_image_surface_get_stride(back);
  int wrong = 0;
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c)
      wrong +=
          (reinterpret_cast<const uint32_t*>(data + r * stride)[c] & 0xffffff) != pixels[size_t(r * w + c)];
  EXPECT_EQ(wrong, 0);
  cairo_surface_destroy(back);
  EXPECT_EQ(base64("Man"), "TWFu");
  EXPECT_EQ(base64("Ma"), "TWE=");
  EXPECT_EQ(base64("M"), "TQ==");
}

TEST(AxialSlice, LegendListsTumoursThenStructuresNearestTheNerveFirst) {
  const Geometry g = grid(Mat3::Identity(), Vec3(1, 1, 1));
  Scene sc = scene(g, Vec3(30, 30, 0), 3); // far from the focus
  const auto& catalogue = anatomy::Catalogue::get();
  const int carotid = catalogue.at("common_carotid_artery_left").id,
            thyroid = catalogue.at("thyroid_gland").id;
  for (auto& v : sc.labels.voxels.data)
    if (v == 3)
      v = uint8_t(thyroid);
  // A small carotid next to the focus and a tumour far away.
  for (int64_t k = 0; k < g.dims[2]; ++k)
    for (int64_t j = 0; j < g.dims[1]; ++j)
      for (int64_t i = 0; i < g.dims[0]; ++i) {
        const Vec3 p = g.index_to_lps(Vec3(double(i), double(j), double(k)));
        if ((p.head<2>() - Vec3(2, 0, 0).head<2>()).norm() <= 3)
          sc.labels.voxels.at(i, j, k) = uint8_t(carotid);
        if ((p.head<2>() - Vec3(-30, -30, 0).head<2>()).norm() <= 4)
          sc.labels.voxels.at(i, j, k) = uint8_t(anatomy::kGtvpId);
      }
  const auto view = view_at(0);
  const auto sample = slice::sample_axial(sc.ct, &sc.labels, view);
  const auto legend = slice_legend(sample, view.lps_to_image(Vec3(0, 0, 0)), 5);
  ASSERT_EQ(legend.size(), 3u);
  EXPECT_EQ(legend[0].name, "GTVp (primary tumour)");
  EXPECT_EQ(legend[1].name, "common carotid artery left"); // smaller, but beside the nerve
  EXPECT_EQ(legend[2].name, "thyroid gland");
  EXPECT_EQ(slice_legend(sample, view.lps_to_image(Vec3(0, 0, 0)), 2).size(), 2u);
}
