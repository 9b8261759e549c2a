// Renders phantom slices to PNG for looking at them (axial at C2, C4, C6, T1; coronal; sagittal):
// CT in a soft-tissue window with the structure outlines in catalogue colours. Runs only when
// NERVEMAP_PHANTOM_PNG_DIR names a folder (otherwise skipped): it is a viewing aid, not a check.
#include "phantom/phantom.h"

#include <cairo.h>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <gtest/gtest.h>

namespace nervemap::phantom {
namespace {

namespace fs = std::filesystem;

struct Plane {
  std::string name;
  Vec3 origin; //!< LPS of the image's top-left pixel
  Vec3 right;  //!< LPS step per pixel to the right
  Vec3 down;   //!< LPS step per pixel downward
  int width = 0, height = 0;
};

void render(const Phantom& p, const Plane& plane, const fs::path& png, bool outlines) {
  const int scale = 2;
  const int w = plane.width * scale, h = plane.height * scale;
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
  unsigned char* data = cairo_image_surface_get_data(surface);
  const int stride = cairo_image_surface_get_stride(surface);
  const auto& g = p.ct.geometry;
  std::vector<uint8_t> label(size_t(plane.width * plane.height), 0);
  std::vector<uint8_t> tumour(size_t(plane.width * plane.height), 0);
  for (int y = 0; y < plane.height; ++y)
    for (int x = 0; x < plane.width; ++x) {
      Vec3 lps = plane.origin + plane.right * x + plane.down * y;
      Vec3 ijk = g.lps_to_index(lps);
      int64_t i = std::llround(ijk.x()), j = std::llround(ijk.y()), k = std::llround(ijk.z());
      double hu = -1024;
      if (p.ct.contains(i, j, k)) {
        hu = p.ct.at(i, j, k);
        label[size_t(y * plane.width + x)] = p.structures.voxels.at(i, j, k);
        tumour[size_t(y * plane.width + x)] = p.tumour.at(i, j, k);
      }
      // Window: level 60, width 500 (soft tissue with vessels and bone visible).
      double v = std::clamp((hu - (60 - 250)) / 500.0, 0.0, 1.0) * 255;
      for (int dy = 0; dy < scale; ++dy)
        for (int dx = 0; dx < scale; ++dx) {
          auto* px = reinterpret_cast<uint32_t*>(data + (y * scale + dy) * stride) + x * scale + dx;
          uint8_t c = uint8_t(v);
          *px = (uint32_t(c) << 16) | (uint32_t(c) << 8) | c;
        }
    }
  if (outlines) {
    for (int y = 1; y + 1 < plane.height; ++y)
      for (int x = 1; x + 1 < plane.width; ++x) {
        size_t o = size_t(y * plane.width + x);
        uint8_t l = label[o];
        bool edge = l != label[o - 1] || l != label[o + 1] || l != label[o - plane.width] ||
                    l != label[o + plane.width];
        bool t_edge = tumour[o] && (!tumour[o - 1] || !tumour[o + 1] || !tumour[o - plane.width] ||
                                    !tumour[o + plane.width]);
        if (!(edge && l) && !t_edge)
          continue;
        Rgb rgb{255, 0, 255};
        if (!t_edge) {
          const Label* lab = p.structures.table.find(int(l));
          rgb = lab ? lab->rgb : Rgb{255, 255, 0};
        }
        for (int dy = 0; dy < scale; ++dy)
          for (int dx = 0; dx < scale; ++dx) {
            auto* px = reinterpret_cast<uint32_t*>(data + (y * scale + dy) * stride) + x * scale + dx;
            *px = (uint32_t(rgb[0]) << 16) | (uint32_t(rgb[1]) << 8) | rgb[2];
          }
      }
  }
  cairo_surface_mark_dirty(surface);
  cairo_t* cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 0.3);
  cairo_select_font_face(cr, "sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 14);
  cairo_move_to(cr, 6, 18);
  cairo_show_text(cr, plane.name.c_str());
  cairo_destroy(cr);
  cairo_surface_write_to_png(surface, png.c_str());
  cairo_surface_destroy(surface);
}

TEST(PhantomSlices, RenderPngs) {
  const char* env = std::getenv("NERVEMAP_PHANTOM_PNG_DIR");
  if (!env || !*env)
    GTEST_SKIP() << "set NERVEMAP_PHANTOM_PNG_DIR to a folder to render phantom slices";
  fs::path dir(env);
  fs::create_directories(dir);
  Options o;
  o.seed = std::getenv("NERVEMAP_PHANTOM_SEED")
               ? std::strtoull(std::getenv("NERVEMAP_PHANTOM_SEED"), nullptr, 10)
               : 7;
  o.spacing_mm = Vec3(0.8, 0.8, 1.5);
  if (const char* orient = std::getenv("NERVEMAP_PHANTOM_ORIENTATION"))
    o.orientation = std::string(orient) == "oblique" ? Orientation::oblique
                    : std::string(orient) == "RAS"   ? Orientation::ras
                                                     : Orientation::lps;
  o.aberrant_right_subclavian = std::getenv("NERVEMAP_PHANTOM_ABERRANT") != nullptr;
  o.tumours.push_back({"vagus_left", 3.0, 12.0, anatomy::kHecktorGtvn});
  Phantom p = make_phantom(o);
  const auto& lm = p.truth["landmarks"];
  auto body_mid = [&](const char* v) {
    auto r = lm["vertebral_body_z_mm"][v];
    return 0.5 * (r[0].get<double>() + r[1].get<double>());
  };
  const double bif = lm["carotid_bifurcation_right"][2].get<double>();
  std::vector<std::pair<std::string, double>> axial{{"C1", body_mid("vertebrae_C2") + 24},
                                                    {"C2", body_mid("vertebrae_C2")},
                                                    {"C4_bifurcation", bif},
                                                    {"C5", body_mid("vertebrae_C5")},
                                                    {"C6_thyroid", body_mid("vertebrae_C6")},
                                                    {"T1", body_mid("vertebrae_T1")}};
  for (bool outlines : {false, true})
    for (const auto& [name, z] : axial) {
      Plane pl{fmt::format("axial {} z={:.0f} (image left = patient right)", name, z),
               Vec3(-125, -110, z),
               Vec3(1, 0, 0),
               Vec3(0, 1, 0),
               250,
               225};
      render(p, pl, dir / fmt::format("axial_{}{}.png", name, outlines ? "_labels" : ""), outlines);
    }
  const double cca_y = p.truth["landmarks"]["carotid_bifurcation_left"][1].get<double>();
  for (bool outlines : {false, true}) {
    render(p,
           {fmt::format("coronal y={:.0f}", cca_y),
            Vec3(-125, cca_y, 160),
            Vec3(1, 0, 0),
            Vec3(0, 0, -1),
            250,
            210},
           dir / fmt::format("coronal{}.png", outlines ? "_labels" : ""),
           outlines);
    render(p,
           {"coronal y=0 (spine)", Vec3(-125, 0, 160), Vec3(1, 0, 0), Vec3(0, 0, -1), 250, 210},
           dir / fmt::format("coronal_spine{}.png", outlines ? "_labels" : ""),
           outlines);
    render(p,
           {"sagittal x=0 (anterior left)", Vec3(0, -110, 160), Vec3(0, 1, 0), Vec3(0, 0, -1), 225, 210},
           dir / fmt::format("sagittal{}.png", outlines ? "_labels" : ""),
           outlines);
    render(p,
           {"sagittal x=+28 (left carotid)", Vec3(28, -110, 160), Vec3(0, 1, 0), Vec3(0, 0, -1), 225, 210},
           dir / fmt::format("sagittal_left{}.png", outlines ? "_labels" : ""),
           outlines);
  }
}

} // namespace
} // namespace nervemap::phantom
