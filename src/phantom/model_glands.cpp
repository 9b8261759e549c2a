// Glands of the neck model: parotid, submandibular and the thyroid (lobes and isthmus). The lobes'
// ellipsoids are kept for the superior-pole landmarks.
#include "phantom/internal.h"

#include <cmath>

namespace nervemap::phantom::detail {

void NeckBuilder::glands() {
  std::vector<ShapePtr> thyroid_parts;
  for (int s : {-1, 1}) {
    salivary_glands(s);
    thyroid_parts.push_back(thyroid_lobe(s));
  }
  thyroid_parts.push_back(thyroid_isthmus());
  // The trachea (with a little room) is cut out of the gland, leaving its medial surface concave.
  std::vector<TubeNode> trachea_cut;
  for (double z = -20; z <= 80; z += 5)
    trachea_cut.push_back(
        {Vec3(0, y_airway(z), z), 0.5 * p_.trachea_cor + 1.2, 0.5 * p_.trachea_sag + 1.2, Vec3::UnitX()});
  add("thyroid_gland", Tissue::thyroid, subtract(unite(thyroid_parts), tube(spline(trachea_cut))), p_.hu(11));
}

void NeckBuilder::salivary_glands(int s) {
  // Parotid: behind and over the mandibular ramus, in front of the mastoid/SCM, ~15–30 ml [K].
  add(sided("parotid_gland", s),
      Tissue::parotid,
      ellipsoid(Vec3(s * 47, -8 + p_.jitter(1), 126), Vec3(11.5, 16, 24), rotation_x(-0.15)),
      p_.hu(9));
  // Submandibular gland below the posterior mandibular body, ~7–10 ml [K].
  add(sided("submandibular_gland", s),
      Tissue::submandibular,
      ellipsoid(Vec3(s * 31, -40 + p_.jitter(2), 95), Vec3(11, 14, 10), rotation_z(s * 0.4)),
      p_.hu(10));
}

ShapePtr NeckBuilder::thyroid_lobe(int s) {
  const int si = side_index(s);
  // Thyroid lobe beside the trachea and lower larynx, upper pole at the thyroid cartilage's
  // oblique line (C5), lower pole at ~C7–T1; upper pole tilted lateral and back [K; sizes drawn in
  // model_parameters.cpp].
  double zc = 0.5 * (vert("C5").mid() + vert("C5").lo) + 4 - 0.5 * p_.lobe_len[si];
  zc = std::max(zc, 0.5 * p_.lobe_len[si] + 1.0);
  double a = 0.5 * p_.lobe_width[si], b = 0.5 * p_.lobe_depth[si], c = 0.5 * p_.lobe_len[si];
  // Beside the trachea, its medial surface against the trachea and cricoid (the trachea, subtracted
  // in glands(), leaves it concave), reaching back toward the tracheo-oesophageal groove; the upper
  // pole leans laterally onto the outer surface of the thyroid cartilage lamina at the oblique line,
  // lateral to the inferior constrictor [K: Gray's Anatomy, thyroid gland relations].
  Vec3 centre(s * (0.5 * p_.trachea_cor + 0.85 * a), y_airway(zc) + 0.5, zc);
  Mat3 axes = rotation_y(s * 12 * kDeg) * rotation_x(-10 * kDeg);
  lobes_[si] = {centre, Vec3(a, b, c), axes};
  return ellipsoid(centre, Vec3(a, b, c), axes);
}

ShapePtr NeckBuilder::thyroid_isthmus() const {
  // The isthmus joins the lobes in front of tracheal rings 2–4 (Hegedüs 2001): an arc over the
  // front half of the trachea (±60° about the anterior midline).
  double z_isthmus = cricoid_low() - 14;
  std::vector<TubeNode> arc;
  double r = 0.5 * p_.trachea_sag + 0.5 * p_.isthmus_mm + 0.8;
  for (int k = -4; k <= 4; ++k) {
    double ang = (90 + k * 15) * kDeg;
    Vec3 c(std::cos(ang) * (0.5 * p_.trachea_cor + 0.5 * p_.isthmus_mm + 0.8),
           y_airway(z_isthmus) - std::sin(ang) * r,
           z_isthmus);
    arc.push_back({c, 6.5, 0.5 * p_.isthmus_mm, Vec3::UnitZ()});
  }
  return tube(spline(arc));
}

} // namespace nervemap::phantom::detail
