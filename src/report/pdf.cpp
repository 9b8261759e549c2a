// report.pdf: A4 pages drawn with cairo (vector text, slices embedded as images). Page 1: header, intended
// use, summary table; then one section per nerve at risk; then all nerves, warnings, methods and limits.
#include "report/internal.h"

#include <cairo-pdf.h>
#include <fmt/format.h>

namespace nervemap::report {

namespace {

constexpr double kPageWidth = 595.276, kPageHeight = 841.89; // A4 in points
constexpr double kMargin = 42, kTop = 40, kBottom = 62;      // the footer lives below kPageHeight - kBottom
constexpr double kContentWidth = kPageWidth - 2 * kMargin;

const Rgb kInk{20, 20, 20}, kGrey{110, 110, 110}, kRule{190, 190, 190};

struct Cell {
  Cell(std::string text,
       Font font = Font::regular,
       std::string sub = {},
       std::optional<Rgb> chip = std::nullopt)
      : text(std::move(text)), font(font), sub(std::move(sub)), chip(chip) {}
  std::string text;
  Font font;
  std::string sub;         //!< a second, smaller grey line (e.g. the nerve id)
  std::optional<Rgb> chip; //!< draw the text as a coloured chip (grades)
};

struct Column {
  Column(std::string title, double width, double align = 0)
      : title(std::move(title)), width(width), align(align) {}
  std::string title;
  double width;
  double align; //!< 0 left, 1 right
};

class Writer {
public:
  //! Page numbers found by a first pass; total_pages 0 marks that first, counting pass, which lays out
  //! the text but skips the figures (they do not move anything).
  struct Pages {
    int total = 0;
    int warnings = 0; //!< where the warnings section starts
  };

  Writer(cairo_t* cr, const PrintableReport::Content& c, Pages counted) : cr_(cr), c_(c), counted_(counted) {}

  Pages pages() const { return {page_, warnings_page_}; }

  void write() {
    begin_page();
    first_page();
    for (const auto& s : c_.sections)
      nerve_section(s);
    new_page();
    all_nerves();
    warnings();
    methods();
    end_page();
  }

private:
  cairo_t* cr_;
  const PrintableReport::Content& c_;
  Pages counted_;
  int warnings_page_ = 0;
  int page_ = 0;
  double y_ = 0;

  // --- pages ---------------------------------------------------------------------------------------

  void begin_page() {
    ++page_;
    y_ = kTop;
    if (page_ > 1) {
      set_font(cr_, Font::regular, 7.5);
      set_rgb(cr_, kGrey);
      show_text(cr_, c_.title, kMargin, y_);
      show_text(cr_, c_.footer_patient, kPageWidth - kMargin, y_, 1);
      rule(y_ + 4);
      y_ += 20;
    }
  }

  void end_page() {
    const double fy = kPageHeight - kBottom + 18;
    rule(fy - 10);
    set_font(cr_, Font::bold, 7.5);
    set_rgb(cr_, kInk);
    show_text(cr_, c_.footer_patient, kMargin, fy);
    set_font(cr_, Font::regular, 7.5);
    show_text(cr_, fmt::format("page {} of {}", page_, counted_.total), kPageWidth - kMargin, fy, 1);
    set_rgb(cr_, kGrey);
    const auto& sw = c_.report.software;
    show_text(
        cr_,
        fmt::format("nervemap {} · rules {} · created {}", sw.version, sw.rules_version, c_.report.created),
        kMargin,
        fy + 11);
    set_font(cr_, Font::italic, 7.5);
    show_text(cr_, "Planning aid: nerve courses are estimates.", kPageWidth - kMargin, fy + 11, 1);
    cairo_show_page(cr_);
  }

  void new_page() {
    end_page();
    begin_page();
  }

  void need(double height) {
    if (y_ + height > kPageHeight - kBottom)
      new_page();
  }

  void rule(double at) {
    set_rgb(cr_, kRule);
    cairo_set_line_width(cr_, 0.5);
    cairo_move_to(cr_, kMargin, at);
    cairo_line_to(cr_, kPageWidth - kMargin, at);
    cairo_stroke(cr_);
  }

  // --- text ------------------------------------------------------------------------------------------

  //! Wrapped text at (x, y_) in a column; returns the height used. Moves y_ unless `keep_y`.
  double paragraph(const std::string& text,
                   Font font,
                   double size,
                   double x,
                   double width,
                   const Rgb& rgb = kInk,
                   bool keep_y = false) {
    set_font(cr_, font, size);
    const auto lines = wrap_text(cr_, text, width);
    const double leading = size * 1.32;
    if (!keep_y)
      need(leading * double(lines.size()));
    set_rgb(cr_, rgb);
    double yy = y_ + size;
    for (const auto& l : lines) {
      show_text(cr_, l, x, yy);
      yy += leading;
    }
    const double h = leading * double(lines.size());
    if (!keep_y)
      y_ += h;
    return h;
  }

  void heading(const std::string& text, double size = 12.5) {
    need(size * 3 + 40); // keep a heading with a few lines of what follows
    y_ += size * 0.6;
    set_font(cr_, Font::bold, size);
    set_rgb(cr_, kInk);
    show_text(cr_, text, kMargin, y_ + size);
    y_ += size * 1.7;
  }

  void
  chip(const std::string& text, const Rgb& rgb, double x, double baseline, double size, double align = 0) {
    set_font(cr_, Font::bold, size);
    const double w = text_width(cr_, text) + size * 0.9, h = size * 1.35;
    const double left = x - align * w;
    cairo_rectangle(cr_, left, baseline - size * 0.98, w, h);
    set_rgb(cr_, rgb);
    cairo_fill(cr_);
    const bool dark = int(rgb[0]) * 299 + int(rgb[1]) * 587 + int(rgb[2]) * 114 < 150000;
    dark ? cairo_set_source_rgb(cr_, 1, 1, 1) : cairo_set_source_rgb(cr_, 0, 0, 0);
    show_text(cr_, text, left + size * 0.45, baseline);
  }

  //! Key–value list in a column at x; returns the height used (y_ unchanged).
  double key_values(const std::vector<std::pair<std::string, std::string>>& items,
                    double x,
                    double width,
                    double key_width,
                    double size = 8.5) {
    double yy = y_;
    for (const auto& [k, v] : items) {
      set_font(cr_, Font::regular, size);
      set_rgb(cr_, kGrey);
      show_text(cr_, k, x, yy + size);
      set_font(cr_, Font::regular, size);
      const auto lines = wrap_text(cr_, v, width - key_width);
      set_rgb(cr_, kInk);
      for (const auto& l : lines) {
        show_text(cr_, l, x + key_width, yy + size);
        yy += size * 1.35;
      }
      yy += size * 0.25;
    }
    return yy - y_;
  }

  // --- tables ----------------------------------------------------------------------------------------

  double
  row_height(const std::vector<Column>& cols, const std::vector<Cell>& row, double size, double padding) {
    double h = 0;
    for (size_t i = 0; i < cols.size(); ++i) {
      set_font(cr_, row[i].font, size);
      double ch = size * 1.3 * double(wrap_text(cr_, row[i].text, cols[i].width - 6).size());
      if (!row[i].sub.empty()) {
        set_font(cr_, Font::mono, size - 1.5);
        ch += (size - 1.5) * 1.3 * double(wrap_text(cr_, row[i].sub, cols[i].width - 6).size());
      }
      h = std::max(h, ch);
    }
    return h + padding;
  }

  void table_header(const std::vector<Column>& cols, double size) {
    set_font(cr_, Font::bold, size);
    double h = 0;
    for (const auto& c : cols)
      h = std::max(h, size * 1.3 * double(wrap_text(cr_, c.title, c.width - 6).size()));
    h += 6;
    cairo_rectangle(cr_, kMargin, y_, kContentWidth, h);
    cairo_set_source_rgb(cr_, 0.9, 0.9, 0.9);
    cairo_fill(cr_);
    double x = kMargin;
    set_rgb(cr_, kInk);
    for (const auto& c : cols) {
      double yy = y_ + 3 + size;
      for (const auto& l : wrap_text(cr_, c.title, c.width - 6)) {
        show_text(cr_, l, c.align > 0 ? x + c.width - 3 : x + 3, yy, c.align);
        yy += size * 1.3;
      }
      x += c.width;
    }
    y_ += h;
  }

  void table(const std::vector<Column>& cols,
             const std::vector<std::vector<Cell>>& rows,
             double size = 8,
             double padding = 6) {
    need(40);
    table_header(cols, size);
    for (size_t r = 0; r < rows.size(); ++r) {
      const auto& row = rows[r];
      const double h = row_height(cols, row, size, padding);
      if (y_ + h > kPageHeight - kBottom) {
        new_page();
        table_header(cols, size);
      }
      if (r % 2 == 1) {
        cairo_rectangle(cr_, kMargin, y_, kContentWidth, h);
        cairo_set_source_rgb(cr_, 0.965, 0.965, 0.965);
        cairo_fill(cr_);
      }
      double x = kMargin;
      for (size_t i = 0; i < cols.size(); ++i) {
        const auto& cell = row[i];
        const double tx = cols[i].align > 0 ? x + cols[i].width - 3 : x + 3;
        double yy = y_ + 0.5 * padding + size;
        if (cell.chip) {
          chip(cell.text, *cell.chip, tx, yy, size, cols[i].align);
        } else {
          set_font(cr_, cell.font, size);
          set_rgb(cr_, kInk);
          for (const auto& l : wrap_text(cr_, cell.text, cols[i].width - 6)) {
            show_text(cr_, l, tx, yy, cols[i].align);
            yy += size * 1.3;
          }
        }
        if (!cell.sub.empty()) {
          set_font(cr_, Font::mono, size - 1.5);
          set_rgb(cr_, kGrey);
          if (cell.chip)
            yy += size * 1.3;
          for (const auto& l : wrap_text(cr_, cell.sub, cols[i].width - 6)) {
            show_text(cr_, l, tx, yy, cols[i].align);
            yy += (size - 1.5) * 1.3;
          }
        }
        x += cols[i].width;
      }
      y_ += h;
    }
    rule(y_);
    y_ += 8;
  }

  // --- content ---------------------------------------------------------------------------------------

  void first_page() {
    set_font(cr_, Font::bold, 17);
    set_rgb(cr_, kInk);
    show_text(cr_, c_.title, kMargin, y_ + 17);
    y_ += 30;
    // Intended use, boxed: the first thing a reader sees after the title.
    set_font(cr_, Font::bold, 9.5);
    const auto lines = wrap_text(cr_, kIntendedUse, kContentWidth - 16);
    const double box = 12.5 * double(lines.size()) + 10;
    cairo_rectangle(cr_, kMargin, y_, kContentWidth, box);
    cairo_set_source_rgb(cr_, 1.0, 0.96, 0.8);
    cairo_fill_preserve(cr_);
    cairo_set_source_rgb(cr_, 0.85, 0.6, 0.1);
    cairo_set_line_width(cr_, 0.8);
    cairo_stroke(cr_);
    y_ += 5;
    paragraph(kIntendedUse, Font::bold, 9.5, kMargin + 8, kContentWidth - 16);
    y_ += 12;

    const double half = kContentWidth / 2 - 8;
    set_font(cr_, Font::bold, 10);
    set_rgb(cr_, kInk);
    show_text(cr_, "Patient and study", kMargin, y_ + 10);
    show_text(cr_, "Case", kMargin + half + 16, y_ + 10);
    y_ += 16;
    KeyValues patient = c_.patient;
    if (patient.empty())
      patient.emplace_back("Identifiers", "anonymised / not available");
    patient.emplace_back("Tumour",
                         c_.tumours.empty() ? "none given" : fmt::format("{}", fmt::join(c_.tumours, "; ")));
    const double hl = key_values(patient, kMargin, half, 72);
    const double hr = key_values(c_.study, kMargin + half + 16, half, 88);
    y_ += std::max(hl, hr) + 4;
    // Warnings can change how far the estimates may be trusted: say so before the numbers.
    if (!c_.warnings.empty())
      paragraph(fmt::format("{} warning{} about this case: see \"Warnings\" on page {}.",
                            c_.warnings.size(),
                            c_.warnings.size() == 1 ? "" : "s",
                            counted_.warnings),
                Font::bold,
                8.5,
                kMargin,
                kContentWidth,
                grade_rgb("high"));

    heading("Summary: risk per nerve");
    paragraph(c_.sections_note, Font::italic, 8.5, kMargin, kContentWidth, kGrey);
    y_ += 3;
    summary_table();
    grade_legend();
  }

  std::vector<std::string> p_keys() const {
    for (const auto& n : c_.nerves)
      if (!n.p_within.empty()) {
        std::vector<std::string> keys;
        for (const auto& [k, v] : n.p_within)
          keys.push_back(k);
        return keys;
      }
    return {};
  }

  void summary_table() {
    const auto keys = p_keys();
    // The nerve column is wide enough for most names on one line; the id goes underneath.
    std::vector<Column> cols{{"Nerve", 182},
                             {"Grade", 66},
                             {"Min. distance (mm)", 46, 1},
                             {"r95 at closest (mm)", 46, 1},
                             {"Tumour", 44}};
    const double used = 182 + 66 + 46 + 46 + 44,
                 p_width = keys.empty() ? 0 : (kContentWidth - used) / double(keys.size());
    for (const auto& k : keys)
      cols.push_back({fmt::format("P ≤ {} mm", k), p_width, 1});
    if (keys.empty())
      cols.push_back({"P ≤ X mm", kContentWidth - used, 1});
    std::vector<std::vector<Cell>> rows;
    for (const auto& n : c_.nerves) {
      std::vector<Cell> row{{n.name, Font::bold, n.id}};
      if (!n.estimated)
        row.push_back({"not estimated", Font::italic});
      else
        row.push_back({n.grade, Font::bold, "", grade_rgb(n.grade)});
      row.push_back({n.min_distance});
      row.push_back({n.assessed ? n.r95_at_closest : "—"});
      row.push_back({n.closest_tumour});
      for (const auto& k : keys) {
        std::string v = "—";
        for (const auto& [kk, pv] : n.p_within)
          if (kk == k)
            v = pv;
        row.push_back({v});
      }
      if (keys.empty())
        row.push_back({"—"});
      rows.push_back(std::move(row));
    }
    table(cols, rows, 8, 4);
  }

  void grade_legend() {
    need(5 * 11.5 + 30);
    for (const char* g : {"contact", "high", "moderate", "low", "none"}) {
      chip(g, grade_rgb(g), kMargin, y_ + 8, 7.5);
      set_font(cr_, Font::regular, 7.5);
      set_rgb(cr_, kInk);
      show_text(cr_, grade_meaning(g, c_.grades), kMargin + 58, y_ + 8);
      y_ += 11.5;
    }
    y_ += 4;
    paragraph(kSummaryExplanation, Font::regular, 7.5, kMargin, kContentWidth, kGrey);
    y_ += 4;
  }

  //! The text, shortened with an ellipsis to fit the width in the current font.
  std::string fit_text(const std::string& text, double width) {
    if (text_width(cr_, text) <= width)
      return text;
    std::string base = text;
    while (!base.empty() && text_width(cr_, base + "…") > width) {
      while (!base.empty() && (static_cast<unsigned char>(base.back()) & 0xC0) == 0x80)
        base.pop_back(); // continuation bytes of a UTF-8 character
      if (!base.empty())
        base.pop_back();
    }
    return base + "…";
  }

  //! The outlines on a slice, in columns below it: tumours first, then the structures nearest the nerve.
  void outline_legend(const std::vector<SliceLegendEntry>& legend) {
    constexpr int kColumns = 3, kRows = 5;
    const double column_width = kContentWidth / kColumns, line = 9.5;
    y_ += 3;
    const size_t shown = std::min(legend.size(), size_t(kColumns * kRows));
    const size_t rows = (shown + kColumns - 1) / kColumns;
    for (size_t i = 0; i < shown; ++i) {
      const auto& e = legend[i];
      // Column-major, so that the list reads down the first column first (nearest structures).
      const double x = kMargin + column_width * double(i / rows), y = y_ + line * double(i % rows);
      cairo_new_path(cr_);
      cairo_rectangle(cr_, x + 1, y + 1.5, 8, 6);
      set_rgb(cr_, e.rgb);
      if (e.dashed) {
        const double dash[] = {2, 1.2};
        cairo_set_dash(cr_, dash, 2, 0);
        cairo_set_line_width(cr_, 1.2);
        cairo_stroke(cr_);
        cairo_set_dash(cr_, nullptr, 0, 0);
      } else if (e.tumour) {
        cairo_fill(cr_);
      } else {
        cairo_set_line_width(cr_, 1.4);
        cairo_stroke(cr_);
      }
      set_font(cr_, Font::regular, 7.5);
      set_rgb(cr_, kInk);
      show_text(cr_, fit_text(e.name, column_width - 16), x + 13, y + 7.5);
    }
    y_ += line * double(rows);
    if (shown < legend.size()) {
      set_font(cr_, Font::italic, 7.5);
      set_rgb(cr_, kGrey);
      show_text(
          cr_, fmt::format("and {} more outlined structures", legend.size() - shown), kMargin + 13, y_ + 7.5);
      y_ += line;
    }
  }

  void nerve_section(const NerveSection& s) {
    const auto& n = c_.nerves[s.nerve];
    new_page();
    set_font(cr_, Font::bold, 14);
    set_rgb(cr_, kInk);
    show_text(cr_, n.name, kMargin, y_ + 14);
    chip(n.grade, grade_rgb(n.grade), kPageWidth - kMargin, y_ + 14, 12, 1);
    y_ += 20;
    set_font(cr_, Font::mono, 8);
    set_rgb(cr_, kGrey);
    show_text(cr_, n.id + " · shown because " + s.why, kMargin, y_ + 8);
    y_ += 16;

    const double image_width = 318, panel_x = kMargin + image_width + 14,
                 panel_width = kContentWidth - image_width - 14;
    const double image_top = y_;
    double image_height = 0;
    if (s.has_image) {
      if (counted_.total > 0)
        draw_slice(cr_, s, n, kMargin, y_, image_width);
      image_height = image_width * s.sample.view.height_px / s.sample.view.width_px;
    }
    // Right panel: the numbers, then the legend of what the image shows.
    const KeyValues facts = section_facts(n);
    y_ = image_top;
    y_ += key_values(facts, panel_x, panel_width, 78, 8) + 8;
    if (s.has_image) {
      set_font(cr_, Font::bold, 8);
      set_rgb(cr_, kInk);
      show_text(cr_, "On the image", panel_x, y_ + 8);
      y_ += 13;
      auto legend_line = [&](const std::function<void(double, double)>& mark, const std::string& text) {
        cairo_new_path(cr_); // show_text leaves a current point that the mark's path would start from
        mark(panel_x + 6, y_ + 5);
        set_font(cr_, Font::regular, 7.5);
        set_rgb(cr_, kInk);
        for (const auto& l : wrap_text(cr_, text, panel_width - 18)) {
          show_text(cr_, l, panel_x + 16, y_ + 7.5);
          y_ += 9.5;
        }
      };
      legend_line(
          [&](double x, double y) {
            cairo_arc(cr_, x, y, 2.8, 0, 6.2832);
            cairo_set_source_rgb(cr_, 1, 0.9, 0);
            cairo_fill_preserve(cr_);
            cairo_set_source_rgb(cr_, 0, 0, 0);
            cairo_set_line_width(cr_, 0.7);
            cairo_stroke(cr_);
          },
          "estimated nerve (closest point)");
      legend_line(
          [&](double x, double y) {
            cairo_arc(cr_, x, y, 4.5, 0, 6.2832);
            const double dash[] = {2.5, 1.5};
            cairo_set_dash(cr_, dash, 2, 0);
            cairo_set_source_rgb(cr_, 0.85, 0.7, 0);
            cairo_set_line_width(cr_, 1.2);
            cairo_stroke(cr_);
            cairo_set_dash(cr_, nullptr, 0, 0);
          },
          fmt::format("95 % corridor, r95 = {} mm", n.r95_at_closest));
      legend_line(
          [&](double x, double y) {
            cairo_move_to(cr_, x - 3, y - 3);
            cairo_line_to(cr_, x + 3, y + 3);
            cairo_move_to(cr_, x - 3, y + 3);
            cairo_line_to(cr_, x + 3, y - 3);
            cairo_set_source_rgb(cr_, 0.2, 0.2, 0.2);
            cairo_set_line_width(cr_, 1.2);
            cairo_stroke(cr_);
          },
          "closest tumour point");
      if (!s.crossings.empty())
        legend_line(
            [&](double x, double y) {
              cairo_arc(cr_, x, y, 2.2, 0, 6.2832);
              cairo_set_source_rgb(cr_, 0.1, 0.6, 0.8);
              cairo_set_line_width(cr_, 1);
              cairo_stroke(cr_);
            },
            crossings_legend(s.crossings));
    }
    y_ = std::max(y_, image_top + image_height) + 6;
    if (s.has_image) {
      paragraph(slice_caption(c_, n), Font::italic, 7.5, kMargin, kContentWidth, kGrey);
      outline_legend(s.legend);
    }
    y_ += 6;
    if (n.profile_mm.size() == n.path_mm.size() && n.path_mm.size() > 1) {
      need(190);
      set_font(cr_, Font::bold, 9);
      set_rgb(cr_, kInk);
      show_text(cr_, "Distance to the tumour along the nerve", kMargin, y_ + 9);
      y_ += 14;
      if (counted_.total > 0)
        draw_distance_plot(cr_, n, c_.grades, kMargin, y_, kContentWidth, 170);
      y_ += 176;
    }
    const KeyValues more = section_details(n);
    need(40);
    y_ += key_values(more, kMargin, kContentWidth, 60, 8);
  }

  void all_nerves() {
    heading("All nerves");
    std::vector<Column> cols{{"Nerve", 132},
                             {"Status, notes and sources", 140},
                             {"Length (mm)", 38, 1},
                             {"Length ≤ 5 mm", 50, 1},
                             {"Length ≤ 10 mm", 50, 1},
                             {"Variants (probability)", kContentWidth - 410}};
    std::vector<std::vector<Cell>> rows;
    for (const auto& n : c_.nerves) {
      rows.push_back({{n.name, Font::bold, n.id},
                      {nerve_status(n)},
                      {n.length_number},
                      {n.within_5mm_short},
                      {n.within_10mm_short},
                      {fmt::format("{}", fmt::join(n.variants, "; "))}});
    }
    table(cols, rows, 7.5);
    paragraph(kLengthExplanation, Font::regular, 7.5, kMargin, kContentWidth, kGrey);
  }

  void warnings() {
    heading("Warnings");
    warnings_page_ = page_;
    if (c_.warnings.empty()) {
      paragraph("none", Font::italic, 8.5, kMargin, kContentWidth);
      return;
    }
    for (const auto& w : c_.warnings) {
      paragraph("•", Font::regular, 8.5, kMargin, 10, kInk, true);
      paragraph(w, Font::regular, 8.5, kMargin + 10, kContentWidth - 10);
      y_ += 2;
    }
  }

  void methods() {
    heading("Methods and limits");
    for (const auto& p : methods_paragraphs(c_)) {
      paragraph(p, Font::regular, 8.5, kMargin, kContentWidth);
      y_ += 5;
    }
    heading("Provenance tags of the rule numbers", 10);
    paragraph("Every number in the rule files carries one of these tags (rules/README.md):",
              Font::regular,
              8.5,
              kMargin,
              kContentWidth);
    for (const auto& [tag, meaning] : provenance_tags()) {
      need(12);
      paragraph(tag, Font::bold, 8.5, kMargin + 8, 30, kInk, true);
      paragraph(meaning, Font::regular, 8.5, kMargin + 38, kContentWidth - 38);
    }
    heading("Sources of the rule base", 10);
    for (const auto& s : c_.sources) {
      set_font(cr_, Font::regular, 8);
      const double h = 8 * 1.32 * double(wrap_text(cr_, s.citation, kContentWidth - 90).size());
      need(h + 3);
      paragraph(s.key, Font::bold, 8, kMargin, 86, kInk, true);
      paragraph(s.citation, Font::regular, 8, kMargin + 90, kContentWidth - 90);
      y_ += 3;
    }
  }
};

cairo_status_t discard(void*, const unsigned char*, unsigned int) {
  return CAIRO_STATUS_SUCCESS;
}

Writer::Pages render(cairo_surface_t* surface, const PrintableReport::Content& c, Writer::Pages counted) {
  cairo_t* cr = cairo_create(surface);
  Writer w(cr, c, counted);
  w.write();
  const Writer::Pages pages = w.pages();
  const cairo_status_t status = cairo_status(cr);
  cairo_destroy(cr);
  cairo_surface_finish(surface);
  if (status != CAIRO_STATUS_SUCCESS || cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS)
    throw std::runtime_error(fmt::format(
        "cairo failed drawing report.pdf: {}",
        cairo_status_to_string(status != CAIRO_STATUS_SUCCESS ? status : cairo_surface_status(surface))));
  return pages;
}

} // namespace

void PrintableReport::write_pdf(const fs::path& path) const {
  // Lay out once without output to count the pages ("page N of M" on every page), then for real.
  cairo_surface_t* counting = cairo_pdf_surface_create_for_stream(discard, nullptr, kPageWidth, kPageHeight);
  const Writer::Pages pages = render(counting, *content_, {});
  cairo_surface_destroy(counting);
  write_file_atomically(path, [&](const fs::path& tmp) {
    cairo_surface_t* surface = cairo_pdf_surface_create(tmp.c_str(), kPageWidth, kPageHeight);
    // Metadata carries no patient identifiers (they are on the pages, and absent with --anonymize).
    cairo_pdf_surface_set_metadata(
        surface, CAIRO_PDF_METADATA_TITLE, "nervemap tumour–nerve proximity report");
    cairo_pdf_surface_set_metadata(surface,
                                   CAIRO_PDF_METADATA_CREATOR,
                                   fmt::format("nervemap {}", content_->report.software.version).c_str());
    try {
      render(surface, *content_, pages);
    } catch (...) {
      cairo_surface_destroy(surface);
      throw;
    }
    cairo_surface_destroy(surface);
  });
}

} // namespace nervemap::report
