// Reference nerve courses of the neck model: phantom-author constructions from textbook anatomy,
// placed against the vessels, muscles and airway built before them. They are used only to place
// tumours and are recorded in truth.json; they are not the nerve rules.
#include "phantom/internal.h"

#include <cmath>

namespace nervemap::phantom::detail {

namespace {

constexpr double kVagusRadius = 1.3; // kept clear of both vessel walls in the carotid sheath

//! Point touching both vessels (radii + nerve radius) on the posterior side of the line between
//! their centres (circle–circle intersection in the axial plane).
Vec3 groove_point(const TubeNode& artery, const TubeNode& vein, double nerve_r) {
  Vec3 c = artery.centre, j = vein.centre;
  double z = c.z();
  Eigen::Vector2d a(c.x(), c.y()), b(j.x(), j.y());
  Eigen::Vector2d ab = b - a;
  double d = ab.norm();
  double ra = artery.a + nerve_r + 0.4;
  double rb = 0.5 * (vein.a + vein.b) + nerve_r + 0.4;
  Eigen::Vector2d u = ab / d;
  Eigen::Vector2d perp(-u.y(), u.x());
  if (perp.y() < 0)
    perp = -perp; // posterior
  Eigen::Vector2d p;
  if (d >= ra + rb) {
    double t = ra + 0.5 * (d - ra - rb);
    p = a + u * t + perp * nerve_r;
  } else {
    double x = (d * d + ra * ra - rb * rb) / (2 * d);
    double h = std::sqrt(std::max(0.0, ra * ra - x * x));
    p = a + u * x + perp * h;
  }
  return {p.x(), p.y(), z};
}

//! A smooth course through waypoints (Catmull–Rom, ~1 mm steps).
std::vector<Vec3> smooth(const std::vector<Vec3>& pts) {
  std::vector<TubeNode> n;
  for (const auto& p : pts)
    n.push_back({p, 1, 1, Vec3::UnitX()});
  return centres(spline(n, 1.0));
}

} // namespace

void NeckBuilder::reference_nerves() {
  for (int s : {-1, 1}) {
    vagus(s);
    recurrent_laryngeal(s);
    superior_laryngeal_external(s);
    accessory(s);
    phrenic(s);
    sympathetic_trunk(s);
    hypoglossal(s);
    tumour_preferences(s);
  }
}

void NeckBuilder::nerve(const std::string& id, const std::vector<Vec3>& canonical) {
  std::vector<Vec3> actual;
  for (const auto& p : resample(canonical, 0.5))
    actual.push_back(model_.warp.forward(p));
  model_.nerves[id] = resample(actual, 1.0);
}

void NeckBuilder::vagus(int s) {
  const int si = side_index(s);
  // Vagus: in the carotid sheath, in the posterior angle between the carotid (CCA/ICA) and the
  // IJV, touching both [K].
  std::vector<Vec3> vagus;
  for (double z = kFovTop; z >= -20; z -= 2) {
    auto c = node_at_z(carotid_[si], z);
    auto j = node_at_z(ijv_[si], z);
    if (!c || !j)
      continue;
    vagus.push_back(groove_point(*c, *j, kVagusRadius));
  }
  // Below the IJV: behind the brachiocephalic vein; the right crosses in front of the
  // subclavian artery, the left runs between the CCA and the subclavian artery [K].
  Vec3 last = vagus.back();
  vagus.push_back(Vec3(s * (std::abs(last.x()) - 4), last.y() + 1, -32));
  vagus.push_back(Vec3(s * (std::abs(last.x()) - 7), last.y() + 2, kFovBottom - 15));
  nerve(sided("vagus", s), vagus);
}

void NeckBuilder::recurrent_laryngeal(int s) {
  const int si = side_index(s);
  // Recurrent laryngeal: left from the arch up in the tracheo-oesophageal groove; right loops
  // under the subclavian artery and ascends obliquely (~25° to the sagittal plane, 6.5 mm
  // anterior and 7.3 mm lateral of the groove at C7: Ebraheim et al. 1997 Spine), joining the
  // groove ~44.5 mm below the laryngeal prominence (left ~77 mm) and entering the larynx
  // behind the cricothyroid joint [K; research notes RLN-3..RLN-5].
  std::vector<Vec3> rln;
  const double zl = cricoid_low();
  Vec3 entry(s * (0.5 * p_.trachea_cor + 4.5), y_airway(zl + 6) + 10, zl + 6);
  if (s > 0) {
    for (double z = kFovBottom - 15; z <= zl; z += 4)
      rln.push_back(tracheo_oesophageal_groove(s, z));
    rln.push_back(entry);
  } else if (!options_.aberrant_right_subclavian) {
    // Hooks under the subclavian artery where the vagus crosses it.
    const auto& sa = subclavian_[si];
    Vec3 hook = sa[sa.size() / 4].centre + Vec3(0, 2, -6);
    rln.push_back(hook);
    double z7 = vert("C7").mid();
    Vec3 c7 = tracheo_oesophageal_groove(s, z7) + Vec3(-7.3, -6.5, 0);
    Vec3 mid = 0.5 * (hook + c7);
    mid.z() = 0.5 * (hook.z() + z7);
    rln.push_back(mid);
    rln.push_back(c7);
    for (double z = z7 + 12; z <= zl; z += 4)
      rln.push_back(tracheo_oesophageal_groove(s, z));
    rln.push_back(entry);
  } else {
    // Non-recurrent inferior laryngeal nerve with an aberrant right subclavian artery: leaves
    // the vagus near the laryngotracheal junction and runs medially to the larynx (Henry et al.
    // 2017 PeerJ 5:e3012).
    Vec3 from = groove_point(*node_at_z(carotid_[si], zl + 10), *node_at_z(ijv_[si], zl + 10), kVagusRadius);
    rln.push_back(from);
    rln.push_back(0.5 * (from + entry) + Vec3(0, 2, -3));
    rln.push_back(entry);
  }
  nerve(sided("recurrent_laryngeal", s), smooth(rln));
}

void NeckBuilder::superior_laryngeal_external(int s) {
  const int si = side_index(s);
  // External branch of the superior laryngeal nerve: from medial to the ICA down on the inferior
  // constrictor to the cricothyroid, ~19.7 mm from the midline at the lower thyroid-cartilage
  // edge and ~18.4 mm at the cricoid top (Estrela et al. 2011 Braz J Otorhinolaryngol 77:249).
  const double zl = cricoid_low(), zh = hyoid_body_.z();
  Vec3 ica = node_at_z(carotid_[si], bifurcation_z(s) + 18)->centre;
  std::vector<Vec3> eb{ica + Vec3(-s * (p_.ica_r[si] + 3), 2, 0),
                       Vec3(s * 21, y_airway(zh) + 7, zh),
                       Vec3(s * 20.5, y_airway(thyroid_cartilage_top_) + 3, thyroid_cartilage_top_),
                       Vec3(s * 19.7, y_airway(zl + 10) - 2, zl + 10),
                       Vec3(s * 18.4, y_airway(zl + 6) - 6, zl + 6),
                       Vec3(s * 11, y_airway(zl + 4) - 11, zl + 4)};
  nerve(sided("superior_laryngeal_external", s), smooth(eb));
}

void NeckBuilder::accessory(int s) {
  const int si = side_index(s);
  // Spinal accessory: jugular foramen → anterior to the C1 transverse process, lateral to the
  // IJV → deep to the SCM → its posterior border ~1/3 down (Ellis et al. 2023 Folia Morphol) →
  // across the posterior triangle on the levator scapulae → trapezius ~6 cm above the clavicle
  // (Tubbs et al. 2005 J Neurosurg Spine 3:375) [K].
  auto ijv_c1 = node_at_z(ijv_[si], c1_mid())->centre;
  // Its exit: 0.35 of the way down from the top of the scan to the SCM's lowest knot (z = -38).
  double z_exit = kFovTop - 0.35 * (kFovTop + 38);
  auto scm = node_at_z(scm_[si], z_exit);
  Vec3 w = scm->width_dir.normalized();
  if (w.y() < 0)
    w = -w;
  Vec3 post_border = scm->centre + w * (scm->a + 1.5);
  std::vector<Vec3> san{ijv_c1 + Vec3(-s * 2, 4, 14),
                        ijv_c1 + Vec3(s * (p_.ijv_a[si] + 2), 2, 0),
                        node_at_z(scm_[si], 105)->centre + Vec3(-s * 9, 4, 0),
                        post_border,
                        Vec3(s * 56, y_body(45) + 34, 45),
                        Vec3(s * 64, y_body(22) + 44, 22)};
  nerve(sided("accessory", s), smooth(san));
}

void NeckBuilder::phrenic(int s) {
  const int si = side_index(s);
  // Phrenic: on the anterior surface of the anterior scalene from C4, crossing it from lateral
  // to medial, into the thorax between subclavian vein and artery [K; research notes PH-1].
  std::vector<Vec3> ph;
  double z0 = vert("C4").mid(), z1 = -26;
  for (double z = z0; z >= z1; z -= 4) {
    auto m = node_at_z(asm_[si], z);
    if (!m)
      continue;
    double t = (z0 - z) / (z0 - z1);
    ph.push_back(m->centre + Vec3(s * m->a * (0.6 - 1.2 * t), -(m->b + 1.2), 0));
  }
  nerve(sided("phrenic", s), smooth(ph));
}

void NeckBuilder::sympathetic_trunk(int s) {
  const int si = side_index(s);
  // Sympathetic trunk: on the longus muscles behind the carotid sheath, ~10.6 mm lateral of the
  // longus colli's medial border at C6 (Ebraheim 2000), converging caudally (Kiray et al. 2005
  // Clin Anat 18:179); superior ganglion at C2–C3, stellate at C7–T1 [K].
  std::vector<Vec3> st;
  for (double z = 118; z >= vert("T1").mid(); z -= 4) {
    auto m = node_at_z(prevert_[si], z);
    if (!m)
      continue;
    double medial = std::abs(m->centre.x()) - m->a;
    double lateral_offset = z > vert("C3").mid()
                                ? 17.2
                                : 12.4 + (z - vert("C7").mid()) / (vert("C3").mid() - vert("C7").mid()) * 4.8;
    lateral_offset = std::clamp(lateral_offset, 10.0, 17.2) * 0.75;
    st.push_back(Vec3(s * (medial + lateral_offset), m->centre.y() - m->b - 1.0, z));
  }
  nerve(sided("sympathetic_trunk", s), smooth(st));
}

void NeckBuilder::hypoglossal(int s) {
  const int si = side_index(s);
  // Hypoglossal: hypoglossal canal → between ICA and IJV → crosses lateral to the ICA ~30 mm and
  // the ECA ~15 mm above the bifurcation (Kariuki et al. 2018 CMTR 11:21) → forward ~12 mm above
  // the hyoid's greater horn (D'Souza et al. 2017) → tongue [K].
  const double zb = bifurcation_z(s), zh = hyoid_body_.z();
  auto ica30 = node_at_z(carotid_[si], zb + 30);
  auto eca15 = node_at_z(eca_[si], zb + 15);
  std::vector<Vec3> xii{Vec3(s * 14, y_body(c1_mid()) + 6, basion_z() + 4),
                        Vec3(s * 22, y_body(c1_mid()) + 4, c1_hi()),
                        ica30->centre + Vec3(s * (ica30->a + 2.5), -1.5, 0),
                        eca15 ? eca15->centre + Vec3(s * (eca15->a + 2.5), -1, 0)
                              : ica30->centre + Vec3(s * 3, -8, -15),
                        Vec3(s * 20, y_airway(zh) - 6, zh + 12),
                        Vec3(s * 13, -52, 98)};
  nerve(sided("hypoglossal", s), smooth(xii));
}

void NeckBuilder::tumour_preferences(int s) {
  // Tumour placement preferences: nodes lie away from bone and airway [K].
  Vec3 lat(s, 0, 0), ant(0, -1, 0), post(0, 1, 0);
  model_.tumour_preference[sided("vagus", s)] = (lat + ant).normalized();
  model_.tumour_preference[sided("recurrent_laryngeal", s)] = (lat + 0.5 * ant).normalized();
  model_.tumour_preference[sided("superior_laryngeal_external", s)] = (lat + ant).normalized();
  model_.tumour_preference[sided("accessory", s)] = (lat + post).normalized();
  model_.tumour_preference[sided("phrenic", s)] = (lat + ant).normalized();
  model_.tumour_preference[sided("sympathetic_trunk", s)] = (lat + 0.3 * ant).normalized();
  model_.tumour_preference[sided("hypoglossal", s)] = (lat + ant).normalized();
}

} // namespace nervemap::phantom::detail
