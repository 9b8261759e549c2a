// The aerodigestive tract of the neck model: tongue, pharynx and its constrictors, larynx air,
// trachea, oesophagus, and the lung apices. The larynx cartilages are with the skeleton.
#include "phantom/internal.h"

namespace nervemap::phantom::detail {

void NeckBuilder::tongue_and_pharynx() {
  // Tongue and floor of the mouth (unlabelled muscle) [K].
  add("", Tissue::muscle, ellipsoid(Vec3(0, -50, 116), Vec3(26, 30, 17)));
  add("", Tissue::muscle, ellipsoid(Vec3(0, -56, 97), Vec3(24, 24, 7)));
  // Pharyngeal constrictors (middle/superior, unlabelled) around the oro- and nasopharynx.
  add("", Tissue::muscle, tube(spline(pharynx_nodes(4.0))));
  // Inferior pharyngeal constrictor: from the thyroid cartilage oblique line and the cricoid
  // around the back of the hypopharynx, down to the cricopharyngeus at the cricoid's lower
  // border (C6) [K].
  std::vector<TubeNode> outer, inner;
  for (double z = cricoid_low() - 1; z <= 78; z += 4) {
    double yc = y_airway(z) + 10.5;
    double a = 19 + 0.05 * (z - 34);
    outer.push_back({Vec3(0, yc, z), a, 8.0, Vec3::UnitX()});
    inner.push_back({Vec3(0, yc, z), a - 3.2, 4.8, Vec3::UnitX()});
  }
  // The lowest part (cricopharyngeus) rings the oesophageal verge.
  ShapePtr ring = subtract(tube(spline(outer)), tube(spline(inner)));
  ShapePtr back = half_space(Vec3(0, y_airway(50) + 3, 0), Vec3(0, -1, 0));
  add("inferior_pharyngeal_constrictor", Tissue::muscle, intersect(ring, back), p_.hu(8));
  add("", Tissue::mucosa, tube(spline(inner)));
  // Piriform sinuses: small air pockets either side of the larynx [K].
  for (int s : {-1, 1})
    add("", Tissue::air, ellipsoid(Vec3(s * 11, y_airway(64) + 8, 64), Vec3(3, 3.5, 8)));
}

std::vector<TubeNode> NeckBuilder::pharynx_nodes(double wall) const {
  // Oro/nasopharyngeal air column behind the tongue and soft palate, in front of the longus
  // capitis [K].
  std::vector<TubeNode> n;
  auto add_node = [&](double z, double y, double a, double b) {
    n.push_back({Vec3(0, y, z), a + wall, b + wall, Vec3::UnitX()});
  };
  add_node(78, y_airway(78) + 5, 9, 5);
  add_node(95, y_spine_front(95) - 13, 13, 6);
  add_node(112, y_spine_front(112) - 12, 14, 6);
  add_node(126, y_spine_front(126) - 13, 12, 7);
  add_node(140, y_spine_front(140) - 15, 12, 8);
  add_node(162, y_spine_front(150) - 22, 10, 8);
  return n;
}

void NeckBuilder::lungs() {
  // Lung apices rise above the first rib into the root of the neck, ~2.5 cm above the medial third
  // of the clavicle [K].
  for (int s : {-1, 1})
    add(sided("lung_upper_lobe", s),
        Tissue::lung,
        ellipsoid(Vec3(s * 52, 18, -88), Vec3(32, 44, 90), rotation_y(-s * 0.1)));
}

void NeckBuilder::airway_and_oesophagus() {
  // Oesophagus from the cricopharyngeus (lower border of the cricoid, C6) down, behind the
  // trachea and a little to the left (x_oesophagus).
  {
    std::vector<TubeNode> n;
    for (double z = -75; z <= cricoid_low() + 2; z += 4)
      n.push_back({Vec3(x_oesophagus(z), y_oesophagus(z), z), p_.oes_a, p_.oes_b, Vec3::UnitX()});
    add("esophagus", Tissue::muscle, tube(spline(n)), p_.hu(12));
  }
  // Trachea (outer wall incl. rings) and its lumen inside the ~2 mm wall, elliptical in section
  // (the flat posterior membranous wall [K] is not modelled).
  {
    std::vector<TubeNode> outer, lumen;
    for (double z = -75; z <= cricoid_low() + 3; z += 4) {
      Vec3 c(0, y_airway(z), z);
      outer.push_back({c, 0.5 * p_.trachea_cor, 0.5 * p_.trachea_sag, Vec3::UnitX()});
      lumen.push_back({c, 0.5 * p_.trachea_cor - 2.0, 0.5 * p_.trachea_sag - 2.0, Vec3::UnitX()});
    }
    add("trachea", Tissue::mucosa, tube(spline(outer)), p_.hu(13));
    add("trachea", Tissue::air, tube(spline(lumen)));
  }
  // Pharyngeal air (unlabelled).
  add("", Tissue::air, tube(spline(pharynx_nodes(0.0))));
  larynx_air();
}

void NeckBuilder::larynx_air() {
  // Larynx air: subglottis (the tracheal lumen) → glottis (narrow) → ventricles → vestibule [K].
  struct K {
    double z, a, b, dy;
  };
  double zl = cricoid_low();
  const K knots[] = {{zl - 1, 0.5 * p_.trachea_cor - 2.0, 0.5 * p_.trachea_sag - 2.0, 0},
                     {zl + 8, 6.5, 7.5, -1},
                     {zl + 15, 3.5, 8.5, -2},
                     {zl + 19, 6.0, 9.0, -2},
                     {zl + 28, 7.0, 9.0, -2},
                     {zl + 38, 8.0, 8.0, -1},
                     {80, 7.0, 5.5, 2}};
  std::vector<TubeNode> n;
  for (const auto& k : knots)
    n.push_back({Vec3(0, y_airway(k.z) + k.dy, k.z), k.a, k.b, Vec3::UnitX()});
  add("larynx_air", Tissue::air, tube(spline(n)));
}

} // namespace nervemap::phantom::detail
