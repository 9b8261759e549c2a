// The report.json `nerves` entries (design §6). Risk fields stay null until the risk stage fills them.
#include "nerves/nerves.h"

#include <cmath>

namespace nervemap::nerves {

namespace {

nlohmann::json points(const std::vector<Vec3>& path) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : path)
    out.push_back({round_decimal(p.x(), 0.01), round_decimal(p.y(), 0.01), round_decimal(p.z(), 0.01)});
  return out;
}

nlohmann::json radii(const std::vector<double>& r) {
  nlohmann::json out = nlohmann::json::array();
  for (double v : r)
    out.push_back(round_decimal(v, 0.01));
  return out;
}

} // namespace

nlohmann::json to_json(const NervePath& n) {
  nlohmann::json j;
  j["id"] = n.id;
  j["nerve"] = n.nerve;
  j["side"] = n.side;
  j["status"] = n.estimated ? "estimated" : "not_estimated";
  if (!n.estimated)
    j["reason"] = n.reason;
  j["path_mm"] = n.estimated ? points(n.path_mm) : nlohmann::json::array();
  j["corridor_r95_mm"] = n.estimated ? radii(n.corridor_r95_mm) : nlohmann::json::array();
  nlohmann::json segments = nlohmann::json::array();
  for (const auto& [first, last] : n.segments)
    segments.push_back({first, last});
  j["segments"] = segments;
  nlohmann::json skipped = nlohmann::json::array();
  for (const auto& s : n.skipped_levels)
    skipped.push_back({{"z_mm", round_decimal(s.z_mm, 0.01)}, {"reason", s.reason}});
  j["skipped_levels"] = skipped;
  nlohmann::json variants = nlohmann::json::array();
  for (const auto& v : n.variants) {
    nlohmann::json e{
        {"name", v.name}, {"probability", round_decimal(v.probability, 0.0001)}, {"typical", v.typical}};
    e["path_mm"] = points(v.path_mm);
    e["corridor_r95_mm"] = radii(v.corridor_r95_mm);
    variants.push_back(e);
  }
  j["variants"] = variants;
  j["sources"] = n.sources;
  j["notes"] = n.notes;
  j["radius_mm"] = n.radius_mm;
  // Filled by the risk stage (design §5); null until then and for nerves that were not estimated.
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
  j["length_mm"] = n.estimated ? nlohmann::json(round_decimal(n.length_mm(), 0.01)) : nlohmann::json(nullptr);
  return j;
}

} // namespace nervemap::nerves
