// Vessels of the neck model: carotids (common, internal, external), internal jugular,
// brachiocephalic and subclavian veins, brachiocephalic trunk, subclavian and vertebral arteries.
// The carotid, IJV, ECA and subclavian centrelines are kept for the nerves placed along them.
#include "phantom/internal.h"

#include <cmath>

namespace nervemap::phantom::detail {

namespace {

TubeNode round_node(const Vec3& centre, double radius) {
  return TubeNode{centre, radius, radius, Vec3::UnitX()};
}

} // namespace

Vec3 NeckBuilder::bct_top() const {
  // The brachiocephalic trunk divides behind the right sternoclavicular joint [K].
  return Vec3(-14, y_airway(-28) - 1, -28);
}

double NeckBuilder::bifurcation_z(int s) const {
  // Relative to the C3/C4 disc, clamped to C3–C5 (the draws and their sources: model_parameters.cpp).
  double disc = 0.5 * (vert("C3").lo + vert("C4").hi);
  double right = disc + p_.bif_right_offset;
  double z = s > 0 ? right + p_.bif_left_minus_right : right;
  return std::clamp(z, vert("C5").lo + 3, vert("C3").hi - 3);
}

std::vector<TubeNode> NeckBuilder::carotid_nodes(int s) const {
  const int si = side_index(s);
  const double zb = bifurcation_z(s);
  // Distance from the midline: CCA ~25 mm at C5–C6 (posterolateral to the thyroid lobe, medial
  // to the IJV), converging toward the inlet; ICA rising posteromedially to the carotid canal [K;
  // positions consistent with the vagus ~34.5 mm from the midline at C5, Hammer 2018 Sci Rep 8].
  struct K {
    double z, x, dy; // dy relative to the front of the spine
  };
  std::vector<K> knots{{-70, 12, -22},
                       {-40, 14, -22},
                       {-20, 17, -21},
                       {0, 20, -18},
                       {20, 23, -14},
                       {40, 25, -11.5},
                       {60, 26, -10},
                       {zb, 26.5, -9}};
  std::vector<TubeNode> n;
  const Wander& w = p_.wander[si];
  double r_cca = p_.cca_r[si], r_ica = p_.ica_r[si];
  double z_start = -75;
  if (s < 0 && !options_.aberrant_right_subclavian)
    z_start = -30; // the right CCA arises from the brachiocephalic trunk
  for (const auto& k : knots) {
    if (k.z < z_start - 5)
      continue;
    if (k.z > zb + 1e-9)
      continue;
    Vec3 c(s * (k.x + 0.6 * p_.jitter(3 + si)), y_spine_front(k.z) + k.dy, k.z);
    c += w.at(k.z) * smoothstep(-30, 0, k.z); // the wander fades out below the inlet
    n.push_back({c, r_cca, r_cca, Vec3::UnitX()});
  }
  if (s < 0 && !options_.aberrant_right_subclavian)
    n.insert(n.begin(), TubeNode{bct_top(), r_cca, r_cca, Vec3::UnitX()});
  // Carotid bulb just below the bifurcation [K].
  n.back().a = n.back().b = r_cca * 1.15;
  const double top = kFovTop + 12;
  std::vector<K> up{{zb + 6, 27, -7},
                    {zb + 20, 27.5, -5},
                    {112, 27, -5},
                    {c1_mid(), 26.5, -4},
                    {basion_z() + 5, 27, -1},
                    {top, 27.5, 0}};
  for (const auto& k : up) {
    if (k.z <= zb + 3)
      continue;
    Vec3 c(s * (k.x + 0.6 * p_.jitter(3 + si)), y_spine_front(std::min(k.z, c1_mid())) + k.dy, k.z);
    c += w.at(k.z);
    n.push_back({c, r_ica, r_ica, Vec3::UnitX()});
  }
  return spline(n, 2.0);
}

std::vector<TubeNode> NeckBuilder::ijv_nodes(int s, const std::vector<TubeNode>& carotid) const {
  const int si = side_index(s);
  // IJV lateral and slightly anterior to the CCA low in the neck, posterolateral to the ICA high
  // up, leaving the skull through the jugular foramen behind the carotid canal [K].
  std::vector<TubeNode> n;
  double a = p_.ijv_a[si], b = a * p_.ijv_flat[si];
  for (double z = -26; z <= kFovTop + 12; z += 4) {
    auto c = node_at_z(carotid, z);
    if (!c)
      continue;
    double dy = z < 40 ? -3.5 : z < 80 ? -3.5 + (z - 40) * 0.06 : z < 125 ? -1.1 + (z - 80) * 0.17 : 6.5;
    double aa = a, bb = b;
    if (z > c1_mid())
      aa *= 0.75, bb *= 0.85; // narrower at the jugular foramen
    double x = std::abs(c->centre.x()) + c->a + p_.ijv_gap[si] + aa;
    // The IJV lies deep to the SCM: keep room for the subcutaneous fat and the muscle (~9 mm)
    // lateral to it; a tight neck makes the vein flatter rather than superficial.
    if (z > 0 && z < c1_mid()) {
      double room = skin_x(z, c->centre.y() + dy) - p_.fat_mm - 10.0;
      if (x + aa > room) {
        double excess = x + aa - room;
        double shrink = std::min(excess, 0.4 * aa);
        aa -= shrink;
        x -= shrink;
      }
    }
    if (z > c1_mid())
      x = std::max(x, 34.0);
    Vec3 centre(s * x, c->centre.y() + dy, z);
    n.push_back({centre, aa, bb, Vec3::UnitX()});
  }
  return spline(n, 2.0);
}

void NeckBuilder::veins() {
  for (int s : {-1, 1}) {
    const int si = side_index(s);
    carotid_[si] = carotid_nodes(s);
    ijv_[si] = ijv_nodes(s, carotid_[si]);
    add(sided("internal_jugular_vein", s), Tissue::vein, tube(ijv_[si]), p_.hu(16));
    // Brachiocephalic veins: the right descends vertically, the left crosses obliquely in front
    // of the arch branches [K].
    Vec3 low = ijv_[si].front().centre;
    std::vector<TubeNode> bcv{{low + Vec3(-s * 2, -2, 2), p_.ijv_a[si], p_.ijv_a[si] * 0.8, Vec3::UnitX()}};
    if (s < 0) {
      bcv.push_back({Vec3(-20, -30, -45), 8, 7, Vec3::UnitX()});
      bcv.push_back({Vec3(-18, -32, -80), 9, 8, Vec3::UnitX()});
    } else {
      bcv.push_back({Vec3(18, -36, -42), 7, 6, Vec3::UnitX()});
      bcv.push_back({Vec3(0, -42, -55), 6.5, 5.5, Vec3::UnitX()});
      bcv.push_back({Vec3(-16, -36, -66), 7, 6, Vec3::UnitX()});
    }
    add(sided("brachiocephalic_vein", s), Tissue::vein, tube(spline(bcv)), p_.hu(17));
    // Subclavian vein in front of the anterior scalene, under the clavicle (unlabelled) [K].
    std::vector<TubeNode> sv{{low + Vec3(-s * 2, -2, 0), 5, 5, Vec3::UnitX()},
                             {Vec3(s * 48, -38, -30), 5.5, 5, Vec3::UnitX()},
                             {Vec3(s * 75, -42, -36), 5.5, 5, Vec3::UnitX()},
                             {Vec3(s * 130, -34, -46), 6, 5, Vec3::UnitX()}};
    add("", Tissue::vein, tube(spline(sv)));
  }
}

void NeckBuilder::arteries() {
  if (!options_.aberrant_right_subclavian)
    brachiocephalic_trunk();
  for (int s : {-1, 1})
    carotid_arteries(s);
  for (int s : {-1, 1}) {
    subclavian_artery(s);
    vertebral_artery(s);
  }
}

void NeckBuilder::brachiocephalic_trunk() {
  // Brachiocephalic trunk from the arch up and to the right, dividing behind the right
  // sternoclavicular joint (~T2 level) [K].
  std::vector<TubeNode> bct{{Vec3(-1, y_airway(-80) - 10, -80), 6, 6, Vec3::UnitX()},
                            {Vec3(-6, y_airway(-50) - 6, -50), 6, 6, Vec3::UnitX()},
                            {bct_top(), 5.5, 5.5, Vec3::UnitX()}};
  add("brachiocephalic_trunk", Tissue::artery, tube(spline(bct)), p_.hu(18));
}

void NeckBuilder::carotid_arteries(int s) {
  // Carotids (computed in veins()); the ICA continues into the carotid canal.
  const int si = side_index(s);
  std::vector<TubeNode> cca, ica;
  double zb = bifurcation_z(s);
  for (const auto& n : carotid_[si])
    (n.centre.z() <= zb ? cca : ica).push_back(n);
  if (!ica.empty())
    cca.push_back(ica.front());
  add(sided("common_carotid_artery", s), Tissue::artery, tube(cca), p_.hu(19));
  add(sided("internal_carotid_artery", s), Tissue::artery, tube(ica), p_.hu(19));
  bifurcation_[si] = cca.back().centre;
  // External carotid (unlabelled): anteromedial at its origin, then up into the parotid behind
  // the ramus [K].
  Vec3 b = bifurcation_[si];
  std::vector<TubeNode> eca{{b, 2.6, 2.6, Vec3::UnitX()},
                            {b + Vec3(-s * 3, -6, 8), 2.4, 2.4, Vec3::UnitX()},
                            {b + Vec3(s * 1, -9, 25), 2.2, 2.2, Vec3::UnitX()},
                            {Vec3(s * 39, -14, c1_mid()), 2.0, 2.0, Vec3::UnitX()},
                            {Vec3(s * 40, -10, kFovTop + 10), 2.0, 2.0, Vec3::UnitX()}};
  eca_[si] = spline(eca);
  add("", Tissue::artery, tube(eca_[si]));
}

void NeckBuilder::subclavian_artery(int s) {
  // Subclavian arteries arch over the lung apex and first rib, behind the anterior scalene [K].
  std::vector<TubeNode> sa;
  if (s > 0) {
    sa.push_back(round_node(Vec3(15, y_oesophagus(-80) + 2, -80), 5));
    sa.push_back(round_node(Vec3(18, y_oesophagus(-40), -40), 5));
    sa.push_back(round_node(Vec3(24, -10, -18), 4.6));
  } else if (!options_.aberrant_right_subclavian) {
    sa.push_back(round_node(bct_top(), 4.8));
    sa.push_back(round_node(Vec3(-24, -16, -19), 4.6));
  } else {
    // Aberrant right subclavian (arteria lusoria): last branch of the arch, crossing behind the
    // oesophagus from left to right (Polguj et al. 2014 Biomed Res Int 292734: retro-oesophageal
    // in ~80 %).
    double yr = y_spine_front(-45) - 5.5;
    sa.push_back(round_node(Vec3(10, yr, -80), 5));
    sa.push_back(round_node(Vec3(5, yr, -50), 5));
    sa.push_back(round_node(Vec3(-6, y_spine_front(-35) - 5.5, -35), 4.8));
    sa.push_back(round_node(Vec3(-18, y_spine_front(-25) - 6.5, -25), 4.7));
    sa.push_back(round_node(Vec3(-26, -10, -17), 4.6));
  }
  sa.push_back(round_node(Vec3(s * 36, -9, -11), 4.5));
  sa.push_back(round_node(Vec3(s * 46, -9, -13), 4.4));
  sa.push_back(round_node(Vec3(s * 58, -12, -21), 4.3));
  sa.push_back(round_node(Vec3(s * 72, -16, -30), 4.2));
  sa.push_back(round_node(Vec3(s * 100, -22, -40), 4.2));
  sa.push_back(round_node(Vec3(s * 135, -24, -50), 4.2));
  const int si = side_index(s);
  subclavian_[si] = spline(sa);
  add(sided("subclavian_artery", s), Tissue::artery, tube(subclavian_[si]), p_.hu(20));
}

void NeckBuilder::vertebral_artery(int s) {
  // Vertebral artery: first branch of the subclavian, into the C6 foramen transversarium, up
  // through the foramina, behind the atlas' lateral mass and into the foramen magnum [K].
  std::vector<TubeNode> va;
  va.push_back(round_node(Vec3(s * 26, -9, -13), 2.1));
  va.push_back(round_node(Vec3(s * 20, y_body(5) - 3, 5), 2.0));
  for (const char* name : {"C6", "C5", "C4", "C3", "C2"}) {
    const Vertebra& v = vert(name);
    va.push_back(round_node(Vec3(s * (0.5 * v.width + 6), y_body(v.mid()) + 3, v.mid()), 2.0));
  }
  double yb = y_body(c1_mid());
  va.push_back(round_node(Vec3(s * 28, yb + 9, c1_mid()), 2.0));
  va.push_back(round_node(Vec3(s * 24, yb + 22, c1_hi() + 1), 2.0));
  va.push_back(round_node(Vec3(s * 12, yb + 24, c1_hi() + 3), 2.0));
  va.push_back(round_node(Vec3(s * 6, yb + 14, basion_z() + 8), 2.0));
  va.push_back(round_node(Vec3(s * 3, yb + 4, kFovTop + 10), 2.0));
  add("", Tissue::artery, tube(spline(va)));
}

} // namespace nervemap::phantom::detail
