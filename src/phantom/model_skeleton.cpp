// The skeleton of the neck model apart from the spine (model_spine.cpp): skull, mandible, hyoid,
// the larynx cartilages, styloid processes, clavicles, first ribs and the manubrium.
#include "phantom/internal.h"

#include <cmath>

namespace nervemap::phantom::detail {

void NeckBuilder::bones() {
  for (const auto& v : vertebrae())
    vertebra(v);
  atlas();
  skull();
  mandible();
  hyoid();
  for (int s : {-1, 1}) {
    styloid(s);
    clavicle(s);
    first_rib(s);
  }
  // Manubrium: jugular notch at ~T2/T3, at the bottom of the field of view [K].
  add("sternum", Tissue::bone, ellipsoid(Vec3(0, -66, -70), Vec3(26, 8, 28), Mat3::Identity(), 3, 3));
}

void NeckBuilder::skull() {
  std::vector<ShapePtr> parts;
  const double yb = y_body(c1_mid());
  // Posterior cranial fossa: occipital bone as a bowl around the cerebellum, with the foramen
  // magnum above the atlas; the bowl rises behind to the inion (above the FOV) [K].
  Vec3 centre(0, yb + 18, basion_z() + 44);
  Vec3 outer(66, 72, 46), inner(60, 66, 40);
  ShapePtr bowl = subtract(ellipsoid(centre, outer), ellipsoid(centre, inner));
  ShapePtr fm = tube(std::vector<TubeNode>{{Vec3(0, yb + 15, basion_z() - 10), 15, 18, Vec3::UnitX()},
                                           {Vec3(0, yb + 15, basion_z() + 30), 15, 18, Vec3::UnitX()}});
  parts.push_back(subtract(bowl, fm));
  // Cerebellum inside the bowl (unlabelled brain).
  ShapePtr brain = ellipsoid(centre, inner);
  for (int s : {-1, 1}) {
    // Mastoid process: tip at about the C1 level, behind the ear [K].
    parts.push_back(ellipsoid(Vec3(s * 50, yb + 8, c1_mid() + 16), Vec3(9, 12, 18)));
    // Occipital condyles on the atlas' lateral masses.
    parts.push_back(ellipsoid(Vec3(s * 15, yb + 6, c1_hi() + 3.5), Vec3(6.5, 9, 4)));
    // Petrous/basal skull between mastoid and clivus (carotid canal and jugular foramen are
    // carved by the vessels, painted later).
    parts.push_back(ellipsoid(Vec3(s * 30, yb + 2, basion_z() + 14), Vec3(18, 12, 8), rotation_z(s * 0.5)));
  }
  // Clivus / basiocciput rising forward from the basion [K].
  parts.push_back(ellipsoid(Vec3(0, yb - 9, basion_z() + 9), Vec3(13, 8, 9), rotation_x(-0.8)));
  // Maxilla: hard palate at the level of C1 (Mirjalili 2012), alveolar ridge, maxillary sinus
  // walls and nasal septum [K].
  const double zp = c1_mid() + 1;
  hard_palate_ = Vec3(0, -54, zp);
  parts.push_back(box(hard_palate_, Vec3(17, 20, 2.5)));
  std::vector<TubeNode> ridge;
  for (int k = -4; k <= 4; ++k) {
    double ang = k * 22 * kDeg;
    ridge.push_back({Vec3(24 * std::sin(ang), -48 - 26 * std::cos(ang), zp - 3), 6.5, 5, Vec3::UnitZ()});
  }
  parts.push_back(tube(spline(ridge)));
  ShapePtr sinus[2];
  for (int s : {-1, 1}) {
    Vec3 c(s * 22, -50, zp + 18);
    parts.push_back(subtract(ellipsoid(c, Vec3(15, 20, 16)), ellipsoid(c, Vec3(13, 18, 14))));
    sinus[side_index(s)] = ellipsoid(c, Vec3(13, 18, 14));
  }
  parts.push_back(box(Vec3(0, -55, zp + 16), Vec3(1.2, 20, 14)));
  add("skull", Tissue::bone, unite(parts));
  add("", Tissue::brain, brain);
  for (int i = 0; i < 2; ++i)
    add("", Tissue::air, sinus[i]);
  // Nasal cavity air either side of the septum.
  for (int s : {-1, 1})
    add("", Tissue::air, box(Vec3(s * 6.5, -50, zp + 18), Vec3(5, 20, 13)));
}

void NeckBuilder::mandible() {
  std::vector<ShapePtr> parts;
  // Body: U-shaped bar (~26 mm high, ~10 mm thick), inferior border at C2–C3, gonion at C2/C3 [K].
  const double zc = 107;
  std::vector<Vec3> u{Vec3(-46, -22, zc - 3),
                      Vec3(-44, -36, zc - 1),
                      Vec3(-38, -52, zc),
                      Vec3(-28, -67, zc),
                      Vec3(-15, -78, zc),
                      Vec3(0, -81, zc),
                      Vec3(15, -78, zc),
                      Vec3(28, -67, zc),
                      Vec3(38, -52, zc),
                      Vec3(44, -36, zc - 1),
                      Vec3(46, -22, zc - 3)};
  std::vector<TubeNode> body;
  for (const auto& p : u)
    body.push_back({p, 13, 5, Vec3::UnitZ()});
  parts.push_back(tube(spline(body)));
  for (int s : {-1, 1}) {
    // Ramus up to the condyle at the temporomandibular joint, with the coronoid process [K].
    parts.push_back(tube({TubeNode{Vec3(s * 47, -22, zc - 6), 14, 4, Vec3(0, 1, 0.3)},
                          TubeNode{Vec3(s * 50, -15, zc + 30), 14, 4, Vec3(0, 1, 0)}}));
    parts.push_back(tube({TubeNode{Vec3(s * 50, -12, zc + 30), 5, 4, Vec3(0, 1, 0)},
                          TubeNode{Vec3(s * 51, -6, basion_z() + 4), 5, 4.5, Vec3(0, 1, 0)}}));
    parts.push_back(ellipsoid(Vec3(s * 51, -5, basion_z() + 7), Vec3(9, 5, 5)));
    parts.push_back(tube({TubeNode{Vec3(s * 48, -28, zc + 26), 5, 3, Vec3(0, 1, 0)},
                          TubeNode{Vec3(s * 45, -34, zc + 40), 3, 2.5, Vec3(0, 1, 0)}}));
    gonion_[side_index(s)] = Vec3(s * 47, -16, zc - 13);
  }
  add("mandible", Tissue::bone, unite(parts));
}

void NeckBuilder::hyoid() {
  // Hyoid body at about C3–C4 (Mirjalili 2012: its centre at C4 in 54 %), greater horns
  // reaching back toward the superior horns of the thyroid cartilage [K].
  const double z = vert("C4").hi + 3;
  double yf = y_airway(z) - 19;
  hyoid_body_ = Vec3(0, yf, z);
  std::vector<TubeNode> n;
  n.push_back({Vec3(-22, yf + 24, z + 4), 1.8, 2.2, Vec3::UnitZ()});
  n.push_back({Vec3(-16, yf + 12, z + 2), 2.2, 2.5, Vec3::UnitZ()});
  n.push_back({Vec3(-10, yf + 3, z), 4.5, 2.8, Vec3::UnitZ()});
  n.push_back({Vec3(0, yf, z), 5.5, 3.0, Vec3::UnitZ()});
  n.push_back({Vec3(10, yf + 3, z), 4.5, 2.8, Vec3::UnitZ()});
  n.push_back({Vec3(16, yf + 12, z + 2), 2.2, 2.5, Vec3::UnitZ()});
  n.push_back({Vec3(22, yf + 24, z + 4), 1.8, 2.2, Vec3::UnitZ()});
  add("hyoid", Tissue::bone, tube(spline(n)));
}

void NeckBuilder::cartilages() {
  const double zl = cricoid_low();
  // Cricoid: a signet ring, anterior arch ~6 mm high, posterior lamina ~20 mm [K].
  {
    std::vector<TubeNode> outer, inner;
    for (double z = zl - 1; z <= zl + 24; z += 3) {
      outer.push_back(
          {Vec3(0, y_airway(z), z), 0.5 * p_.trachea_cor + 2.8, 0.5 * p_.trachea_sag + 3.5, Vec3::UnitX()});
      inner.push_back(
          {Vec3(0, y_airway(z), z), 0.5 * p_.trachea_cor + 0.3, 0.5 * p_.trachea_sag + 0.8, Vec3::UnitX()});
    }
    ShapePtr ring = subtract(tube(spline(outer)), tube(spline(inner)));
    double y_front = y_airway(zl) - 0.5 * p_.trachea_sag - 3.5;
    ShapePtr slope = half_space(Vec3(0, y_front, zl + 7), Vec3(0, -0.75, 1));
    ShapePtr floor = half_space(Vec3(0, 0, zl), Vec3(0, 0, -1));
    add("cricoid_cartilage", Tissue::cartilage, intersect(intersect(ring, slope), floor), p_.hu(14));
  }
  thyroid_cartilage(zl + 10);
}

void NeckBuilder::thyroid_cartilage(double z_bot) {
  // Thyroid cartilage: two laminae meeting in front at the laryngeal prominence; superior border
  // at C4–C5 (Mirjalili 2012), ~20 mm high, with superior and inferior horns [K].
  double z_top = z_bot + 21;
  double y_apex = y_airway(z_top) - 14.5;
  thyroid_cartilage_top_ = z_top;
  prominence_ = Vec3(0, y_apex - 1.3, z_top - 3);
  std::vector<ShapePtr> parts;
  const double len = 30, half_thick = 1.3;
  for (int s : {-1, 1}) {
    // Lamina s: from the apex back and out at the drawn half angle (model_parameters.cpp).
    Vec3 u(s * std::sin(p_.lamina_half_angle), std::cos(p_.lamina_half_angle), 0);
    Mat3 axes;
    axes.col(0) = u;
    axes.col(1) = Vec3(u.y(), -u.x(), 0) * s; // normal
    axes.col(2) = Vec3::UnitZ();
    Vec3 centre(0, y_apex, 0.5 * (z_top + z_bot));
    centre += u * (0.5 * len);
    parts.push_back(box(centre, Vec3(0.5 * len, half_thick, 0.5 * (z_top - z_bot)), axes));
    // Superior and inferior horns from the lamina's posterior border.
    Vec3 back_top = Vec3(0, y_apex, z_top) + u * (len - 1.5);
    Vec3 back_bot = Vec3(0, y_apex, z_bot) + u * (len - 1.5);
    parts.push_back(tube({back_top, back_top + Vec3(0, 2, 13)}, 1.8));
    parts.push_back(tube({back_bot, back_bot + Vec3(-s * 1.5, 1, -7)}, 1.8));
  }
  // The superior thyroid notch above the prominence.
  ShapePtr cart = subtract(unite(parts), ellipsoid(Vec3(0, y_apex, z_top + 1), Vec3(5, 6, 6)));
  add("thyroid_cartilage", Tissue::cartilage, cart, p_.hu(15));
}

void NeckBuilder::styloid(int s) {
  // Styloid process: ~20–30 mm long (elongated above 30 mm, Eagle), from the skull base
  // anteroinferomedially between the ICA (medial) and the ECA (lateral) [K].
  double zb = basion_z() + 6;
  Vec3 base(s * 37, y_body(c1_mid()) - 8, zb), tip(s * 31, y_body(c1_mid()) - 22, zb - 22);
  add(sided("styloid_process", s),
      Tissue::bone,
      tube({TubeNode{base, 2.2, 2.2, Vec3::UnitX()}, TubeNode{tip, 1.3, 1.3, Vec3::UnitX()}}));
}

void NeckBuilder::clavicle(int s) {
  // Clavicle: sternal end at the sternoclavicular joint, S-shaped, rising laterally [K].
  std::vector<TubeNode> cl{{Vec3(s * 20, -60, -38), 8, 7, Vec3::UnitZ()},
                           {Vec3(s * 40, -60, -33), 7, 6, Vec3::UnitZ()},
                           {Vec3(s * 65, -52, -27), 6.5, 5.5, Vec3::UnitZ()},
                           {Vec3(s * 90, -40, -23), 6, 5.5, Vec3::UnitZ()},
                           {Vec3(s * 112, -26, -20), 6.5, 5.5, Vec3::UnitZ()},
                           {Vec3(s * 140, -10, -18), 8, 5, Vec3::UnitZ()}};
  add(s > 0 ? "clavicula_left" : "clavicula_right", Tissue::bone, tube(spline(cl)));
}

void NeckBuilder::first_rib(int s) {
  // First rib: from the T1 costovertebral joint around the lung apex to the manubrium; broad
  // and flat (~15 × 6 mm) [K].
  const Vertebra& t1 = vert("T1");
  std::vector<Vec3> pts{Vec3(s * 14, y_body(t1.mid()) + 8, t1.mid() + 2),
                        Vec3(s * 28, y_body(t1.mid()) + 20, t1.mid() + 3),
                        Vec3(s * 46, y_body(t1.mid()) + 22, t1.mid() - 2),
                        Vec3(s * 60, 14, -18),
                        Vec3(s * 66, -6, -26),
                        Vec3(s * 60, -26, -34),
                        Vec3(s * 46, -42, -42),
                        Vec3(s * 32, -52, -50)};
  std::vector<TubeNode> rib;
  for (size_t i = 0; i < pts.size(); ++i) {
    // Broad in the horizontal plane: the width runs across the rib's course.
    Vec3 t = pts[std::min(i + 1, pts.size() - 1)] - pts[i == 0 ? 0 : i - 1];
    Vec3 w = t.cross(Vec3::UnitZ());
    rib.push_back({pts[i], i == 0 ? 4.0 : 7.0, 3.0, w.normalized()});
  }
  add(s > 0 ? "rib_left_1" : "rib_right_1", Tissue::bone, tube(spline(rib)));
}

} // namespace nervemap::phantom::detail
