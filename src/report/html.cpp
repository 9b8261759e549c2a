// report.html: the same content as report.pdf in one self-contained file (images as PNG data URIs, inline
// CSS, no scripts, no external URLs), readable on screen and printable on A4.
#include "report/internal.h"

#include <fmt/format.h>
#include <fstream>

namespace nervemap::report {

namespace {

std::string esc(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s)
    switch (ch) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&quot;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      out += ch;
    }
  return out;
}

std::string hex(const Rgb& rgb) {
  return fmt::format("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2]);
}

std::string grade_chip(const std::string& grade) {
  if (grade.empty())
    return "<span class=\"muted\">not estimated</span>";
  return fmt::format(
      "<span class=\"grade\" style=\"background:{}\">{}</span>", hex(grade_rgb(grade)), esc(grade));
}

//! Draw with cairo at twice the layout size (crisp on high-density screens and in print) and embed as PNG.
std::string png_data_uri(double width_pt, double height_pt, const std::function<void(cairo_t*)>& draw) {
  const double scale = 2;
  cairo_surface_t* s = cairo_image_surface_create(
      CAIRO_FORMAT_RGB24, int(std::ceil(width_pt * scale)), int(std::ceil(height_pt * scale)));
  cairo_t* cr = cairo_create(s);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_scale(cr, scale, scale);
  draw(cr);
  cairo_destroy(cr);
  const std::string png = png_bytes(s);
  cairo_surface_destroy(s);
  return "data:image/png;base64," + base64(png);
}

std::string key_value_table(const std::vector<std::pair<std::string, std::string>>& items) {
  std::string out = "<table class=\"kv\">\n";
  for (const auto& [k, v] : items)
    out += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", esc(k), esc(v));
  return out + "</table>\n";
}

const char* kStyle = R"(
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; font-size: 10pt; color: #141414;
       max-width: 190mm; margin: 1.5em auto; padding: 0 1em; line-height: 1.35; }
h1 { font-size: 17pt; margin: 0 0 0.4em; }
h2 { font-size: 13pt; margin: 1.4em 0 0.5em; }
h3 { font-size: 10.5pt; margin: 1em 0 0.4em; }
.intended { background: #fff5cc; border: 1px solid #d99a1a; padding: 0.5em 0.7em; font-weight: bold; }
.patientline { color: #555; font-size: 8.5pt; display: flex; justify-content: space-between; }
.columns { display: flex; gap: 2em; flex-wrap: wrap; }
.columns > div { flex: 1 1 20em; }
table { border-collapse: collapse; width: 100%; font-size: 8.5pt; }
table.data th { background: #e6e6e6; text-align: left; padding: 3px 4px; vertical-align: bottom; }
table.data td { padding: 3px 4px; vertical-align: top; border-bottom: 1px solid #e2e2e2; }
table.data tr:nth-child(even) td { background: #f6f6f6; }
td.num { text-align: right; white-space: nowrap; }
table.data th.num { text-align: right; }
table.kv { width: auto; }
table.kv th { text-align: left; font-weight: normal; color: #666; padding: 1px 1em 1px 0; vertical-align: top; white-space: nowrap; }
table.kv td { padding: 1px 0; }
.id { font-family: "DejaVu Sans Mono", monospace; color: #666; font-size: 7.5pt; }
.grade { display: inline-block; padding: 0 0.45em; color: #fff; font-weight: bold; }
.grade, .swatch { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.muted { color: #666; font-style: italic; }
.warn { color: #d7301f; font-weight: bold; }
.legend { list-style: none; padding: 0; margin: 0.3em 0; font-size: 8.5pt; }
.legend li { margin: 0.15em 0; }
.swatch { display: inline-block; width: 0.9em; height: 0.7em; margin-right: 0.4em; border: 2px solid; box-sizing: border-box; }
.nerve .row { display: grid; grid-template-columns: minmax(0, 1.7fr) minmax(0, 1fr); gap: 1.2em; align-items: start; }
@media screen and (max-width: 700px) { .nerve .row { grid-template-columns: 1fr; } }
.nerve figure { margin: 0; }
.nerve figure.slice img { width: 100%; }
.nerve figure.plot img { width: 100%; }
figcaption { font-size: 8pt; color: #555; font-style: italic; }
.sources dt { font-weight: bold; float: left; clear: left; width: 9em; }
.sources dd { margin: 0 0 0.35em 9.5em; font-size: 9pt; }
footer { margin-top: 2em; border-top: 1px solid #bbb; padding-top: 0.4em; font-size: 8pt; color: #555; }
@page { size: A4; margin: 14mm 14mm 16mm; }
@media print {
  body { max-width: none; margin: 0; padding: 0; }
  section.nerve, section.appendix { break-before: page; }
  tr, figure, .intended, .nerve .row { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
}
)";

} // namespace

std::string PrintableReport::html() const {
  const Content& c = *content_;
  std::string h;
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<title>nervemap tumour–nerve proximity report</title>\n<style>" + std::string(kStyle) + "</style>\n";
  h += "</head>\n<body>\n";
  h += fmt::format("<div class=\"patientline\"><span>{}</span><span>nervemap {}</span></div>\n",
                   esc(c.footer_patient),
                   esc(c.report.software.version));
  h += "<header>\n<h1>" + esc(c.title) + "</h1>\n";
  h += "<p class=\"intended\">" + esc(kIntendedUse) + "</p>\n</header>\n";
  auto patient = c.patient;
  if (patient.empty())
    patient.emplace_back("Identifiers", "anonymised / not available");
  patient.emplace_back("Tumour",
                       c.tumours.empty() ? std::string("none given")
                                         : fmt::format("{}", fmt::join(c.tumours, "; ")));
  h += "<div class=\"columns\">\n<div>\n<h3>Patient and study</h3>\n" + key_value_table(patient) + "</div>\n";
  h += "<div>\n<h3>Case</h3>\n" + key_value_table(c.study) + "</div>\n</div>\n";
  if (!c.warnings.empty())
    h += fmt::format(
        "<p class=\"warn\">{} warning{} about this case: see <a href=\"#warnings\">Warnings</a>.</p>\n",
        c.warnings.size(),
        c.warnings.size() == 1 ? "" : "s");

  // Summary table
  std::vector<std::string> keys;
  for (const auto& n : c.nerves)
    if (!n.p_within.empty()) {
      for (const auto& [k, v] : n.p_within)
        keys.push_back(k);
      break;
    }
  h += "<h2>Summary: risk per nerve</h2>\n<p class=\"muted\">" + esc(c.sections_note) + "</p>\n";
  h += "<table class=\"data "
       "summary\">\n<thead><tr><th>Nerve</th><th>Grade</th>"
       "<th class=\"num\">Min. distance (mm)</th><th class=\"num\">r95 at closest (mm)</th><th>Tumour</th>";
  for (const auto& k : keys)
    h += fmt::format("<th class=\"num\">P ≤ {} mm</th>", esc(k));
  h += "</tr></thead>\n<tbody>\n";
  for (const auto& n : c.nerves) {
    h += fmt::format(
        "<tr><td><b>{}</b><br><span class=\"id\">{}</span></td><td>{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td>{}</td>",
        esc(n.name),
        esc(n.id),
        grade_chip(n.estimated ? n.grade : ""),
        esc(n.min_distance),
        esc(n.assessed ? n.r95_at_closest : "—"),
        esc(n.closest_tumour));
    for (const auto& k : keys) {
      std::string v = "—";
      for (const auto& [kk, pv] : n.p_within)
        if (kk == k)
          v = pv;
      h += "<td class=\"num\">" + esc(v) + "</td>";
    }
    h += "</tr>\n";
  }
  h += "</tbody>\n</table>\n<ul class=\"legend\">\n";
  for (const char* g : {"contact", "high", "moderate", "low", "none"})
    h += fmt::format("<li>{} {}</li>\n", grade_chip(g), esc(grade_meaning(g, c.grades)));
  h += "</ul>\n<p class=\"muted\">" + esc(kSummaryExplanation) + "</p>\n";

  // One section per nerve at risk
  for (const auto& s : c.sections) {
    const auto& n = c.nerves[s.nerve];
    h += fmt::format(
        "<section class=\"nerve\" id=\"{}\">\n<h2>{} {}</h2>\n<p class=\"id\">{} · shown because {}</p>\n",
        esc(n.id),
        esc(n.name),
        grade_chip(n.grade),
        esc(n.id),
        esc(s.why));
    h += "<div class=\"row\">\n";
    if (s.has_image) {
      const double width = 340, height = width * s.sample.view.height_px / s.sample.view.width_px;
      const std::string uri =
          png_data_uri(width, height, [&](cairo_t* cr) { draw_slice(cr, s, n, 0, 0, width); });
      const std::string caption = slice_caption(c, n);
      h += fmt::format(
          "<figure class=\"slice\"><img src=\"{}\" alt=\"axial CT slice with the estimated {} and the "
          "tumour\"><figcaption>{}</figcaption></figure>\n",
          uri,
          esc(n.name),
          esc(caption));
    }
    h += "<div class=\"facts\">\n" + key_value_table(section_facts(n));
    if (s.has_image) {
      h += "<ul class=\"legend\">\n<li><span class=\"swatch\" style=\"border-color:#000;background:#ffe600;"
           "border-radius:50%;border-width:1px\"></span>estimated nerve (closest point)</li>\n";
      h += fmt::format("<li><span class=\"swatch\" style=\"border-color:#d9b300;border-style:dashed;"
                       "border-radius:50%\"></span>95 % corridor, r95 = {} mm</li>\n",
                       esc(n.r95_at_closest));
      h += "<li><span class=\"swatch\" style=\"border:none\">✕</span>closest tumour point</li>\n";
      if (!s.crossings.empty())
        h += "<li><span class=\"swatch\" "
             "style=\"border-color:#1a99cc;border-radius:50%;border-width:1px\"></span>" +
             esc(crossings_legend(s.crossings)) + "</li>\n";
      for (const auto& e : s.legend)
        h += fmt::format("<li><span class=\"swatch\" style=\"border-color:{0};{1}\"></span>{2}</li>\n",
                         hex(e.rgb),
                         e.dashed   ? std::string("border-style:dashed")
                         : e.tumour ? "background:" + hex(e.rgb)
                                    : std::string(),
                         esc(e.name));
      h += "</ul>\n";
    }
    h += "</div>\n</div>\n";
    if (n.profile_mm.size() == n.path_mm.size() && n.path_mm.size() > 1) {
      const double width = 515, height = 175;
      h += "<h3>Distance to the tumour along the nerve</h3>\n";
      h += fmt::format(
          "<figure class=\"plot\"><img src=\"{}\" alt=\"distance from the estimated {} to the tumour "
          "along its course\"></figure>\n",
          png_data_uri(width,
                       height,
                       [&](cairo_t* cr) { draw_distance_plot(cr, n, c.grades, 0, 2, width, height - 4); }),
          esc(n.name));
    }
    h += key_value_table(section_details(n)) + "</section>\n";
  }

  // All nerves, warnings, methods and limits
  h += "<section class=\"appendix\">\n<h2>All nerves</h2>\n<table class=\"data\">\n<thead><tr><th>Nerve</th>"
       "<th>Status, notes and sources</th><th class=\"num\">Length (mm)</th><th class=\"num\">Length ≤ 5 "
       "mm</th>"
       "<th class=\"num\">Length ≤ 10 mm</th><th>Variants (probability)</th></tr>"
       "</thead>\n<tbody>\n";
  for (const auto& n : c.nerves) {
    h += fmt::format(
        "<tr><td><b>{}</b><br><span class=\"id\">{}</span></td><td>{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
        esc(n.name),
        esc(n.id),
        esc(nerve_status(n)),
        esc(n.length_number),
        esc(n.within_5mm_short),
        esc(n.within_10mm_short),
        esc(fmt::format("{}", fmt::join(n.variants, "; "))));
  }
  h += "</tbody>\n</table>\n<p class=\"muted\">" + esc(kLengthExplanation) +
       "</p>\n<h2 id=\"warnings\">Warnings</h2>\n";
  if (c.warnings.empty())
    h += "<p class=\"muted\">none</p>\n";
  else {
    h += "<ul>\n";
    for (const auto& w : c.warnings)
      h += "<li>" + esc(w) + "</li>\n";
    h += "</ul>\n";
  }
  h += "<h2>Methods and limits</h2>\n";
  for (const auto& p : methods_paragraphs(c))
    h += "<p>" + esc(p) + "</p>\n";
  h += "<h3>Provenance tags of the rule numbers</h3>\n<p>Every number in the rule files carries one of these "
       "tags "
       "(rules/README.md):</p>\n<dl class=\"sources\">\n";
  for (const auto& [tag, meaning] : provenance_tags())
    h += fmt::format("<dt>{}</dt><dd>{}</dd>\n", esc(tag), esc(meaning));
  h += "</dl>\n<h3>Sources of the rule base</h3>\n<dl class=\"sources\">\n";
  for (const auto& s : c.sources)
    h += fmt::format("<dt>{}</dt><dd>{}</dd>\n", esc(s.key), esc(s.citation));
  h += "</dl>\n</section>\n";
  const auto& sw = c.report.software;
  h += fmt::format("<footer>{} · nervemap {} · rules {} · created {} · Planning aid: nerve courses are "
                   "estimates.</footer>\n",
                   esc(c.footer_patient),
                   esc(sw.version),
                   esc(sw.rules_version),
                   esc(c.report.created));
  h += "</body>\n</html>\n";
  return h;
}

void PrintableReport::write_html(const fs::path& path) const {
  const std::string text = html();
  write_file_atomically(path, [&](const fs::path& tmp) {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    out.close();
    if (!out)
      throw InputError(fmt::format("cannot write {}", path.string()));
  });
}

} // namespace nervemap::report
