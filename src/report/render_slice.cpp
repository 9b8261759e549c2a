// Axial slices for the printable report: CT + label outlines sampled on a plane of constant LPS z through
// the volume geometry (never assuming axis alignment), shown in radiological convention with the nerve
// point, its 95 % corridor, orientation letters and a scale bar.
#include "anatomy/anatomy.h"
#include "report/internal.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>
#include <numbers>

namespace nervemap::report {

namespace slice {

CtWindow window_preset(const std::string& name) {
  if (name == "soft_tissue")
    return kSoftTissueWindow;
  if (name == "bone")
    return kBoneWindow;
  if (name == "angio")
    return kAngioWindow;
  throw InputError(fmt::format("unknown CT window '{}': use soft_tissue, bone or angio", name));
}

Vec3 AxialView::column_direction() const {
  // Radiological: viewed from the feet, so the patient's left (+x LPS) is on the image's right.
  return convention == Convention::radiological ? Vec3::UnitX() : Vec3(-Vec3::UnitX());
}

Vec3 AxialView::row_direction() const {
  return Vec3::UnitY();
} // down the image = posterior

Vec3 AxialView::image_to_lps(double column, double row) const {
  const Vec3 centre(centre_x_mm, centre_y_mm, z_mm);
  return centre + column_direction() * ((column - 0.5 * width_px) * mm_per_pixel) +
         row_direction() * ((row - 0.5 * height_px) * mm_per_pixel);
}

std::array<double, 2> AxialView::lps_to_image(const Vec3& lps) const {
  const Vec3 d = lps - Vec3(centre_x_mm, centre_y_mm, z_mm);
  return {0.5 * width_px + d.dot(column_direction()) / mm_per_pixel,
          0.5 * height_px + d.dot(row_direction()) / mm_per_pixel};
}

namespace {

//! Continuous voxel index of image pixel centres: index(c, r) = first + c·per_column + r·per_row (the
//! plane maps linearly to index space, so one matrix product per image, not per pixel).
struct IndexWalk {
  Vec3 first, per_column, per_row;
};

IndexWalk index_walk(const Geometry& g, const AxialView& v) {
  const Mat3 to_index = (g.direction * g.spacing.asDiagonal()).inverse();
  IndexWalk w;
  w.first = g.lps_to_index(v.image_to_lps(0.5, 0.5));
  w.per_column = to_index * v.column_direction() * v.mm_per_pixel;
  w.per_row = to_index * v.row_direction() * v.mm_per_pixel;
  return w;
}

bool inside(const Vec3& ijk, const Index3& dims) {
  for (int a = 0; a < 3; ++a)
    if (ijk[a] < -0.5 || ijk[a] > double(dims[size_t(a)]) - 0.5)
      return false;
  return true;
}

float trilinear(const CtVolume& ct, const Vec3& ijk) {
  const auto& d = ct.geometry.dims;
  int64_t base[3];
  double frac[3];
  for (int a = 0; a < 3; ++a) {
    const double c = std::clamp(ijk[a], 0.0, double(d[size_t(a)] - 1));
    base[a] = std::min<int64_t>(int64_t(std::floor(c)), std::max<int64_t>(d[size_t(a)] - 2, 0));
    frac[a] = d[size_t(a)] > 1 ? c - double(base[a]) : 0.0;
  }
  double sum = 0;
  for (int corner = 0; corner < 8; ++corner) {
    double w = 1;
    int64_t idx[3];
    for (int a = 0; a < 3; ++a) {
      const bool up = (corner >> a) & 1;
      if (up && d[size_t(a)] == 1)
        w = 0;
      idx[a] = base[a] + (up ? 1 : 0);
      w *= up ? frac[a] : 1 - frac[a];
    }
    if (w > 0)
      sum += w * ct.at(idx[0], idx[1], idx[2]);
  }
  return float(sum);
}

} // namespace

AxialSample sample_axial(const CtVolume& ct, const LabelMap* labels, const AxialView& view) {
  AxialSample s;
  s.view = view;
  const size_t n = size_t(view.width_px) * size_t(view.height_px);
  s.hu.assign(n, std::numeric_limits<float>::quiet_NaN());
  s.labels.assign(n, 0);
  const IndexWalk ct_walk = index_walk(ct.geometry, view);
  // Labels usually share the CT grid (design §2) but are sampled through their own geometry regardless.
  const bool with_labels = labels && !labels->voxels.data.empty();
  const IndexWalk label_walk = with_labels ? index_walk(labels->voxels.geometry, view) : ct_walk;
  for (int r = 0; r < view.height_px; ++r)
    for (int c = 0; c < view.width_px; ++c) {
      const size_t o = size_t(r) * size_t(view.width_px) + size_t(c);
      const Vec3 ijk = ct_walk.first + ct_walk.per_column * c + ct_walk.per_row * r;
      if (inside(ijk, ct.geometry.dims))
        s.hu[o] = trilinear(ct, ijk);
      if (!with_labels)
        continue;
      const Vec3 lk = label_walk.first + label_walk.per_column * c + label_walk.per_row * r;
      const auto& g = labels->voxels.geometry;
      if (inside(lk, g.dims)) {
        const int64_t i = std::clamp<int64_t>(std::llround(lk.x()), 0, g.dims[0] - 1);
        const int64_t j = std::clamp<int64_t>(std::llround(lk.y()), 0, g.dims[1] - 1);
        const int64_t k = std::clamp<int64_t>(std::llround(lk.z()), 0, g.dims[2] - 1);
        s.labels[o] = labels->voxels.at(i, j, k);
      }
    }
  return s;
}

namespace {

char letter_of(const Vec3& lps_direction) {
  int axis = 0;
  for (int a = 1; a < 3; ++a)
    if (std::abs(lps_direction[a]) > std::abs(lps_direction[axis]))
      axis = a;
  const bool positive = lps_direction[axis] > 0;
  switch (axis) {
  case 0:
    return positive ? 'L' : 'R';
  case 1:
    return positive ? 'P' : 'A';
  default:
    return positive ? 'S' : 'I';
  }
}

} // namespace

std::array<OrientationLetter, 4> orientation_letters(const AxialView& v) {
  // Letters name the patient direction toward each edge, derived from the view (not hard-coded), so a
  // neurological view or another orientation cannot end up mislabelled.
  const double margin = 0.045 * std::min(v.width_px, v.height_px);
  const double w = v.width_px, h = v.height_px;
  return {{{letter_of(-v.column_direction()), margin, 0.5 * h},
           {letter_of(v.column_direction()), w - margin, 0.5 * h},
           {letter_of(-v.row_direction()), 0.5 * w, margin},
           {letter_of(v.row_direction()), 0.5 * w, h - margin}}};
}

ScaleBar scale_bar(const AxialView& v) {
  const double target_mm = 0.25 * v.width_px * v.mm_per_pixel;
  double length = 1;
  for (double decade = 1; decade <= 1e4; decade *= 10)
    for (double m : {1.0, 2.0, 5.0})
      if (m * decade <= target_mm)
        length = m * decade;
  return {length, length / v.mm_per_pixel};
}

} // namespace slice

// ------------------------------------------------------------------------------------------------

namespace {

Rgb label_rgb(int id) {
  static const LabelTable tumours = anatomy::Catalogue::get().output_table();
  if (id == anatomy::kGtvpId || id == anatomy::kGtvnId)
    return tumours.find(id)->rgb;
  const auto* s = anatomy::Catalogue::get().find(id);
  return s ? s->rgb : Rgb{255, 255, 0};
}

bool is_tumour(int id) {
  return id == anatomy::kGtvpId || id == anatomy::kGtvnId;
}

uint32_t pack(double r, double g, double b) {
  auto c = [](double v) { return uint32_t(std::clamp(std::lround(v), 0L, 255L)); };
  return (c(r) << 16) | (c(g) << 8) | c(b);
}

} // namespace

slice::AxialView section_view(const NerveFacts& nerve, double mm_per_pixel) {
  slice::AxialView v;
  const Vec3 p =
      nerve.closest_nerve_mm.value_or(nerve.path_mm.empty() ? Vec3::Zero() : nerve.path_mm.front());
  v.z_mm = p.z();
  Vec3 centre = p;
  double half_mm = 50; // a 10 cm field shows the neck structures around a nerve at about life size
  if (nerve.closest_tumour_mm) {
    const Vec3 t(nerve.closest_tumour_mm->x(), nerve.closest_tumour_mm->y(), p.z());
    centre = 0.5 * (p + t);
    half_mm = std::max(half_mm, 0.5 * (t - p).norm() + 35);
  }
  v.centre_x_mm = centre.x();
  v.centre_y_mm = centre.y();
  v.mm_per_pixel = mm_per_pixel;
  v.width_px = v.height_px = int(std::ceil(2 * half_mm / mm_per_pixel));
  return v;
}

std::vector<uint32_t> compose_slice(const slice::AxialSample& s,
                                    const slice::CtWindow& window,
                                    const std::vector<uint8_t>* off_plane_labels) {
  const int w = s.view.width_px, h = s.view.height_px;
  std::vector<uint32_t> px(size_t(w) * size_t(h));
  const double low = window.level_hu - 0.5 * window.width_hu;
  for (size_t o = 0; o < px.size(); ++o) {
    const float hu = s.hu[o];
    const double g = std::isnan(hu) ? 0.0 : std::clamp((hu - low) / window.width_hu, 0.0, 1.0) * 255;
    px[o] = pack(g, g, g);
  }
  // Outline width in pixels: about 0.4 mm, so that outlines stay visible when printed.
  const int thickness = std::max(1, int(std::lround(0.4 / s.view.mm_per_pixel)));
  auto label_in = [&](const std::vector<uint8_t>& labels, int c, int r) -> int {
    if (c < 0 || r < 0 || c >= w || r >= h)
      return -1;
    return labels[size_t(r) * size_t(w) + size_t(c)];
  };
  auto label = [&](int c, int r) { return label_in(s.labels, c, r); };
  for (int r = 0; r < h; ++r)
    for (int c = 0; c < w; ++c) {
      const int l = label(c, r);
      if (l <= 0)
        continue;
      const Rgb rgb = label_rgb(l);
      uint32_t& p = px[size_t(r) * size_t(w) + size_t(c)];
      bool edge = false;
      for (int t = 1; t <= thickness && !edge; ++t)
        for (auto [dc, dr] : {std::pair{t, 0}, {-t, 0}, {0, t}, {0, -t}}) {
          const int n = label(c + dc, r + dr);
          if (n >= 0 && n != l) {
            edge = true;
            break;
          }
        }
      if (edge) {
        p = pack(rgb[0], rgb[1], rgb[2]);
      } else if (is_tumour(l)) {
        // Tint the tumour so that it reads as a region, with the CT still visible through it.
        const double a = 0.35, g = p & 0xff;
        p = pack((1 - a) * g + a * rgb[0], (1 - a) * g + a * rgb[1], (1 - a) * g + a * rgb[2]);
      }
    }
  if (off_plane_labels) {
    // The tumour where it comes closest to the nerve may lie a few millimetres above or below this plane: its
    // outline there is drawn dashed (every other run of pixels along the border), so the reader sees it.
    for (int r = 0; r < h; ++r)
      for (int c = 0; c < w; ++c) {
        const int l = label_in(*off_plane_labels, c, r);
        if (!is_tumour(l) || ((c + r) / (3 * thickness)) % 2)
          continue;
        bool edge = false;
        for (int t = 1; t <= thickness && !edge; ++t)
          for (auto [dc, dr] : {std::pair{t, 0}, {-t, 0}, {0, t}, {0, -t}}) {
            const int n = label_in(*off_plane_labels, c + dc, r + dr);
            if (n >= 0 && n != l) {
              edge = true;
              break;
            }
          }
        if (edge) {
          const Rgb rgb = label_rgb(l);
          px[size_t(r) * size_t(w) + size_t(c)] = pack(rgb[0], rgb[1], rgb[2]);
        }
      }
  }
  return px;
}

std::vector<SliceLegendEntry>
slice_legend(const slice::AxialSample& s, const std::array<double, 2>& focus, size_t max_entries) {
  std::map<int, double> nearest; // label → squared pixel distance of its nearest pixel to the focus
  for (int r = 0; r < s.view.height_px; ++r)
    for (int c = 0; c < s.view.width_px; ++c)
      if (const int l = s.label_at(c, r)) {
        const double d = std::pow(c + 0.5 - focus[0], 2) + std::pow(r + 0.5 - focus[1], 2);
        auto [it, added] = nearest.emplace(l, d);
        if (!added)
          it->second = std::min(it->second, d);
      }
  std::vector<std::pair<double, int>> order;
  for (auto [id, d] : nearest)
    order.emplace_back(d, id);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    if (is_tumour(a.second) != is_tumour(b.second))
      return is_tumour(a.second);
    return a.first < b.first;
  });
  std::vector<SliceLegendEntry> legend;
  for (auto [d, id] : order) {
    if (legend.size() >= max_entries)
      break;
    std::string name;
    if (id == anatomy::kGtvpId)
      name = "GTVp (primary tumour)";
    else if (id == anatomy::kGtvnId)
      name = "GTVn (nodal tumour)";
    else if (const auto* st = anatomy::Catalogue::get().find(id))
      name = st->name;
    else
      name = fmt::format("label {}", id);
    std::replace(name.begin(), name.end(), '_', ' ');
    legend.push_back({name, label_rgb(id), is_tumour(id)});
  }
  return legend;
}

namespace {

//! Stroke the current path twice: a dark halo, then the colour, so it reads on any grey.
void halo_stroke(cairo_t* cr, const Rgb& rgb, double width) {
  cairo_set_source_rgba(cr, 0, 0, 0, 0.75);
  cairo_set_line_width(cr, width + 1.6);
  cairo_stroke_preserve(cr);
  set_rgb(cr, rgb);
  cairo_set_line_width(cr, width);
  cairo_stroke(cr);
}

void halo_text(cairo_t* cr, const std::string& text, double x, double y, const Rgb& rgb, double align = 0.5) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, text.c_str(), &e);
  cairo_move_to(cr, x - align * e.x_advance, y);
  cairo_text_path(cr, text.c_str());
  cairo_set_source_rgba(cr, 0, 0, 0, 0.85);
  cairo_set_line_width(cr, 2.2);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  cairo_stroke_preserve(cr);
  set_rgb(cr, rgb);
  cairo_fill(cr);
}

} // namespace

void draw_slice(
    cairo_t* cr, const NerveSection& section, const NerveFacts& nerve, double x, double y, double width) {
  const auto& v = section.sample.view;
  const double s = width / v.width_px, height = v.height_px * s;
  auto page = [&](const Vec3& lps) {
    const auto im = v.lps_to_image(lps);
    return std::pair{x + im[0] * s, y + im[1] * s};
  };
  cairo_save(cr);
  cairo_surface_t* image = rgb24_surface(section.pixels, v.width_px, v.height_px);
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_scale(cr, s, s);
  cairo_set_source_surface(cr, image, 0, 0);
  cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
  cairo_paint(cr);
  cairo_restore(cr);
  cairo_surface_destroy(image);

  cairo_rectangle(cr, x, y, width, height);
  cairo_clip(cr);
  const Rgb nerve_rgb{255, 230, 0}, crossing_rgb{120, 230, 255}, white{255, 255, 255};
  set_font(cr, Font::bold, 7);
  for (const auto& m : section.crossings) {
    auto [cx, cy] = page(m.point_lps);
    cairo_new_path(cr);
    cairo_arc(cr, cx, cy, 2.2, 0, 2 * std::numbers::pi);
    halo_stroke(cr, crossing_rgb, 1.0);
    halo_text(cr, m.label, cx + 4, cy - 3, crossing_rgb, 0);
  }
  if (nerve.closest_nerve_mm) {
    auto [nx, ny] = page(*nerve.closest_nerve_mm);
    if (nerve.closest_tumour_mm) {
      // The closest tumour point, projected onto the plane (it may lie a little above or below it).
      auto [tx, ty] = page(*nerve.closest_tumour_mm);
      cairo_new_path(cr);
      cairo_move_to(cr, nx, ny);
      cairo_line_to(cr, tx, ty);
      const double dash[] = {2.0, 1.5};
      cairo_set_dash(cr, dash, 2, 0);
      halo_stroke(cr, white, 0.9);
      cairo_set_dash(cr, nullptr, 0, 0);
      const double arm = 3.2;
      cairo_move_to(cr, tx - arm, ty - arm);
      cairo_line_to(cr, tx + arm, ty + arm);
      cairo_move_to(cr, tx - arm, ty + arm);
      cairo_line_to(cr, tx + arm, ty - arm);
      halo_stroke(cr, white, 1.3);
    }
    cairo_new_path(cr);
    cairo_arc(cr, nx, ny, nerve.r95_at_closest_mm / v.mm_per_pixel * s, 0, 2 * std::numbers::pi);
    const double dash[] = {4.0, 2.5};
    cairo_set_dash(cr, dash, 2, 0);
    halo_stroke(cr, nerve_rgb, 1.5);
    cairo_set_dash(cr, nullptr, 0, 0);
    cairo_new_path(cr);
    cairo_arc(cr, nx, ny, 2.8, 0, 2 * std::numbers::pi);
    set_rgb(cr, nerve_rgb);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 0.8);
    cairo_stroke(cr);
  }
  // Orientation letters and the scale bar, in image-space positions from the view.
  set_font(cr, Font::bold, 13);
  for (const auto& l : slice::orientation_letters(v))
    halo_text(cr, std::string(1, l.letter), x + l.column * s, y + l.row * s + 4.5, white);
  const auto bar = slice::scale_bar(v);
  const double bx = x + 10, by = y + height - 12, bw = bar.length_px * s;
  cairo_new_path(cr);
  cairo_move_to(cr, bx, by - 3);
  cairo_line_to(cr, bx, by);
  cairo_line_to(cr, bx + bw, by);
  cairo_line_to(cr, bx + bw, by - 3);
  halo_stroke(cr, white, 1.5);
  set_font(cr, Font::bold, 8);
  halo_text(cr, fmt::format("{:g} mm", bar.length_mm), bx + 0.5 * bw, by - 5, white);
  cairo_restore(cr);
  cairo_rectangle(cr, x, y, width, height);
  cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
  cairo_set_line_width(cr, 0.6);
  cairo_stroke(cr);
}

} // namespace nervemap::report
