// Levels: the z of a level from its landmarks (a structure's extent or a named level, design §4), and
// level profiles, values interpolated between levels.
#include "nerves/internal_engine.h"

#include <algorithm>
#include <fmt/format.h>

namespace nervemap::nerves::detail {

std::optional<double> Landmarks::level_z(const Level& level, const std::string& side, std::string& why) {
  const double offset = level.offset_mm.value;
  switch (level.kind) {
  case LevelKind::top:
    if (auto r = structure_range(level, side, why))
      return r->second + offset;
    return std::nullopt;
  case LevelKind::bottom:
    if (auto r = structure_range(level, side, why))
      return r->first + offset;
    return std::nullopt;
  case LevelKind::middle:
    if (auto r = structure_range(level, side, why))
      return 0.5 * (r->second + r->first) + offset;
    return std::nullopt;
  case LevelKind::fraction:
    if (auto r = structure_range(level, side, why))
      return r->second - level.fraction.value * (r->second - r->first) + offset;
    return std::nullopt;
  case LevelKind::thoracic_inlet:
    return thoracic_inlet_z(why) + offset;
  case LevelKind::carotid_bifurcation:
    if (auto z = carotid_bifurcation_z(side, why))
      return *z + offset;
    return std::nullopt;
  case LevelKind::laryngeal_prominence: {
    auto p = laryngeal_prominence();
    if (!p) {
      why = "thyroid_cartilage absent";
      return std::nullopt;
    }
    return p->z() + offset;
  }
  }
  return std::nullopt;
}

std::optional<std::pair<double, double>>
Landmarks::structure_range(const Level& level, const std::string& side, std::string& why) {
  const std::string name = resolve_side(level.structure, side);
  const anatomy::LabelStatistics* s = stats(name);
  if (!s) {
    why = fmt::format("{} absent", name);
    return std::nullopt;
  }
  if (!level.part)
    return std::make_pair(s->lps_min.z(), s->lps_max.z());
  // Only the front or back quarter of the structure's anteroposterior extent, e.g. the cricoid arch,
  // whose upper border is far lower in front than the lamina behind.
  const std::string key = fmt::format("{}/{}", name, to_string(*level.part));
  auto it = part_ranges_.find(key);
  if (it == part_ranges_.end()) {
    const int label = id(name);
    const bool anterior = *level.part == Part::anterior;
    const double y_mid = anterior ? s->lps_min.y() + 0.25 * (s->lps_max.y() - s->lps_min.y())
                                  : s->lps_max.y() - 0.25 * (s->lps_max.y() - s->lps_min.y());
    double lo = 1e300, hi = -1e300;
    const Geometry& g = geometry();
    for (int64_t k = s->index_min[2]; k <= s->index_max[2]; ++k)
      for (int64_t j = s->index_min[1]; j <= s->index_max[1]; ++j)
        for (int64_t i = s->index_min[0]; i <= s->index_max[0]; ++i)
          if (labels_.voxels.at(i, j, k) == label) {
            const Vec3 p = g.index_to_lps(Vec3(double(i), double(j), double(k)));
            if (anterior ? p.y() <= y_mid : p.y() >= y_mid) {
              lo = std::min(lo, p.z());
              hi = std::max(hi, p.z());
            }
          }
    it = part_ranges_.emplace(key, std::make_pair(lo, hi)).first;
  }
  return it->second;
}

double Landmarks::thoracic_inlet_z(std::string& why) const {
  // Design §4: the cranial end of T1; else the cranial end of the clavicles; else the scan's end.
  if (const anatomy::LabelStatistics* t1 = stats("vertebrae_T1"))
    return t1->lps_max.z();
  double clav = -1e300;
  for (const char* name : {"clavicula_left", "clavicula_right"})
    if (const anatomy::LabelStatistics* c = stats(name))
      clav = std::max(clav, c->lps_max.z());
  if (clav > -1e299) {
    why = "vertebrae_T1 absent: thoracic inlet taken at the cranial end of the clavicles";
    return clav;
  }
  why = "vertebrae_T1 and clavicles absent: thoracic inlet taken at the caudal end of the scan";
  return scan_z_range().first;
}

std::optional<double> Landmarks::carotid_bifurcation_z(const std::string& side, std::string& why) const {
  const anatomy::LabelStatistics* ica = stats("internal_carotid_artery_" + side);
  const anatomy::LabelStatistics* cca = stats("common_carotid_artery_" + side);
  if (ica && cca)
    return 0.5 * (ica->lps_min.z() + cca->lps_max.z());
  if (ica)
    return ica->lps_min.z();
  if (cca)
    return cca->lps_max.z();
  why = fmt::format("internal_carotid_artery_{0} and common_carotid_artery_{0} absent", side);
  return std::nullopt;
}

std::optional<Vec3> Landmarks::laryngeal_prominence() {
  if (!prominence_)
    prominence_ = find_laryngeal_prominence();
  return *prominence_;
}

std::optional<Vec3> Landmarks::find_laryngeal_prominence() {
  // The prominence is the upper end of the thyroid cartilage's anterior angle: among the voxels within
  // 2 mm of the most anterior one, the most cranial (a flat-fronted angle must not average downward).
  const anatomy::LabelStatistics* st = stats("thyroid_cartilage");
  if (!st)
    return std::nullopt;
  const int label = id("thyroid_cartilage");
  const Geometry& g = geometry();
  std::vector<Vec3> points;
  double y_min = 1e300;
  for (int64_t k = st->index_min[2]; k <= st->index_max[2]; ++k)
    for (int64_t j = st->index_min[1]; j <= st->index_max[1]; ++j)
      for (int64_t i = st->index_min[0]; i <= st->index_max[0]; ++i)
        if (labels_.voxels.at(i, j, k) == label) {
          points.push_back(g.index_to_lps(Vec3(double(i), double(j), double(k))));
          y_min = std::min(y_min, points.back().y());
        }
  double z_max = -1e300;
  for (const auto& p : points)
    if (p.y() <= y_min + 2.0)
      z_max = std::max(z_max, p.z());
  Vec3 sum = Vec3::Zero();
  int n = 0;
  for (const auto& p : points)
    if (p.y() <= y_min + 2.0 && p.z() >= z_max - 0.5 * g.spacing.maxCoeff()) {
      sum += p;
      ++n;
    }
  return sum / double(n);
}

std::optional<double>
Engine::level(const Level& l, const std::string& side, std::vector<std::string>* notes) {
  // A level found through a fallback (the thoracic inlet without T1) is also a warning (design §4).
  std::string why;
  auto z = lm_.level_z(l, side, why);
  if (!why.empty() && notes)
    notes->push_back(why);
  if (z && !why.empty())
    warnings_.add(why);
  return z;
}

const std::vector<std::pair<double, double>>& Engine::resolved(const LevelProfile& prof,
                                                               const std::string& side) {
  // The points in the rule's listed order, forced monotonic in z with steps of at least
  // level_profile_min_step_mm: when two sources disagree about which level is higher, the later point is
  // moved, not reordered.
  auto key = std::make_pair(&prof, side);
  if (auto it = profiles_.find(key); it != profiles_.end())
    return it->second;
  std::vector<std::pair<double, double>> pts;
  for (const auto& [lv, q] : prof.points)
    if (auto lz = level(lv, side))
      pts.emplace_back(*lz, q.value);
  if (pts.size() >= 2) {
    const double dir = pts.back().first >= pts.front().first ? 1.0 : -1.0;
    const double min_step = rules_.settings.level_profile_min_step_mm.value;
    for (size_t i = 1; i < pts.size(); ++i)
      if ((pts[i].first - pts[i - 1].first) * dir < min_step)
        pts[i].first = pts[i - 1].first + dir * min_step;
    std::sort(pts.begin(), pts.end());
  }
  return profiles_.emplace(key, std::move(pts)).first->second;
}

std::optional<double> Engine::profile_value(const LevelProfile& prof, const std::string& side, double z) {
  const auto& pts = resolved(prof, side);
  if (pts.empty())
    return std::nullopt;
  if (z <= pts.front().first)
    return pts.front().second;
  if (z >= pts.back().first)
    return pts.back().second;
  for (size_t i = 1; i < pts.size(); ++i)
    if (z <= pts[i].first) {
      const double dz = pts[i].first - pts[i - 1].first;
      const double f = dz > 1e-9 ? (z - pts[i - 1].first) / dz : 0.0;
      return pts[i - 1].second + f * (pts[i].second - pts[i - 1].second);
    }
  return pts.back().second;
}

} // namespace nervemap::nerves::detail
