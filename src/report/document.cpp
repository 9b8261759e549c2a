// report.json (design §6): the typed report from the pipeline's data, and its one serializer. The rounding
// happens here, once, so that what every output shows is exactly what the file holds.
#include "report/report.h"

#include <chrono>
#include <cmath>
#include <ctime>
#include <fmt/format.h>
#include <fstream>

namespace nervemap::report {

namespace {

std::string utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The file's precision: positions and lengths to 0.01 mm (far below any CT voxel), probabilities and
// fractions to 1e-4, angles to 0.1°, volumes to 1 µl, spacing to 1e-4 mm.
constexpr double kMm = 0.01, kProbability = 0.0001, kDegrees = 0.1, kMl = 0.001, kSpacing = 1e-4;

Vec3 rounded(const Vec3& p) {
  return {round_decimal(p.x(), kMm), round_decimal(p.y(), kMm), round_decimal(p.z(), kMm)};
}
std::vector<Vec3> rounded(const std::vector<Vec3>& points) {
  std::vector<Vec3> out;
  out.reserve(points.size());
  for (const auto& p : points)
    out.push_back(rounded(p));
  return out;
}
std::vector<double> rounded(const std::vector<double>& values, double step) {
  std::vector<double> out;
  out.reserve(values.size());
  for (double v : values)
    out.push_back(round_decimal(v, step));
  return out;
}

nerves::NervePath rounded_estimate(nerves::NervePath n) {
  n.path_mm = rounded(n.path_mm);
  n.corridor_r95_mm = rounded(n.corridor_r95_mm, kMm);
  for (auto& s : n.skipped_levels)
    s.z_mm = round_decimal(s.z_mm, kMm);
  for (auto& v : n.variants) {
    v.probability = round_decimal(v.probability, kProbability);
    v.path_mm = rounded(v.path_mm);
    v.corridor_r95_mm = rounded(v.corridor_r95_mm, kMm);
  }
  return n;
}

risk::TumourDistance rounded_distance(const risk::TumourDistance& d, bool with_profile) {
  risk::TumourDistance out;
  out.min_distance_mm = round_decimal(d.min_distance_mm, kMm);
  out.closest_nerve = rounded(d.closest_nerve);
  out.closest_tumour = rounded(d.closest_tumour);
  if (with_profile)
    out.profile_mm = rounded(d.profile_mm, kMm);
  return out;
}

//! The risk fields report.json holds: a grade alone without a tumour, everything once assessed.
risk::NerveRisk rounded_risk(const risk::NerveRisk& r) {
  risk::NerveRisk out;
  out.id = r.id;
  out.grade = r.grade;
  out.assessed = r.assessed;
  if (!r.assessed)
    return out;
  out.combined = rounded_distance(r.combined, true);
  for (const auto& [label, d] : r.by_tumour)
    out.by_tumour[label] = rounded_distance(d, false);
  out.closest_tumour = r.closest_tumour;
  out.inside_tumour = r.inside_tumour;
  out.length_inside_mm = round_decimal(r.length_inside_mm, kMm);
  out.length_within_5mm = round_decimal(r.length_within_5mm, kMm);
  out.length_within_10mm = round_decimal(r.length_within_10mm, kMm);
  out.fraction_within_5mm = round_decimal(r.fraction_within_5mm, kProbability);
  out.fraction_within_10mm = round_decimal(r.fraction_within_10mm, kProbability);
  out.encasement_deg = round_decimal(r.encasement_deg, kDegrees);
  for (const auto& [mm, p] : r.p_within)
    out.p_within[mm] = round_decimal(p, kProbability);
  return out;
}

nlohmann::json point(const Vec3& p) {
  return {p.x(), p.y(), p.z()};
}
nlohmann::json points(const std::vector<Vec3>& path) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : path)
    out.push_back(point(p));
  return out;
}

nlohmann::json nerve_json(const NerveEntry& entry) {
  const nerves::NervePath& n = entry.estimate;
  nlohmann::json j;
  j["id"] = n.id;
  j["nerve"] = n.nerve;
  j["side"] = n.side;
  j["status"] = n.estimated ? "estimated" : "not_estimated";
  if (!n.estimated)
    j["reason"] = n.reason;
  j["path_mm"] = n.estimated ? points(n.path_mm) : nlohmann::json::array();
  j["corridor_r95_mm"] = n.estimated ? nlohmann::json(n.corridor_r95_mm) : nlohmann::json::array();
  nlohmann::json segments = nlohmann::json::array();
  for (const auto& [first, last] : n.segments)
    segments.push_back({first, last});
  j["segments"] = segments;
  nlohmann::json skipped = nlohmann::json::array();
  for (const auto& s : n.skipped_levels)
    skipped.push_back({{"z_mm", s.z_mm}, {"reason", s.reason}});
  j["skipped_levels"] = skipped;
  nlohmann::json variants = nlohmann::json::array();
  for (const auto& v : n.variants)
    variants.push_back({{"name", v.name},
                        {"probability", v.probability},
                        {"typical", v.typical},
                        {"path_mm", points(v.path_mm)},
                        {"corridor_r95_mm", v.corridor_r95_mm}});
  j["variants"] = variants;
  j["sources"] = n.sources;
  j["notes"] = n.notes;
  j["radius_mm"] = n.radius_mm;

  // Risk (design §5): null until assessed, for nerves that were not estimated and without a tumour.
  const risk::NerveRisk& r = entry.risk;
  for (const char* key : {"min_distance_mm",
                          "inside_tumour",
                          "length_inside_mm",
                          "closest_point_nerve_mm",
                          "closest_point_tumour_mm",
                          "closest_tumour",
                          "by_tumour",
                          "distance_profile_mm",
                          "length_within_5mm_mm",
                          "length_within_10mm_mm",
                          "fraction_within_5mm",
                          "fraction_within_10mm",
                          "encasement_deg",
                          "risk",
                          "p_within_mm"})
    j[key] = nullptr;
  j["length_mm"] = entry.length_mm ? nlohmann::json(*entry.length_mm) : nlohmann::json(nullptr);
  if (!r.grade.empty())
    j["risk"] = r.grade; // "none": estimated, no tumour
  if (!r.assessed)
    return j;
  j["min_distance_mm"] = r.combined.min_distance_mm;
  j["inside_tumour"] = r.inside_tumour;
  j["length_inside_mm"] = r.length_inside_mm;
  j["closest_point_nerve_mm"] = point(r.combined.closest_nerve);
  j["closest_point_tumour_mm"] = point(r.combined.closest_tumour);
  j["closest_tumour"] = r.closest_tumour;
  nlohmann::json by = nlohmann::json::object();
  for (const auto& [label, t] : r.by_tumour)
    by[label] = {{"min_distance_mm", t.min_distance_mm},
                 {"closest_point_nerve_mm", point(t.closest_nerve)},
                 {"closest_point_tumour_mm", point(t.closest_tumour)}};
  j["by_tumour"] = by;
  j["distance_profile_mm"] = r.combined.profile_mm;
  j["length_within_5mm_mm"] = r.length_within_5mm;
  j["length_within_10mm_mm"] = r.length_within_10mm;
  j["fraction_within_5mm"] = r.fraction_within_5mm;
  j["fraction_within_10mm"] = r.fraction_within_10mm;
  j["encasement_deg"] = r.encasement_deg;
  nlohmann::json p = nlohmann::json::object();
  for (const auto& [mm, prob] : r.p_within)
    p[p_within_key(mm)] = prob;
  j["p_within_mm"] = p;
  return j;
}

} // namespace

std::string p_within_key(double mm) {
  return std::abs(mm - std::round(mm)) < 1e-9 ? fmt::format("{}", int(std::round(mm)))
                                              : fmt::format("{:g}", mm);
}

Report build_report(const ReportInputs& in) {
  if (in.risks.size() != in.nerves.size())
    throw std::logic_error("build_report: one risk per nerve expected");
  Report r;
  r.software = {nervemap::version(), in.rules_version, in.models};
  r.created = utc_now();
  r.patient = in.patient;
  const Geometry& g = in.ct_geometry;
  r.input = {in.ct_name,
             g.dims,
             Vec3(round_decimal(g.spacing[0], kSpacing),
                  round_decimal(g.spacing[1], kSpacing),
                  round_decimal(g.spacing[2], kSpacing))};
  for (const auto& s : in.structures)
    r.structures.push_back({s.name, s.present(), round_decimal(s.volume_ml, kMl)});
  for (auto t : in.tumours) {
    t.volume_ml = round_decimal(t.volume_ml, kMl);
    r.tumours.push_back(std::move(t));
  }
  for (size_t i = 0; i < in.nerves.size(); ++i) {
    const auto& n = in.nerves[i];
    NerveEntry e;
    e.estimate = rounded_estimate(n);
    if (n.estimated)
      e.length_mm = round_decimal(n.length_mm(), kMm);
    e.risk = rounded_risk(in.risks[i]);
    r.nerves.push_back(std::move(e));
  }
  r.warnings = in.warnings;
  return r;
}

nlohmann::json to_json(const Report& r) {
  nlohmann::json j;
  j["schema"] = kReportSchema;
  j["coordinate_system"] = "LPS";
  j["software"] = {{"version", r.software.version},
                   {"rules_version", r.software.rules_version},
                   {"models", r.software.models}};
  j["created"] = r.created;
  nlohmann::json patient = nlohmann::json::object();
  if (!r.patient.empty())
    patient = {{"id", r.patient.id},
               {"name", r.patient.name},
               {"study_date", r.patient.study_date},
               {"series_uid", r.patient.series_uid}};
  j["patient"] = patient;
  const auto& in = r.input;
  j["input"] = {{"ct", in.ct},
                {"dims", {in.dims[0], in.dims[1], in.dims[2]}},
                {"spacing_mm", {in.spacing_mm[0], in.spacing_mm[1], in.spacing_mm[2]}}};
  nlohmann::json structures = nlohmann::json::array();
  for (const auto& s : r.structures)
    structures.push_back({{"name", s.name}, {"present", s.present}, {"volume_ml", s.volume_ml}});
  j["structures"] = structures;
  nlohmann::json tumours = nlohmann::json::array();
  for (const auto& t : r.tumours)
    tumours.push_back(
        {{"label", t.label}, {"value", t.value}, {"volume_ml", t.volume_ml}, {"components", t.components}});
  j["tumours"] = tumours;
  nlohmann::json nerves = nlohmann::json::array();
  for (const auto& n : r.nerves)
    nerves.push_back(nerve_json(n));
  j["nerves"] = nerves;
  j["warnings"] = r.warnings;
  return j;
}

void write_report(const fs::path& path, const Report& report) {
  const nlohmann::json document = to_json(report);
  validate_report(document);
  write_json(path, document);
}

void write_json(const fs::path& path, const nlohmann::json& document) {
  write_file_atomically(path, [&](const fs::path& tmp) {
    std::ofstream out(tmp);
    out << document.dump(1) << '\n';
    if (!out)
      throw InputError(fmt::format("cannot write {}", path.string()));
  });
}

} // namespace nervemap::report
