// report.json read back into the typed Report (the inverse of to_json in document.cpp), for the outputs
// that render a finished case and for tools that read a report from disk.
#include "report/report.h"

#include <fmt/format.h>
#include <fstream>

namespace nervemap::report {

namespace {

using Json = nlohmann::json;

Vec3 point(const Json& j) {
  return {j.at(0).get<double>(), j.at(1).get<double>(), j.at(2).get<double>()};
}

std::vector<Vec3> points(const Json& j) {
  std::vector<Vec3> out;
  out.reserve(j.size());
  for (const auto& p : j)
    out.push_back(point(p));
  return out;
}

template <class T> std::vector<T> list(const Json& j) {
  return j.is_array() ? j.get<std::vector<T>>() : std::vector<T>{};
}

nerves::NervePath estimate(const Json& n) {
  nerves::NervePath e;
  e.id = n.at("id");
  e.nerve = n.at("nerve");
  e.side = n.at("side");
  e.estimated = n.at("status") == "estimated";
  e.reason = n.value("reason", "");
  e.path_mm = points(n.at("path_mm"));
  e.corridor_r95_mm = list<double>(n.at("corridor_r95_mm"));
  if (n.contains("segments"))
    for (const auto& s : n.at("segments"))
      e.segments.emplace_back(s.at(0).get<size_t>(), s.at(1).get<size_t>());
  for (const auto& s : n.at("skipped_levels"))
    e.skipped_levels.push_back({s.at("z_mm").get<double>(), s.at("reason").get<std::string>()});
  for (const auto& v : n.at("variants")) {
    nerves::VariantPath vp;
    vp.name = v.at("name");
    vp.probability = v.at("probability");
    vp.typical = v.value("typical", false);
    if (v.contains("path_mm"))
      vp.path_mm = points(v.at("path_mm"));
    if (v.contains("corridor_r95_mm"))
      vp.corridor_r95_mm = list<double>(v.at("corridor_r95_mm"));
    e.variants.push_back(std::move(vp));
  }
  e.sources = list<std::string>(n.at("sources"));
  if (n.contains("notes"))
    e.notes = list<std::string>(n.at("notes"));
  e.radius_mm = n.value("radius_mm", 0.0);
  return e;
}

risk::TumourDistance distance(const Json& j) {
  risk::TumourDistance d;
  d.min_distance_mm = j.at("min_distance_mm");
  d.closest_nerve = point(j.at("closest_point_nerve_mm"));
  d.closest_tumour = point(j.at("closest_point_tumour_mm"));
  return d;
}

risk::NerveRisk nerve_risk(const Json& n) {
  risk::NerveRisk r;
  r.id = n.at("id");
  if (n.at("risk").is_string())
    r.grade = n.at("risk");
  r.assessed = n.at("min_distance_mm").is_number();
  if (!r.assessed)
    return r;
  r.combined = distance(n);
  r.combined.profile_mm = list<double>(n.at("distance_profile_mm"));
  if (n.at("by_tumour").is_object())
    for (const auto& [label, t] : n.at("by_tumour").items())
      r.by_tumour[label] = distance(t);
  if (n.at("closest_tumour").is_string())
    r.closest_tumour = n.at("closest_tumour");
  r.inside_tumour = n.at("inside_tumour").is_boolean() && n.at("inside_tumour").get<bool>();
  r.length_inside_mm = n.at("length_inside_mm").is_number() ? n.at("length_inside_mm").get<double>() : 0.0;
  r.length_within_5mm = n.at("length_within_5mm_mm");
  r.length_within_10mm = n.at("length_within_10mm_mm");
  r.fraction_within_5mm = n.at("fraction_within_5mm");
  r.fraction_within_10mm = n.at("fraction_within_10mm");
  r.encasement_deg = n.at("encasement_deg");
  if (n.at("p_within_mm").is_object())
    for (const auto& [mm, p] : n.at("p_within_mm").items())
      r.p_within[std::stod(mm)] = p.get<double>();
  return r;
}

} // namespace

Report read_report(const Json& j) {
  if (const auto errors = schema_errors(j); !errors.empty())
    throw InputError(fmt::format("the report does not follow {} ({} problems), first: {}",
                                 kReportSchema,
                                 errors.size(),
                                 errors.front()));
  Report r;
  try {
    const auto& sw = j.at("software");
    r.software = {sw.at("version"), sw.at("rules_version"), list<std::string>(sw.at("models"))};
    r.created = j.at("created");
    const auto& p = j.at("patient");
    r.patient = {
        p.value("id", ""), p.value("name", ""), p.value("study_date", ""), p.value("series_uid", "")};
    const auto& in = j.at("input");
    r.input.ct = in.at("ct");
    for (size_t a = 0; a < 3; ++a) {
      r.input.dims[a] = in.at("dims").at(a).get<int64_t>();
      r.input.spacing_mm[Eigen::Index(a)] = in.at("spacing_mm").at(a).get<double>();
    }
    for (const auto& s : j.at("structures"))
      r.structures.push_back({s.at("name"), s.at("present"), s.at("volume_ml")});
    for (const auto& t : j.at("tumours"))
      r.tumours.push_back({t.at("label"), t.at("value"), t.at("volume_ml"), t.at("components")});
    for (const auto& n : j.at("nerves")) {
      NerveEntry e;
      e.estimate = estimate(n);
      if (n.at("length_mm").is_number())
        e.length_mm = n.at("length_mm").get<double>();
      e.risk = nerve_risk(n);
      r.nerves.push_back(std::move(e));
    }
    r.warnings = list<std::string>(j.at("warnings"));
  } catch (const Json::exception& e) {
    throw InputError(fmt::format("the report cannot be read: {}", e.what()));
  }
  return r;
}

Report read_report(const fs::path& report_json) {
  std::ifstream in(report_json);
  if (!in)
    throw InputError(fmt::format("cannot read {}", report_json.string()));
  const Json j = Json::parse(in, nullptr, false);
  if (j.is_discarded())
    throw InputError(fmt::format("{} is not valid JSON", report_json.string()));
  try {
    return read_report(j);
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: {}", report_json.string(), e.what()));
  }
}

} // namespace nervemap::report
