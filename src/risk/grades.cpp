#include "risk/risk.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace nervemap::risk {

namespace {

nlohmann::json point(const Vec3& p) {
  return {round_decimal(p.x(), 0.01), round_decimal(p.y(), 0.01), round_decimal(p.z(), 0.01)};
}

std::string mm_key(double x) {
  return std::abs(x - std::round(x)) < 1e-9 ? fmt::format("{}", int(std::round(x))) : fmt::format("{:g}", x);
}

} // namespace

GradeThresholds load_thresholds(const fs::path& file) {
  GradeThresholds t;
  try {
    YAML::Node n = YAML::LoadFile(file.string());
    t.contact_mm = n["contact_mm"].as<double>();
    t.encasement_contact_deg = n["encasement_contact_deg"].as<double>();
    t.moderate_margin_mm = n["moderate_margin_mm"].as<double>();
    t.p_within_mm = n["p_within_mm"].as<std::vector<double>>();
    t.abutment_mm = n["abutment_mm"].as<double>();
  } catch (const YAML::Exception& e) {
    throw InputError(fmt::format("risk grade configuration {} is invalid: {}", file.string(), e.what()));
  }
  if (t.p_within_mm.empty() || t.contact_mm < 0 || t.moderate_margin_mm < 0)
    throw InputError(fmt::format("risk grade configuration {} has invalid thresholds", file.string()));
  return t;
}

fs::path default_thresholds_path() {
  if (const char* env = std::getenv("NERVEMAP_RISK_CONFIG"); env && *env)
    return env;
#ifdef NERVEMAP_CONFIG_DIR
  return fs::path(NERVEMAP_CONFIG_DIR) / "risk_grades.yaml";
#else
  return "config/risk_grades.yaml";
#endif
}

void fill_json(nlohmann::json& j, const NerveRisk& r, const GradeThresholds&) {
  if (!r.assessed) {
    if (!r.grade.empty())
      j["risk"] = r.grade; // "none": estimated nerve, no tumour
    return;
  }
  j["min_distance_mm"] = round_decimal(r.combined.min_distance_mm, 0.01);
  j["inside_tumour"] = r.inside_tumour;
  j["length_inside_mm"] = round_decimal(r.length_inside_mm, 0.01);
  j["closest_point_nerve_mm"] = point(r.combined.closest_nerve);
  j["closest_point_tumour_mm"] = point(r.combined.closest_tumour);
  j["closest_tumour"] = r.closest_tumour;
  nlohmann::json by = nlohmann::json::object();
  for (const auto& [label, t] : r.by_tumour)
    by[label] = {{"min_distance_mm", round_decimal(t.min_distance_mm, 0.01)},
                 {"closest_point_nerve_mm", point(t.closest_nerve)},
                 {"closest_point_tumour_mm", point(t.closest_tumour)}};
  j["by_tumour"] = by;
  nlohmann::json profile = nlohmann::json::array();
  for (double d : r.combined.profile_mm)
    profile.push_back(round_decimal(d, 0.01));
  j["distance_profile_mm"] = profile;
  j["length_within_5mm_mm"] = round_decimal(r.length_within_5mm, 0.01);
  j["length_within_10mm_mm"] = round_decimal(r.length_within_10mm, 0.01);
  j["fraction_within_5mm"] = r.length_mm > 0 ? round_decimal(r.length_within_5mm / r.length_mm, 0.0001) : 0.0;
  j["fraction_within_10mm"] =
      r.length_mm > 0 ? round_decimal(r.length_within_10mm / r.length_mm, 0.0001) : 0.0;
  j["encasement_deg"] = round_decimal(r.encasement_deg, 0.1);
  j["risk"] = r.grade;
  nlohmann::json p = nlohmann::json::object();
  for (const auto& [x, prob] : r.p_within)
    p[mm_key(x)] = round_decimal(prob, 0.0001);
  j["p_within_mm"] = p;
}

} // namespace nervemap::risk
