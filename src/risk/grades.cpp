#include "risk/risk.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace nervemap::risk {

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

} // namespace nervemap::risk
