// The content of the printable report, read from report.json and formatted once for the PDF and the HTML.
#include "anatomy/anatomy.h"
#include "report/internal.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <set>
#include <sstream>

namespace nervemap::report {

const char* const kIntendedUse =
    "Planning aid. Nerve courses are estimated from anatomical rules, not seen on "
    "CT; confirm intra-operatively (nerve monitoring).";

namespace {

const std::string kDash = "—";
//! From this distance between the nerve's plane and the closest tumour point, the tumour's outline at its
//! closest point is drawn too (dashed).
constexpr double kOffPlaneMm = 0.5;

int grade_rank(const std::string& grade) {
  static const std::vector<std::string> order{"contact", "high", "moderate", "low", "none"};
  const auto it = std::find(order.begin(), order.end(), grade);
  return int(it - order.begin());
}

std::string number_or_dash(const std::optional<double>& v, int decimals, const char* unit = "") {
  return v ? format_fixed(*v, decimals) + unit : kDash;
}

//! "Vagus nerve (cranial nerve X), cervical part" → "Vagus nerve (CN X)": short enough for one table line.
std::string short_title(const std::string& nerve, const nerves::RuleBase* rules) {
  const nerves::NerveRule* rule = rules ? rules->find(nerve) : nullptr;
  std::string t = rule ? rule->title : nerve;
  if (!rule) {
    std::replace(t.begin(), t.end(), '_', ' ');
    if (!t.empty())
      t[0] = char(std::toupper(static_cast<unsigned char>(t[0])));
  }
  if (const auto comma = t.find(','); comma != std::string::npos)
    t = t.substr(0, comma);
  if (const auto cn = t.find("cranial nerve "); cn != std::string::npos)
    t.replace(cn, 14, "CN ");
  return t;
}

//! Surgical abbreviation from the title's initials: RLN, EBSLN, SAN, … (for labels on the images).
std::string abbreviation(const std::string& title) {
  std::string out, word;
  std::string plain = title.substr(0, title.find(" ("));
  std::istringstream words(plain);
  while (words >> word)
    if (word != "of" && word != "the" && word != "and")
      out += char(std::toupper(static_cast<unsigned char>(word[0])));
  return out;
}

std::string pn_display(const std::string& pn) {
  // DICOM person name: family^given^middle^prefix^suffix → "Family, Given Middle".
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= pn.size(); ++i)
    if (i == pn.size() || pn[i] == '^') {
      parts.push_back(pn.substr(start, i - start));
      start = i + 1;
    }
  if (parts.size() < 2)
    return pn;
  std::string given;
  for (size_t i = 1; i < parts.size() && i < 3; ++i)
    if (!parts[i].empty())
      given += (given.empty() ? "" : " ") + parts[i];
  return given.empty() ? parts[0] : parts[0] + ", " + given;
}

std::string date_display(const std::string& da) {
  // DICOM DA is YYYYMMDD; anything else is shown as given.
  if (da.size() == 8 && std::all_of(da.begin(), da.end(), ::isdigit))
    return da.substr(0, 4) + "-" + da.substr(4, 2) + "-" + da.substr(6, 2);
  return da;
}

NerveFacts nerve_facts(const NerveEntry& entry, const nerves::RuleBase* rules) {
  const nerves::NervePath& n = entry.estimate;
  const risk::NerveRisk& r = entry.risk;
  NerveFacts f;
  f.id = n.id;
  f.nerve = n.nerve;
  f.side = n.side;
  f.name = short_title(f.nerve, rules) + ", " + f.side;
  f.estimated = n.estimated;
  f.reason = n.reason;
  f.grade = r.grade;
  f.assessed = r.assessed;
  f.path_mm = n.path_mm;
  f.r95_mm = n.corridor_r95_mm;
  if (r.assessed)
    f.profile_mm = r.combined.profile_mm;
  f.segments = n.segments;
  if (f.segments.empty() && f.path_mm.size() > 1)
    f.segments.emplace_back(0, f.path_mm.size() - 1);
  f.pieces = f.segments.size();
  f.skipped_levels = n.skipped_levels.size();
  if (f.path_mm.size() > 1)
    f.course = f.path_mm.front().z() > f.path_mm.back().z() ? "cranial → caudal" : "caudal → cranial";
  if (r.assessed) {
    f.closest_nerve_mm = r.combined.closest_nerve;
    f.closest_tumour_mm = r.combined.closest_tumour;
  }
  if (f.closest_nerve_mm && !f.path_mm.empty()) {
    // The corridor radius at the closest point: the path point nearest to it (it is a path point).
    double best = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < f.path_mm.size(); ++i)
      if (const double d = (f.path_mm[i] - *f.closest_nerve_mm).norm(); d < best) {
        best = d;
        f.closest_index = i;
      }
    f.r95_at_closest_mm = f.r95_mm.at(f.closest_index);
    f.r95_at_closest = format_fixed(f.r95_at_closest_mm, 2);
  } else {
    f.r95_at_closest = kDash;
  }
  const auto assessed = [&](double v) { return r.assessed ? std::optional<double>(v) : std::nullopt; };
  f.min_distance_mm = r.assessed ? r.combined.min_distance_mm : 0;
  f.min_distance = number_or_dash(assessed(r.combined.min_distance_mm), 2);
  f.closest_tumour = r.assessed ? r.closest_tumour : kDash;
  f.encasement = r.assessed ? format_fixed(r.encasement_deg, 1) + "°" : kDash;
  f.length = number_or_dash(entry.length_mm, 1, " mm");
  f.length_number = number_or_dash(entry.length_mm, 1);
  auto within = [&](double length, double fraction, const char* unit) {
    if (!r.assessed)
      return kDash;
    return fmt::format(
        "{}{} ({}{})", format_fixed(length, 1), unit, format_percent(fraction), *unit ? " of the nerve" : "");
  };
  f.within_5mm = within(r.length_within_5mm, r.fraction_within_5mm, " mm");
  f.within_10mm = within(r.length_within_10mm, r.fraction_within_10mm, " mm");
  f.within_5mm_short = within(r.length_within_5mm, r.fraction_within_5mm, "");
  f.within_10mm_short = within(r.length_within_10mm, r.fraction_within_10mm, "");
  f.inside =
      r.assessed
          ? (r.inside_tumour ? fmt::format("yes, {} mm inside", format_fixed(r.length_inside_mm, 1)) : "no")
          : kDash;
  for (const auto& [mm, p] : r.p_within) // ascending mm
    f.p_within.emplace_back(p_within_key(mm), format_percent(p));
  for (const auto& v : n.variants) {
    std::string name = v.name;
    std::replace(name.begin(), name.end(), '_', ' ');
    f.variants.push_back(
        fmt::format("{} {:.1f} %{}", name, 100 * v.probability, v.typical ? " (typical)" : ""));
  }
  f.sources = n.sources;
  f.notes = n.notes;
  return f;
}

std::vector<CrossingMark> crossings(const std::vector<NerveFacts>& nerves,
                                    size_t own,
                                    const slice::AxialView& view,
                                    const nerves::RuleBase* rules) {
  std::vector<CrossingMark> out;
  for (size_t n = 0; n < nerves.size(); ++n) {
    const auto& f = nerves[n];
    if (n == own || !f.estimated)
      continue;
    for (const auto& [first, last] : f.segments)
      for (size_t i = first; i < last; ++i) {
        const double a = f.path_mm[i].z() - view.z_mm, b = f.path_mm[i + 1].z() - view.z_mm;
        if ((a > 0 && b > 0) || (a < 0 && b < 0) || a == b)
          continue;
        const double t = a / (a - b);
        const Vec3 p = f.path_mm[i] + t * (f.path_mm[i + 1] - f.path_mm[i]);
        const auto im = view.lps_to_image(p);
        if (im[0] < 0 || im[1] < 0 || im[0] > view.width_px || im[1] > view.height_px)
          continue;
        const std::string title = short_title(f.nerve, rules);
        out.push_back({abbreviation(title),
                       title.substr(0, title.find(" (")),
                       p,
                       f.r95_mm[i] + t * (f.r95_mm[i + 1] - f.r95_mm[i])});
        break; // one mark per piece is enough for orientation
      }
  }
  return out;
}

} // namespace

std::string crossings_legend(const std::vector<CrossingMark>& crossings) {
  std::vector<std::string> seen;
  for (const auto& m : crossings) {
    std::string name = m.name;
    if (!name.empty())
      name[0] = char(std::tolower(static_cast<unsigned char>(name[0])));
    const std::string entry = m.label + " " + name;
    if (std::find(seen.begin(), seen.end(), entry) == seen.end())
      seen.push_back(entry);
  }
  return fmt::format("other estimated nerves in this plane ({})", fmt::join(seen, ", "));
}

namespace {

std::string citation(const nerves::Source& s) {
  std::string c = s.authors.empty() ? s.key : s.authors;
  if (s.year)
    c += fmt::format(" ({})", s.year);
  if (!s.title.empty())
    c += ". " + s.title;
  if (!s.journal.empty())
    c += ". " + s.journal;
  if (!s.doi.empty())
    c += ". doi:" + s.doi;
  if (!s.cohort.empty())
    c += ". Cohort: " + s.cohort;
  return c + ".";
}

} // namespace

std::string format_fixed(double value, int decimals) {
  std::string s = fmt::format("{:.{}f}", value, decimals);
  if (s.find_first_not_of("-0.") == std::string::npos && s[0] == '-')
    s.erase(0, 1); // no "-0.00"
  return s;
}

std::string format_percent(double p) {
  // Probabilities are estimates: whole percent, never a bare 0 % or 100 % for a non-zero chance.
  if (p <= 0)
    return "0 %";
  if (p < 0.005)
    return "<1 %";
  if (p >= 1)
    return "100 %";
  if (p > 0.995)
    return ">99 %";
  return fmt::format("{:.0f} %", 100 * p);
}

Rgb grade_rgb(const std::string& grade) {
  if (grade == "contact")
    return {128, 0, 38};
  if (grade == "high")
    return {215, 48, 31};
  if (grade == "moderate")
    return {244, 140, 40};
  if (grade == "low")
    return {69, 117, 180};
  return {150, 150, 150};
}

std::string grade_meaning(const std::string& grade, const risk::GradeThresholds& r) {
  if (grade == "contact")
    return fmt::format("tumour within {:g} mm of the estimated nerve, or abutting ≥ {:g}° of its corridor",
                       r.contact_mm,
                       r.encasement_contact_deg);
  if (grade == "high")
    return "tumour within the nerve's 95 % corridor (distance ≤ r95 at the closest point)";
  if (grade == "moderate")
    return fmt::format("tumour within r95 + {:g} mm of the nerve", r.moderate_margin_mm);
  if (grade == "low")
    return fmt::format("tumour farther than r95 + {:g} mm", r.moderate_margin_mm);
  if (grade == "none")
    return "no tumour given";
  return "";
}

const char* const kSummaryExplanation =
    "Min. distance: from the estimated nerve centre line to the tumour surface. r95: radius of the nerve's "
    "95 % "
    "corridor at its closest point. Tumour: the tumour (GTVp primary, GTVn nodes) closest to the nerve. "
    "P ≤ X mm: probability that the true nerve lies within X mm of the tumour.";

const char* const kLengthExplanation =
    "Length ≤ X mm: the length of the estimated nerve lying within X mm of the tumour, in mm and as a "
    "percentage of the nerve's length.";

KeyValues section_facts(const NerveFacts& n) {
  KeyValues facts{{"Grade", n.grade},
                  {"Min. distance", n.min_distance + " mm"},
                  {"r95 at closest", n.r95_at_closest + " mm"},
                  {"Closest tumour", n.closest_tumour},
                  {"Inside tumour", n.inside},
                  {"Encasement", n.encasement},
                  {"Length ≤ 5 mm", n.within_5mm},
                  {"Length ≤ 10 mm", n.within_10mm}};
  for (const auto& [k, v] : n.p_within)
    facts.emplace_back(fmt::format("P ≤ {} mm", k), v);
  facts.emplace_back("Course", n.course + ", " + n.length);
  return facts;
}

KeyValues section_details(const NerveFacts& n) {
  KeyValues more;
  if (!n.variants.empty())
    more.emplace_back("Variants", fmt::format("{}", fmt::join(n.variants, "; ")));
  if (!n.notes.empty())
    more.emplace_back("Notes", fmt::format("{}", fmt::join(n.notes, "; ")));
  if (n.pieces > 1 || n.skipped_levels > 0)
    more.emplace_back("Gaps",
                      fmt::format("{} piece{}, {} axial level{} without landmarks",
                                  n.pieces,
                                  n.pieces == 1 ? "" : "s",
                                  n.skipped_levels,
                                  n.skipped_levels == 1 ? "" : "s"));
  more.emplace_back("Sources", fmt::format("{}", fmt::join(n.sources, "; ")));
  return more;
}

std::string slice_caption(const PrintableReport::Content& c, const NerveFacts& n) {
  const Vec3 p = n.closest_nerve_mm.value_or(Vec3::Zero());
  std::string caption = fmt::format(
      "Axial CT at z = {:.1f} mm through the closest point (LPS {:.1f}, {:.1f}, {:.1f} mm), radiological "
      "convention: patient's right on the image's left, anterior at the top. Window {} (W {:g} / L {:g} HU).",
      p.z(),
      p.x(),
      p.y(),
      p.z(),
      c.window.name,
      c.window.width_hu,
      c.window.level_hu);
  if (n.closest_tumour_mm && std::abs(n.closest_tumour_mm->z() - p.z()) >= 0.05)
    caption += fmt::format(" The closest tumour point lies {:.1f} mm {} this plane{}.",
                           std::abs(n.closest_tumour_mm->z() - p.z()),
                           n.closest_tumour_mm->z() > p.z() ? "above (cranial to)" : "below (caudal to)",
                           std::abs(n.closest_tumour_mm->z() - p.z()) >= kOffPlaneMm
                               ? "; the tumour's outline at that level is dashed"
                               : "");
  return caption;
}

std::string nerve_status(const NerveFacts& n) {
  std::string status = n.estimated ? "estimated (" + n.course + ")" : "not estimated: " + n.reason;
  if (n.pieces > 1)
    status += fmt::format("; {} pieces", n.pieces);
  for (const auto& note : n.notes)
    status += "; " + note;
  if (!n.sources.empty())
    status += fmt::format(". Sources: {}", fmt::join(n.sources, ", "));
  return status;
}

std::vector<std::pair<std::string, std::string>> provenance_tags() {
  return {{"S", "seen in the cited source"},
          {"S2", "from a secondary source citing it"},
          {"K", "general anatomical knowledge, not tied to one source (unverified)"},
          {"D", "derived or proposed for nervemap from the sources (not published as such)"}};
}

std::vector<std::string> methods_paragraphs(const PrintableReport::Content& c) {
  const auto& g = c.grades;
  return {
      "Nerves cannot be seen on CT. Each nerve course in this report was estimated from published anatomical "
      "relations to structures segmented on this CT, using the rule base version " +
          c.report.software.rules_version +
          " (one rule file per nerve; its sources are listed below). On every axial plane of constant "
          "patient "
          "z, sampled every 1 mm, the rule places a point relative to its landmark structures (for nerves "
          "that "
          "do not run cranio-caudally: waypoints between landmarks); the points are smoothed with a B-spline "
          "and resampled at 1 mm or less. A nerve whose landmarks are missing is reported as not estimated, "
          "with the reason, and never guessed.",
      "Uncertainty: every point carries a 95 % corridor radius r95 that combines the spread reported in the "
      "sources, the segmentation error of the landmarks, bridged gaps, and a cranio-caudal term for the neck "
      "extension at surgery (the CT is taken with the neck neutral). Anatomical variants (for example a "
      "non-recurrent right laryngeal nerve or an anterior vagus) are listed with their frequencies; the path "
      "shown is the most likely course, and the variants enter the probabilities.",
      "Distances are exact Euclidean distances in millimetres from the estimated nerve centre line to the "
      "surface of the tumour mask (GTVp and GTVn together, as voxel cells on the CT grid); 0 means the "
      "centre line runs inside the tumour. P(≤ X mm) is the probability that the true nerve lies within X mm "
      "of the tumour, from the corridor distribution and the variant mixture.",
      fmt::format(
          "Grades: contact if the distance is ≤ {:g} mm or the tumour abuts ≥ {:g}° of the corridor; "
          "high if the distance is ≤ r95 at the closest point; moderate if ≤ r95 + {:g} mm; low "
          "otherwise; none without a tumour. Colours: contact dark red, high red, moderate orange, low "
          "blue, none grey (the grade word is always printed as well).",
          g.contact_mm,
          g.encasement_contact_deg,
          g.moderate_margin_mm),
      fmt::format(
          "Images: axial planes through the nerve's closest point to the tumour, in radiological "
          "convention (viewed from the feet: the patient's right is on the image's left, anterior at "
          "the top), CT window {} (W {:g} / L {:g} HU). Structure outlines use the segmentation "
          "colours; the tumour is tinted and outlined; the yellow dot is the estimated nerve, the "
          "dashed yellow circle its 95 % corridor at that level, the white cross the closest tumour "
          "point (projected onto the plane when it lies slightly above or below it); blue circles mark "
          "other estimated nerves crossing the plane.",
          c.window.name,
          c.window.width_hu,
          c.window.level_hu),
      "Limits: the courses are estimates from population anatomy, mostly from small cadaver, ultrasound and "
      "surgical cohorts (see the sources and their cohorts); the patient's nerve may run elsewhere, "
      "especially where a bulky tumour, nodes, previous surgery or radiotherapy, or a goitre distort the "
      "anatomy. Errors in the segmentation of the landmarks or of the tumour move the estimate and the "
      "distances. The corridor describes the uncertainty of the rules, not of an individual patient. "
      "Distances are measured to the centre line; the nerve's own thickness is part of the corridor. This "
      "report does not replace the surgeon's judgement, identification of the nerve at surgery or "
      "intra-operative nerve monitoring."};
}

void build_content(PrintableReport::Content& c, const Report& report, const PrintInputs& in) {
  c.report = report;
  c.grades = in.grades;
  const PatientInfo& patient = report.patient;
  if (!patient.empty()) {
    if (!patient.name.empty())
      c.patient.emplace_back("Patient name", pn_display(patient.name));
    if (!patient.id.empty())
      c.patient.emplace_back("Patient ID", patient.id);
    if (!patient.study_date.empty())
      c.patient.emplace_back("Study date", date_display(patient.study_date));
    if (!patient.series_uid.empty())
      c.patient.emplace_back("Series UID", patient.series_uid);
    std::vector<std::string> parts;
    if (!patient.name.empty())
      parts.push_back(pn_display(patient.name));
    if (!patient.id.empty())
      parts.push_back("ID " + patient.id);
    if (!patient.study_date.empty())
      parts.push_back("study " + date_display(patient.study_date));
    c.footer_patient = fmt::format("{}", fmt::join(parts, " · "));
  } else {
    c.footer_patient = "patient identifiers: anonymised / not available";
  }
  const InputSummary& input = report.input;
  const SoftwareInfo& sw = report.software;
  c.study = {
      {"Input CT",
       fmt::format("{} — {} × {} × {} voxels, {:g} × {:g} × {:g} mm",
                   input.ct,
                   input.dims[0],
                   input.dims[1],
                   input.dims[2],
                   input.spacing_mm[0],
                   input.spacing_mm[1],
                   input.spacing_mm[2])},
      {"Report created", report.created + " (UTC)"},
      {"Software", "nervemap " + sw.version},
      {"Rule base", "version " + sw.rules_version},
      {"Models",
       sw.models.empty() ? "none (structures imported)" : fmt::format("{}", fmt::join(sw.models, ", "))},
      {"Coordinates", "LPS millimetres (DICOM patient coordinates)"}};
  for (const auto& t : report.tumours)
    c.tumours.push_back(fmt::format("{} ({}): {:.1f} ml, {} component{}",
                                    t.label,
                                    t.label == "GTVp" ? "primary" : "nodal",
                                    t.volume_ml,
                                    t.components,
                                    t.components == 1 ? "" : "s"));
  for (const auto& n : report.nerves)
    c.nerves.push_back(nerve_facts(n, in.rules));
  c.warnings = report.warnings;

  // Sections: every nerve graded contact, high or moderate, most severe and closest first. Without one, the
  // nearest assessed nerve is still shown so that the reader sees where the tumour lies relative to it.
  std::vector<size_t> at_risk;
  for (size_t i = 0; i < c.nerves.size(); ++i)
    if (c.nerves[i].estimated && c.nerves[i].assessed && grade_rank(c.nerves[i].grade) <= 2)
      at_risk.push_back(i);
  std::sort(at_risk.begin(), at_risk.end(), [&](size_t a, size_t b) {
    const auto &na = c.nerves[a], &nb = c.nerves[b];
    if (grade_rank(na.grade) != grade_rank(nb.grade))
      return grade_rank(na.grade) < grade_rank(nb.grade);
    return na.min_distance_mm < nb.min_distance_mm;
  });
  std::vector<std::pair<size_t, std::string>> chosen;
  for (size_t i : at_risk)
    chosen.emplace_back(i, "graded " + c.nerves[i].grade);
  if (chosen.empty()) {
    std::optional<size_t> nearest;
    for (size_t i = 0; i < c.nerves.size(); ++i)
      if (c.nerves[i].estimated && c.nerves[i].assessed &&
          (!nearest || c.nerves[i].min_distance_mm < c.nerves[*nearest].min_distance_mm))
        nearest = i;
    if (nearest) {
      chosen.emplace_back(*nearest, "nearest nerve to the tumour (graded " + c.nerves[*nearest].grade + ")");
      c.sections_note =
          "No nerve is graded contact, high or moderate; the nerve nearest to the tumour is shown.";
    } else {
      c.sections_note = report.tumours.empty()
                            ? "No tumour was given: distances and grades are not available."
                            : "No estimated nerve could be assessed against the tumour.";
    }
  } else {
    c.sections_note = "One section per nerve graded contact, high or moderate (most severe first).";
  }
  for (const auto& [i, why] : chosen) {
    NerveSection s;
    s.nerve = i;
    s.why = why;
    if (in.ct && !in.ct->data.empty() && c.nerves[i].closest_nerve_mm) {
      const auto& n = c.nerves[i];
      s.sample = slice::sample_axial(*in.ct, in.labels, section_view(n));
      std::optional<slice::AxialSample> off_plane;
      const double dz = n.closest_tumour_mm ? n.closest_tumour_mm->z() - n.closest_nerve_mm->z() : 0.0;
      if (std::abs(dz) >= kOffPlaneMm) {
        auto view = s.sample.view;
        view.z_mm = n.closest_tumour_mm->z();
        off_plane = slice::sample_axial(*in.ct, in.labels, view);
      }
      s.pixels = compose_slice(s.sample, c.window, off_plane ? &off_plane->labels : nullptr);
      s.legend = slice_legend(s.sample, s.sample.view.lps_to_image(*n.closest_nerve_mm), 14);
      if (off_plane && !n.closest_tumour.empty() &&
          (n.closest_tumour == "GTVp" || n.closest_tumour == "GTVn")) {
        const int id = n.closest_tumour == "GTVp" ? anatomy::kGtvpId : anatomy::kGtvnId;
        const Rgb rgb = anatomy::Catalogue::get().output_table().find(id)->rgb;
        s.legend.insert(
            s.legend.begin(),
            {fmt::format(
                 "{} {:.1f} mm {} (dashed)", n.closest_tumour, std::abs(dz), dz > 0 ? "cranial" : "caudal"),
             rgb,
             true,
             true});
      }
      s.crossings = crossings(c.nerves, i, s.sample.view, in.rules);
      s.has_image = true;
    }
    c.sections.push_back(std::move(s));
  }

  if (in.rules) {
    std::set<std::string> cited;
    for (const auto& n : c.nerves)
      cited.insert(n.sources.begin(), n.sources.end());
    for (const auto& [key, source] : in.rules->sources)
      c.sources.push_back({key, citation(source), cited.count(key) > 0});
  }
}

PrintableReport::PrintableReport(const Report& report, const PrintInputs& inputs)
    : content_(std::make_unique<Content>()) {
  build_content(*content_, report, inputs);
}
PrintableReport::~PrintableReport() = default;
PrintableReport::PrintableReport(PrintableReport&&) noexcept = default;
PrintableReport& PrintableReport::operator=(PrintableReport&&) noexcept = default;

std::vector<std::string> PrintableReport::section_nerve_ids() const {
  std::vector<std::string> ids;
  for (const auto& s : content_->sections)
    ids.push_back(content_->nerves[s.nerve].id);
  return ids;
}

} // namespace nervemap::report
