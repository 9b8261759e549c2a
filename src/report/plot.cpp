// The distance-along-the-nerve plot: where along its course the nerve comes close to the tumour, against
// the grading bands (the 95 % corridor and the moderate margin) and the 1/5/10 mm lines.
#include "report/internal.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <functional>
#include <numbers>

namespace nervemap::report {

namespace {

double nice_step(double range, int ticks) {
  const double raw = range / ticks, decade = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * decade >= raw)
      return m * decade;
  return 10 * decade;
}

void fill_band(cairo_t* cr,
               const std::vector<double>& s,
               const std::vector<double>& lower,
               const std::vector<double>& upper,
               size_t first,
               size_t last,
               const std::function<std::pair<double, double>(double, double)>& at) {
  cairo_new_path(cr);
  for (size_t i = first; i <= last; ++i) {
    auto [px, py] = at(s[i], upper[i]);
    i == first ? cairo_move_to(cr, px, py) : cairo_line_to(cr, px, py);
  }
  for (size_t i = last + 1; i-- > first;) {
    auto [px, py] = at(s[i], lower[i]);
    cairo_line_to(cr, px, py);
  }
  cairo_close_path(cr);
  cairo_fill(cr);
}

} // namespace

void draw_distance_plot(cairo_t* cr,
                        const NerveFacts& n,
                        const risk::GradeThresholds& rules,
                        double x,
                        double y,
                        double width,
                        double height) {
  if (n.path_mm.size() < 2 || n.profile_mm.size() != n.path_mm.size())
    return;
  const double left = x + 42, right = x + width - 34, bottom = y + height - 30;
  std::vector<double> s(n.path_mm.size(), 0.0);
  for (size_t i = 1; i < s.size(); ++i)
    s[i] = s[i - 1] + (n.path_mm[i] - n.path_mm[i - 1]).norm();
  const double x_max = std::max(s.back(), 1.0);
  const double r95_max = *std::max_element(n.r95_mm.begin(), n.r95_mm.end());
  const double d_max = *std::max_element(n.profile_mm.begin(), n.profile_mm.end());
  // Show the range where the grade is decided; far-away parts of the nerve are clipped (and said so).
  const double wanted = std::max({12.0, r95_max + rules.moderate_margin_mm + 3, std::min(d_max, 40.0)});
  const double y_max = std::min(40.0, std::ceil(wanted / 5) * 5);

  // Legend above the plot, flowing onto a second row when the plot is narrow.
  const Rgb high_rgb = grade_rgb("high"), moderate_rgb = grade_rgb("moderate");
  struct Item {
    int kind; // 0 band swatch, 1 line, 2 note
    Rgb rgb;
    std::string text;
    double x = 0, row = 0;
  };
  std::vector<Item> legend{
      {0, high_rgb, "within the 95 % corridor (high)"},
      {0, moderate_rgb, fmt::format("within r95 + {:g} mm (moderate)", rules.moderate_margin_mm)},
      {1, {13, 26, 77}, "distance from the nerve to the tumour"}};
  if (d_max > y_max)
    legend.push_back({2, {90, 90, 90}, fmt::format("(above {:g} mm: off the top)", y_max)});
  set_font(cr, Font::regular, 7);
  double lx = left, rows = 0;
  for (auto& item : legend) {
    const double w = (item.kind == 2 ? 0 : 15) + text_width(cr, item.text) + 12;
    if (lx > left && lx + w > right) {
      lx = left;
      ++rows;
    }
    item.x = lx;
    item.row = rows;
    lx += w;
  }
  const double top = y + 10 * (rows + 1) + 6;
  auto at = [&](double sv, double dv) {
    return std::pair{left + (right - left) * sv / x_max,
                     bottom - (bottom - top) * std::min(dv, y_max) / y_max};
  };

  cairo_save(cr);
  // Grading bands: up to r95 (high) and up to r95 + margin (moderate), in the grade colours, lightly.
  std::vector<double> zero(s.size(), 0.0), r95 = n.r95_mm, moderate(s.size());
  for (size_t i = 0; i < s.size(); ++i)
    moderate[i] = n.r95_mm[i] + rules.moderate_margin_mm;
  for (const auto& [first, last] : n.segments) {
    cairo_set_source_rgba(
        cr, moderate_rgb[0] / 255.0, moderate_rgb[1] / 255.0, moderate_rgb[2] / 255.0, 0.22);
    fill_band(cr, s, r95, moderate, first, last, at);
    cairo_set_source_rgba(cr, high_rgb[0] / 255.0, high_rgb[1] / 255.0, high_rgb[2] / 255.0, 0.22);
    fill_band(cr, s, zero, r95, first, last, at);
  }

  // Axes, ticks and the 1/5/10 mm lines.
  set_font(cr, Font::regular, 7);
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_set_line_width(cr, 0.7);
  cairo_rectangle(cr, left, top, right - left, bottom - top);
  cairo_stroke(cr);
  const double x_step = nice_step(x_max, 8);
  for (double t = 0; t <= x_max + 1e-9; t += x_step) {
    auto [px, py] = at(t, 0);
    cairo_move_to(cr, px, bottom);
    cairo_line_to(cr, px, bottom + 3);
    cairo_stroke(cr);
    show_text(cr, fmt::format("{:g}", t), px, bottom + 11, 0.5);
  }
  const double y_step = y_max > 25 ? 10 : 5;
  for (double t = 0; t <= y_max + 1e-9; t += y_step) {
    auto [px, py] = at(0, t);
    cairo_move_to(cr, left - 3, py);
    cairo_line_to(cr, left, py);
    cairo_stroke(cr);
    show_text(cr, fmt::format("{:g}", t), left - 5, py + 2.5, 1);
  }
  for (double line : {rules.contact_mm, 5.0, 10.0}) {
    if (line > y_max)
      continue;
    auto [px, py] = at(0, line);
    const double dash[] = {3, 2};
    cairo_set_dash(cr, dash, 2, 0);
    if (line == rules.contact_mm)
      set_rgb(cr, grade_rgb("contact"));
    else
      cairo_set_source_rgb(cr, 0.45, 0.45, 0.45);
    cairo_move_to(cr, left, py);
    cairo_line_to(cr, right, py);
    cairo_stroke(cr);
    cairo_set_dash(cr, nullptr, 0, 0);
    show_text(cr, fmt::format("{:g} mm", line), right + 3, py + 2.5);
  }

  // The distance curve, broken where the path has a gap between pieces.
  cairo_save(cr);
  cairo_rectangle(cr, left, top, right - left, bottom - top);
  cairo_clip(cr);
  cairo_set_source_rgb(cr, 0.05, 0.1, 0.3);
  cairo_set_line_width(cr, 1.6);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  for (const auto& [first, last] : n.segments) {
    for (size_t i = first; i <= last; ++i) {
      auto [px, py] = at(s[i], n.profile_mm[i]);
      i == first ? cairo_move_to(cr, px, py) : cairo_line_to(cr, px, py);
    }
    cairo_stroke(cr);
  }
  // The closest point, where the slice above is taken.
  auto [cx, cy] = at(s[n.closest_index], n.profile_mm[n.closest_index]);
  const double dash[] = {1.5, 1.5};
  cairo_set_dash(cr, dash, 2, 0);
  cairo_set_line_width(cr, 0.7);
  cairo_move_to(cr, cx, top);
  cairo_line_to(cr, cx, bottom);
  cairo_stroke(cr);
  cairo_set_dash(cr, nullptr, 0, 0);
  cairo_arc(cr, cx, cy, 3, 0, 2 * std::numbers::pi);
  cairo_set_source_rgb(cr, 1, 0.9, 0);
  cairo_fill_preserve(cr);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_set_line_width(cr, 0.8);
  cairo_stroke(cr);
  cairo_restore(cr);
  set_font(cr, Font::regular, 7);
  cairo_set_source_rgb(cr, 0, 0, 0);
  const std::string label = fmt::format("closest {} mm (slice shown)", n.min_distance);
  const bool flip = cx + text_width(cr, label) + 4 > right;
  show_text(cr, label, flip ? cx - 4 : cx + 4, top + 9, flip ? 1 : 0);

  // Axis titles and legend.
  const auto& first = n.path_mm.front();
  const auto& last = n.path_mm.back();
  const bool cranial_first = first.z() > last.z();
  show_text(cr,
            fmt::format(
                "position along the nerve (mm) from its {} end (z = {:.0f} mm) to its {} end (z = {:.0f} mm)",
                cranial_first ? "cranial" : "caudal",
                first.z(),
                cranial_first ? "caudal" : "cranial",
                last.z()),
            0.5 * (left + right),
            bottom + 22,
            0.5);
  cairo_save(cr);
  cairo_translate(cr, x + 9, 0.5 * (top + bottom));
  cairo_rotate(cr, -std::numbers::pi / 2);
  show_text(cr, "distance to tumour (mm)", 0, 0, 0.5);
  cairo_restore(cr);
  for (const auto& item : legend) {
    const double base = y + 10 * item.row + 8;
    if (item.kind == 0) {
      cairo_set_source_rgba(cr, item.rgb[0] / 255.0, item.rgb[1] / 255.0, item.rgb[2] / 255.0, 0.35);
      cairo_rectangle(cr, item.x, base - 6.5, 11, 7);
      cairo_fill(cr);
    } else if (item.kind == 1) {
      set_rgb(cr, item.rgb);
      cairo_set_line_width(cr, 1.6);
      cairo_move_to(cr, item.x, base - 2.5);
      cairo_line_to(cr, item.x + 11, base - 2.5);
      cairo_stroke(cr);
    }
    set_rgb(cr, item.kind == 2 ? item.rgb : Rgb{0, 0, 0});
    show_text(cr, item.text, item.x + (item.kind == 2 ? 0 : 15), base);
  }
  cairo_restore(cr);
}

} // namespace nervemap::report
