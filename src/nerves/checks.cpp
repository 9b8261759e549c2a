// Plausibility checks (design §4): the scan's slice spacing, contrast and field of view, and where an
// estimated course runs (through bone, airway or air, turning sharper than anatomy allows, split by gaps).
#include "anatomy/anatomy.h"
#include "nerves/internal_engine.h"

#include <cmath>
#include <fmt/format.h>

namespace nervemap::nerves::detail {

namespace {

//! Air is −1000 HU, fat about −100 HU and soft tissue 0–100 HU [K]: below −500 HU a point lies in air.
constexpr float kAirHu = -500;
//! Catalogue structures have ids 1–199 and tumours 201/202 (design §3): other labels below are unnamed
//! structures of the map.
constexpr int kStructureIdEnd = 200;
//! An extent ending within one 1 mm plane of the scan's end counts as covered.
constexpr double kFovToleranceMm = 1.0;

} // namespace

void Engine::check_fov(const NerveRule& rule, const std::string& side, double z_lo, double z_hi) {
  const auto [zmin, zmax] = lm_.scan_z_range();
  if (z_lo < zmin - kFovToleranceMm || z_hi > zmax + kFovToleranceMm)
    warnings_.add(
        fmt::format("{}_{}: the scan (z {:.0f} to {:.0f} mm) does not cover the nerve's extent ({:.0f} to "
                    "{:.0f} mm)",
                    rule.nerve,
                    side,
                    zmin,
                    zmax,
                    z_lo,
                    z_hi));
}

void Engine::check_sanity(const NervePath& nerve, const Fitted& f) {
  std::map<std::string, int> inside;
  int outside_body = 0;
  for (const auto& p : nerve.path_mm) {
    const int label = lm_.label_at(p);
    if (label) {
      const anatomy::Structure* s = anatomy::Catalogue::get().find(label);
      if (s && (s->group == "bone" || s->group == "airway"))
        ++inside[s->name];
      else if (!s && label < kStructureIdEnd)
        ++inside["label " + std::to_string(label)];
      if (s && s->group == "airway")
        continue;
    }
    if (auto hu = lm_.hu_at(p); hu && *hu < kAirHu)
      ++outside_body;
  }
  for (const auto& [name, count] : inside)
    warnings_.add(fmt::format(
        "{}: {} mm of the estimated course lies inside {}; check that segmentation", nerve.id, count, name));
  if (outside_body > 0)
    warnings_.add(fmt::format(
        "{}: {} mm of the estimated course lies in air outside the body", nerve.id, outside_body));
  if (f.min_radius_mm < opt_.min_radius_of_curvature_mm)
    warnings_.add(
        fmt::format("{}: the course turns with a {:.1f} mm radius (anatomy allows ≥ {:.0f} mm); its "
                    "waypoints demand it",
                    nerve.id,
                    f.min_radius_mm,
                    opt_.min_radius_of_curvature_mm));
  for (size_t s = 1; s < nerve.segments.size(); ++s)
    warnings_.add(fmt::format(
        "{}: gap of {:.0f} mm without landmarks; the course is split there",
        nerve.id,
        (nerve.path_mm[nerve.segments[s].first] - nerve.path_mm[nerve.segments[s - 1].second]).norm()));
}

void global_checks(Landmarks& lm, const CtVolume* ct, const RuleSettings& settings, Warnings& warnings) {
  // Slice thickness: the spacing along the voxel axis closest to the cranio-caudal direction.
  const Geometry& g = lm.geometry();
  int zaxis = 0;
  for (int a = 1; a < 3; ++a)
    if (std::abs(g.direction(2, a)) > std::abs(g.direction(2, zaxis)))
      zaxis = a;
  if (g.spacing[zaxis] > settings.max_slice_spacing_mm.value)
    warnings.add(fmt::format(
        "slices are {:.1f} mm apart (> {:g} mm): small landmarks (cricoid, hyoid, thyroid poles) and "
        "nerve levels are less certain",
        g.spacing[zaxis],
        settings.max_slice_spacing_mm.value));
  if (!ct)
    return;
  double sum = 0;
  int64_t n = 0;
  for (const char* name : {"common_carotid_artery_left",
                           "common_carotid_artery_right",
                           "internal_carotid_artery_left",
                           "internal_carotid_artery_right"}) {
    const int id = lm.id(name);
    const anatomy::LabelStatistics* st = lm.stats(name);
    if (!st)
      continue;
    for (int64_t k = st->index_min[2]; k <= st->index_max[2]; ++k)
      for (int64_t j = st->index_min[1]; j <= st->index_max[1]; ++j)
        for (int64_t i = st->index_min[0]; i <= st->index_max[0]; ++i)
          if (lm.labels().voxels.at(i, j, k) == id) {
            if (auto hu = lm.hu_at(g.index_to_lps(Vec3(double(i), double(j), double(k))))) {
              sum += *hu;
              ++n;
            }
          }
  }
  if (n > 0 && sum / double(n) < settings.contrast_min_hu.value)
    warnings.add(
        fmt::format("the carotid arteries are not contrast-enhanced (mean {:.0f} HU): vessel landmarks from "
                    "non-contrast CT are less reliable, widen the margins",
                    sum / double(n)));
}

} // namespace nervemap::nerves::detail
