// Muscles of the neck model: the unlabelled deep posterior, shoulder and strap muscles, and the
// labelled ones (trapezius, levator scapulae, scalenes, prevertebral, sternocleidomastoid,
// digastric). The anterior scalene, prevertebral and sternocleidomastoid centrelines are kept for
// the nerves placed on them.
#include "phantom/internal.h"

#include <cmath>

namespace nervemap::phantom::detail {

void NeckBuilder::posterior_and_shoulder_muscles() {
  // Deep posterior neck muscles (semispinalis, splenius, multifidus, erector): a sector of the
  // neck behind the transverse processes, under the subcutaneous fat and trapezius [K].
  std::vector<LoftSection> sections;
  for (double z = -70; z <= 168; z += 6) {
    double yb = y_body(std::min(z, c1_mid()));
    double front = yb + 6, back = under_skin(z, -90, p_.fat_mm + 7).y();
    double half_w = z > 0 ? 40 : 40 + 1.2 * (-z);
    sections.push_back({z, 0, 0.5 * (front + back), std::min(half_w, 95.0), 0.5 * (back - front), 2.6});
  }
  add("", Tissue::muscle, loft(sections));
  // Shoulder girdle muscles lateral to the neck below C7 (supraspinatus, deltoid) [K].
  for (int s : {-1, 1}) {
    add("",
        Tissue::muscle,
        intersect(ellipsoid(Vec3(s * 112, 35, -45), Vec3(32, 40, 38), rotation_y(s * 0.35), 2.2, 2.2),
                  body_inner()));
  }
  // Infrahyoid strap muscles in front of the larynx, thyroid and trachea [K].
  for (int s : {-1, 1}) {
    std::vector<TubeNode> strap;
    for (double z = -40; z <= 80; z += 10) {
      double depth_front = 0.5 * p_.trachea_sag + (z < 34 ? p_.isthmus_mm + 3.0 : 9.0);
      strap.push_back({Vec3(s * 11, y_airway(z) - depth_front - 2.5, z), 9, 2.3, Vec3::UnitX()});
    }
    add("", Tissue::muscle, tube(spline(strap)));
  }
}

void NeckBuilder::labelled_muscles() {
  for (int s : {-1, 1}) {
    trapezius(s);
    levator_scapulae(s);
    middle_scalene(s);
    anterior_scalene(s);
    prevertebral(s);
    sternocleidomastoid(s);
    digastric(s);
  }
}

void NeckBuilder::trapezius(int s) {
  // Trapezius: posterior superficial sheet from the occiput to the shoulder, under the
  // subcutaneous fat, ~5–8 mm thick [K]; its anterior border reaches the lateral clavicle.
  // Three flat strips following the curve of the back (chords between angles under the skin).
  constexpr int kStrips = 3;
  std::vector<ShapePtr> strips;
  for (int k = 0; k < kStrips; ++k) {
    std::vector<TubeNode> sheet;
    for (double z = 165; z >= -45; z -= 5) {
      // Angular extent from the posterior midline: ~40° high in the neck, spreading toward the
      // shoulder below C7.
      double lateral = z > 10 ? 30 + 0.08 * (165 - z) : std::min(75.0, 42.4 + 1.2 * (10 - z));
      double thick = z > 120 ? 4 : 6.5;
      double depth = p_.fat_mm + thick * 0.5 + 0.5;
      double a0 = 3 + (lateral - 3) * k / kStrips, a1 = 3 + (lateral - 3) * (k + 1) / kStrips;
      Vec3 p0 = under_skin(z, s > 0 ? -90 + a0 : -90 - a0, depth),
           p1 = under_skin(z, s > 0 ? -90 + a1 : -90 - a1, depth);
      Vec3 dir = p1 - p0;
      sheet.push_back({0.5 * (p0 + p1), 0.5 * dir.norm() + 1.0, 0.5 * thick, dir.normalized()});
    }
    strips.push_back(tube(spline(sheet, 3.0)));
  }
  add(sided("trapezius", s), Tissue::muscle, unite(strips), p_.hu(1));
}

void NeckBuilder::levator_scapulae(int s) {
  // Levator scapulae: C1–C4 transverse processes → superior angle of the scapula [K].
  const double top_c1 = c1_mid();
  std::vector<TubeNode> c;
  auto yb = [&](double z) { return y_body(z); };
  c.push_back({Vec3(s * 37, yb(top_c1) + 10, top_c1), 5, 4, Vec3(1, 1, 0)});
  c.push_back({Vec3(s * 37, yb(100) + 16, 100), 7, 5, Vec3(1, 1, 0)});
  c.push_back({Vec3(s * 39, yb(70) + 21, 70), 9, 5.5, Vec3(1, 1, 0)});
  c.push_back({Vec3(s * 42, yb(40) + 26, 40), 10, 6, Vec3(1, 1, 0)});
  c.push_back({Vec3(s * 52, 40, 10), 11, 6, Vec3(1, 1, 0)});
  c.push_back({Vec3(s * 74, 60, -22), 10, 6, Vec3(1, 1, 0)});
  c.push_back({Vec3(s * 80, 66, -45), 8, 5, Vec3(1, 1, 0)});
  add(sided("levator_scapulae", s), Tissue::muscle, tube(spline(c)), p_.hu(2));
}

void NeckBuilder::middle_scalene(int s) {
  // Middle scalene: C2–C7 posterior tubercles → first rib behind the subclavian groove [K].
  std::vector<TubeNode> c;
  for (double z : {112.0, 90.0, 65.0, 40.0, 18.0})
    c.push_back(
        {Vec3(s * (30 + 0.1 * (112 - z)), y_body(z) + 10, z), 6 + 0.04 * (112 - z), 5, Vec3(0, 1, 0)});
  c.push_back({Vec3(s * 46, y_body(0) + 2, -2), 9, 6, Vec3(0, 1, 0)});
  c.push_back({Vec3(s * 54, 4, -16), 8, 5, Vec3(0, 1, 0)});
  add(sided("middle_scalene", s), Tissue::muscle, tube(spline(c)), p_.hu(3));
}

void NeckBuilder::anterior_scalene(int s) {
  // Anterior scalene: anterior tubercles C3–C6 → scalene tubercle of the first rib; the
  // subclavian artery passes behind it, the vein in front [K].
  std::vector<TubeNode> c;
  for (double z : {88.0, 62.0, 36.0})
    c.push_back({Vec3(s * (25 + 0.05 * (88 - z)), y_body(z) - 3, z), 5.5, 4.5, Vec3(1, 0, 0)});
  c.push_back({Vec3(s * 32, y_body(10) - 7, 10), 6, 5, Vec3(1, 0, 0)});
  c.push_back({Vec3(s * 39, -16, -10), 6, 5, Vec3(1, 0, 0)});
  c.push_back({Vec3(s * 44, -24, -24), 5.5, 4.5, Vec3(1, 0, 0)});
  const int si = side_index(s);
  asm_[si] = spline(c);
  add(sided("anterior_scalene", s), Tissue::muscle, tube(asm_[si]), p_.hu(4));
}

void NeckBuilder::prevertebral(int s) {
  // Prevertebral muscles (longus capitis/colli) on the front of the bodies; medial borders
  // 7.9 (C3), 10.1 (C4), 12.3 (C5), 13.8 mm (C6) apart (Ebraheim et al. 2000 Spine 25:1603).
  std::vector<TubeNode> c;
  auto gap_half = [&](double z) {
    double g = 0.5 * (z > vert("C3").mid() ? 7.9
                                           : 7.9 + (vert("C3").mid() - z) /
                                                       (vert("C3").mid() - vert("C6").mid()) * (13.8 - 7.9));
    return std::clamp(g, 3.0, 7.5);
  };
  for (double z = basion_z() + 2; z >= -40; z -= 8) {
    double a = z > 100 ? 7 : 5.5, b = z > 100 ? 4.5 : 3.2;
    double x = gap_half(z) + a;
    c.push_back({Vec3(s * x, y_spine_front(z) - b + 1.0, z), a, b, Vec3::UnitX()});
  }
  const int si = side_index(s);
  prevert_[si] = spline(c);
  add(sided("prevertebral", s), Tissue::muscle, tube(prevert_[si]), p_.hu(5));
}

void NeckBuilder::sternocleidomastoid(int s) {
  // Sternocleidomastoid: mastoid → manubrium/clavicle, a flat band under the subcutaneous
  // fat, superficial to the carotid sheath (~8–10 mm thick, 15–35 mm wide) [K].
  struct K {
    double z, angle, a, b;
  };
  // Angles place it over the carotid sheath (anterolateral to the IJV) at mid-neck.
  const K knots[] = {{c1_mid() + 8, -12, 9, 7},
                     {118, 0, 13, 7.5},
                     {95, 14, 15, 8},
                     {70, 25, 16, 8.5},
                     {45, 31, 16, 8.5},
                     {20, 42, 15, 8.5},
                     {0, 56, 13, 8},
                     {-20, 70, 11, 7},
                     {-38, 78, 9, 6}};
  std::vector<TubeNode> c;
  for (const auto& k : knots) {
    double angle = s > 0 ? k.angle : 180 - k.angle;
    Vec3 centre = under_skin(k.z, angle, p_.fat_mm + k.b + 0.5);
    Vec3 tangent(std::sin(angle * kDeg), std::cos(angle * kDeg), 0); // along the skin
    c.push_back({centre, k.a, k.b, tangent});
  }
  const int si = side_index(s);
  scm_[si] = spline(c);
  add(sided("sternocleidomastoid", s), Tissue::muscle, tube(scm_[si]), p_.hu(6));
}

void NeckBuilder::digastric(int s) {
  // Digastric: mastoid notch → intermediate tendon at the hyoid → digastric fossa [K].
  const double top_c1 = c1_mid();
  std::vector<TubeNode> c{{Vec3(s * 43, y_body(top_c1) + 2, top_c1 + 4), 4.5, 4.5, Vec3::UnitX()},
                          {Vec3(s * 37, -6, 112), 4.5, 4.5, Vec3::UnitX()},
                          {Vec3(s * 26, y_airway(80) - 2, 92), 4, 4, Vec3::UnitX()},
                          {Vec3(s * 15, y_airway(80) - 15, 85), 2.8, 2.8, Vec3::UnitX()},
                          {Vec3(s * 11, -58, 89), 4, 4, Vec3::UnitX()},
                          {Vec3(s * 7, -76, 97), 3.5, 3.5, Vec3::UnitX()}};
  add(sided("digastric", s), Tissue::muscle, tube(spline(c)), p_.hu(7));
}

} // namespace nervemap::phantom::detail
