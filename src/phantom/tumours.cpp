// Tumours placed beside the phantom's reference nerve courses: a lobulated sphere whose rasterised
// surface lies gap_mm from the nerve at mid-level, on the side with the least bone, airway and
// vessel in the way. It replaces only fat, muscle, gland, thyroid and mucosa.
#include "phantom/internal_blocks.h"

#include <cmath>
#include <fmt/format.h>
#include <numbers>
#include <unordered_set>

namespace nervemap::phantom::detail {

namespace {

//! Lobulated radius: a sphere with a few smooth bumps (mean radius ≈ R).
struct Lobulation {
  double radius = 10;
  std::vector<Vec3> dirs;
  std::vector<double> amp;
  static constexpr double kWidth = 0.3;
  double at(const Vec3& unit) const {
    // Mean of exp(-(1 - cos θ)/w) over the sphere is w (1 - e^{-2/w}) / 2.
    const double mean = kWidth * (1 - std::exp(-2 / kWidth)) / 2;
    double f = 1;
    for (size_t i = 0; i < dirs.size(); ++i)
      f += amp[i] * (std::exp(-(1 - unit.dot(dirs[i])) / kWidth) - mean);
    return radius * f;
  }
  double max_radius() const {
    double a = 0;
    for (double v : amp)
      a += v;
    return radius * (1 + a);
  }
};

struct Candidate {
  std::vector<size_t> voxels;
  double min_distance = 1e30;
};

std::vector<std::string> known_nerves(const Model& model) {
  std::vector<std::string> ids;
  for (const auto& [id, line] : model.nerves)
    ids.push_back(id);
  return ids;
}

} // namespace

MaskVolume place_tumours(const Model& model, const Options& options, Raster& raster, nlohmann::json& truth) {
  const Geometry& g = raster.ct.geometry;
  MaskVolume mask(g, 0);
  truth = nlohmann::json::array();
  const Mat3 m = g.direction * g.spacing.asDiagonal();
  const Mat3 m_inv = m.inverse();
  const double voxel_diag = g.spacing.norm();

  for (size_t t = 0; t < options.tumours.size(); ++t) {
    const TumourSpec& spec = options.tumours[t];
    auto found = model.nerves.find(spec.near_nerve);
    if (found == model.nerves.end())
      throw InputError(fmt::format("unknown nerve '{}' for a phantom tumour (known: {})",
                                   spec.near_nerve,
                                   fmt::join(known_nerves(model), ", ")));
    if (!(spec.gap_mm >= 0) || !(spec.radius_mm > 0))
      throw InputError(
          fmt::format("phantom tumour near {}: gap must be >= 0 and radius > 0 mm", spec.near_nerve));
    if (spec.hecktor_label != 1 && spec.hecktor_label != 2)
      throw InputError(
          fmt::format("phantom tumour label must be 1 (GTVp) or 2 (GTVn), not {}", spec.hecktor_label));
    const std::vector<Vec3>& nerve = found->second;

    // Mid-level point: middle (by arc length) of the part of the nerve inside the field of view.
    std::vector<size_t> inside;
    for (size_t i = 0; i < nerve.size(); ++i) {
      Vec3 ijk = m_inv * (nerve[i] - g.origin);
      bool in = true;
      for (int a = 0; a < 3; ++a)
        in = in && ijk[a] >= 2 && ijk[a] <= double(g.dims[a]) - 3;
      if (in)
        inside.push_back(i);
    }
    if (inside.empty())
      throw InputError(
          fmt::format("the reference course of {} lies outside the phantom's grid", spec.near_nerve));
    const size_t mid = inside[inside.size() / 2];
    const Vec3 p0 = nerve[mid];
    Vec3 tangent = (nerve[std::min(mid + 3, nerve.size() - 1)] - nerve[mid >= 3 ? mid - 3 : 0]).normalized();

    Rng rng(options.seed * 0x9E3779B97F4A7C15ull + 7919 * (t + 1));
    Lobulation lob;
    lob.radius = spec.radius_mm;
    for (int i = 0; i < 5; ++i) {
      lob.dirs.push_back(rng.unit_vector());
      lob.amp.push_back(rng.uniform(0.05, 0.13));
    }

    // Only the nerve near the tumour matters for distances.
    const double reach = 2.5 * lob.max_radius() + spec.gap_mm + 20;
    std::vector<Vec3> local;
    for (const auto& q : nerve)
      if ((q - p0).norm() < reach)
        local.push_back(q);
    // Voxels holding the nerve itself never become tumour when gap > 0.
    std::unordered_set<size_t> nerve_voxels;
    for (const auto& q : nerve) {
      Vec3 ijk = m_inv * (q - g.origin);
      int64_t i = std::llround(ijk.x()), j = std::llround(ijk.y()), k = std::llround(ijk.z());
      if (mask.contains(i, j, k))
        nerve_voxels.insert(mask.offset(i, j, k));
    }

    auto lookup = [&](const Vec3& p, size_t& offset) {
      Vec3 ijk = m_inv * (p - g.origin);
      int64_t i = std::llround(ijk.x()), j = std::llround(ijk.y()), k = std::llround(ijk.z());
      if (!mask.contains(i, j, k))
        return false;
      offset = mask.offset(i, j, k);
      return true;
    };

    // Direction: perpendicular to the nerve, scored by how much protected tissue (bone, cartilage,
    // airway, lung, vessels, cord, outside air) a tumour there would meet, preferring the
    // nerve's anatomical side.
    Vec3 pref = model.tumour_preference.count(spec.near_nerve) ? model.tumour_preference.at(spec.near_nerve)
                                                               : Vec3::UnitX();
    Vec3 e1 = pref - pref.dot(tangent) * tangent;
    if (e1.norm() < 1e-6)
      e1 = tangent.unitOrthogonal();
    e1.normalize();
    Vec3 e2 = tangent.cross(e1);
    Vec3 best_dir = e1;
    double best_score = 1e30;
    for (int a = 0; a < 24; ++a) {
      double ang = 2 * std::numbers::pi * a / 24;
      Vec3 d = std::cos(ang) * e1 + std::sin(ang) * e2;
      Vec3 c = p0 + d * (lob.at(-d) + spec.gap_mm);
      int total = 0, blocked = 0;
      const double step = 2.0, r = lob.radius;
      for (double x = -r; x <= r; x += step)
        for (double y = -r; y <= r; y += step)
          for (double z = -r; z <= r; z += step) {
            Vec3 u(x, y, z);
            if (u.norm() > r)
              continue;
            ++total;
            size_t o;
            if (!lookup(c + u, o) || !tumour_may_replace(Tissue(raster.tissue.data[o])))
              ++blocked;
          }
      double score = double(blocked) / std::max(1, total) + 0.12 * (1 - std::cos(ang));
      if (score < best_score)
        best_score = score, best_dir = d;
    }

    // Distance along the chosen direction, corrected until the rasterised surface sits at the gap.
    auto rasterise_at = [&](const Vec3& centre) {
      Candidate cand;
      double rmax = lob.max_radius() + 1;
      Vec3 lo = Vec3::Constant(1e30), hi = Vec3::Constant(-1e30);
      for (int c = 0; c < 8; ++c) {
        Vec3 corner = centre + Vec3((c & 1) ? rmax : -rmax, (c & 2) ? rmax : -rmax, (c & 4) ? rmax : -rmax);
        Vec3 ijk = m_inv * (corner - g.origin);
        lo = lo.cwiseMin(ijk);
        hi = hi.cwiseMax(ijk);
      }
      for (int64_t k = std::max<int64_t>(0, int64_t(lo.z()));
           k <= std::min<int64_t>(g.dims[2] - 1, int64_t(hi.z()) + 1);
           ++k)
        for (int64_t j = std::max<int64_t>(0, int64_t(lo.y()));
             j <= std::min<int64_t>(g.dims[1] - 1, int64_t(hi.y()) + 1);
             ++j)
          for (int64_t i = std::max<int64_t>(0, int64_t(lo.x()));
               i <= std::min<int64_t>(g.dims[0] - 1, int64_t(hi.x()) + 1);
               ++i) {
            Vec3 p = g.origin + m * Vec3(double(i), double(j), double(k));
            Vec3 u = p - centre;
            double len = u.norm();
            if (len > rmax || (len > 0 && len > lob.at(u / len)))
              continue;
            size_t o = mask.offset(i, j, k);
            if (!tumour_may_replace(Tissue(raster.tissue.data[o])))
              continue;
            if (spec.gap_mm > 0 && nerve_voxels.count(o))
              continue;
            cand.voxels.push_back(o);
            cand.min_distance = std::min(cand.min_distance, distance_to_polyline(p, local));
          }
      return cand;
    };
    double s = lob.at(-best_dir) + spec.gap_mm;
    Candidate cand = rasterise_at(p0 + best_dir * s);
    for (int iter = 0; iter < 10 && !cand.voxels.empty(); ++iter) {
      double err = spec.gap_mm - cand.min_distance;
      if (std::abs(err) < 0.15 * g.spacing.minCoeff())
        break;
      s += err;
      cand = rasterise_at(p0 + best_dir * s);
    }
    if (cand.voxels.empty())
      throw InputError(
          fmt::format("no room for a tumour near {} (radius {} mm)", spec.near_nerve, spec.radius_mm));
    const Vec3 centre = p0 + best_dir * s;

    // Paint: CT (with a necrotic centre in larger nodes), mask, and remove the voxels from the
    // structure labels.
    const bool necrotic = spec.hecktor_label == 2 && spec.radius_mm >= 9;
    for (size_t o : cand.voxels) {
      int64_t i = int64_t(o % size_t(g.dims[0])), j = int64_t((o / size_t(g.dims[0])) % size_t(g.dims[1])),
              k = int64_t(o / size_t(g.dims[0] * g.dims[1]));
      Vec3 p = g.origin + m * Vec3(double(i), double(j), double(k));
      Vec3 u = p - centre;
      double len = u.norm();
      bool core = necrotic && len < 0.4 * lob.at(len > 0 ? Vec3(u / len) : Vec3::UnitX());
      raster.ct.data[o] = hounsfield(core ? Tissue::necrosis : Tissue::tumour, 10);
      raster.tissue.data[o] = uint8_t(core ? Tissue::necrosis : Tissue::tumour);
      raster.labels.data[o] = 0;
      mask.data[o] = uint8_t(spec.hecktor_label);
    }
    nlohmann::json entry;
    entry["label"] = spec.hecktor_label == 1 ? "GTVp" : "GTVn";
    entry["hecktor_value"] = spec.hecktor_label;
    entry["near"] = spec.near_nerve;
    entry["gap_mm"] = spec.gap_mm;
    entry["radius_mm"] = spec.radius_mm;
    entry["centre_mm"] = {centre.x(), centre.y(), centre.z()};
    entry["nerve_point_mm"] = {p0.x(), p0.y(), p0.z()};
    entry["direction"] = {best_dir.x(), best_dir.y(), best_dir.z()};
    entry["voxels"] = cand.voxels.size();
    entry["volume_ml"] = double(cand.voxels.size()) * g.voxel_volume_mm3() / 1000.0;
    entry["measured_min_distance_mm"] = cand.min_distance;
    entry["distance_definition"] = "voxel centres of the tumour mask to the reference nerve polyline";
    (void)voxel_diag;
    truth.push_back(entry);
  }
  return mask;
}

} // namespace nervemap::phantom::detail
