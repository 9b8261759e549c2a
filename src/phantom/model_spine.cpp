// The spine of the neck model: vertebrae T2 to C2 with their discs, the atlas, and the spinal canal
// with its CSF and cord. The levels themselves are the frame's (model_frame.cpp).
#include "phantom/internal.h"

#include <cmath>

namespace nervemap::phantom::detail {

void NeckBuilder::vertebra(const Vertebra& v) {
  std::vector<ShapePtr> parts;
  const double zm = v.mid(), h = v.hi - v.lo, yb = y_body(zm);
  const bool thoracic = v.name[10] == 'T';
  const bool axis = v.name == "vertebrae_C2";
  // Body: rounded box with flat end plates.
  parts.push_back(
      ellipsoid(Vec3(0, yb, zm), Vec3(0.5 * v.width, 0.5 * v.depth, 0.5 * h), Mat3::Identity(), 2.6, 8));
  disc_below(v);
  // Spinal canal behind the body: width ~24, depth ~14 mm (Panjabi 1991).
  const double canal_y = yb + 0.5 * v.depth + 7.5;
  const double canal_half_w = thoracic ? 9.5 : 12.5;
  const double zp = zm - 1.0; // posterior elements sit a little lower than the body
  const double hp = h + 3.0;  // articular pillars overlap the neighbours (facet joints)
  for (int s : {-1, 1}) {
    // Pedicle and articular pillar (lateral mass).
    parts.push_back(tube({Vec3(s * (0.5 * v.width - 3), yb + 0.5 * v.depth - 3, zm),
                          Vec3(s * (canal_half_w + 3), canal_y - 2, zp)},
                         3.2));
    parts.push_back(ellipsoid(
        Vec3(s * (canal_half_w + 5), canal_y + 1, zp), Vec3(5.5, 7, 0.5 * hp), Mat3::Identity(), 2, 4));
    // Lamina to the spinous process.
    parts.push_back(tube({TubeNode{Vec3(s * (canal_half_w + 4), canal_y + 5, zp), 3.0, 2.4, Vec3::UnitZ()},
                          TubeNode{Vec3(0, canal_y + 10.5, zp - 2), 4.0, 2.6, Vec3::UnitZ()}}));
    // Transverse process: cervical ones around the foramen transversarium (the vertebral artery,
    // painted later, carves the foramen); thoracic ones posterolateral to the rib tubercles.
    if (thoracic)
      parts.push_back(
          tube({Vec3(s * (canal_half_w + 5), canal_y + 2, zp), Vec3(s * 30, canal_y + 9, zp + 1)}, 4.2));
    else {
      double tip = 0.5 * v.width + (v.name == "vertebrae_C7" ? 17 : 12);
      parts.push_back(tube({TubeNode{Vec3(s * (0.5 * v.width - 1), yb + 2, zm), 3.0, 4.0, Vec3::UnitZ()},
                            TubeNode{Vec3(s * tip, yb + 5, zm), 3.0, 4.0, Vec3::UnitZ()}}));
    }
  }
  // Spinous process: longer and steeper caudally (C7 prominens, T1–T2) [K].
  double len = axis                       ? 22
               : v.name == "vertebrae_C7" ? 28
               : thoracic                 ? 32
                                          : 15 + 0.5 * (vert("C3").mid() - zm) / 19;
  double slope = (axis ? 15 : v.name == "vertebrae_C7" ? 25 : thoracic ? 40 : 18) * kDeg;
  Vec3 sp0(0, canal_y + 10, zp - 2), sp1 = sp0 + len * Vec3(0, std::cos(slope), -std::sin(slope));
  parts.push_back(
      tube({TubeNode{sp0, 3.2, 4.5, Vec3::UnitZ()}, TubeNode{sp1, axis ? 5.0 : 3.0, 3.5, Vec3::UnitZ()}}));
  if (axis) {
    // Dens (odontoid) rising through the atlas ring; C2's superior articular facets [K].
    parts.push_back(ellipsoid(Vec3(0, y_body(c1_mid()) + 1, 0.5 * (v.hi - 4 + dens_top())),
                              Vec3(5, 5.5, 0.5 * (dens_top() - v.hi + 4)),
                              Mat3::Identity(),
                              2,
                              2.4));
    for (int s : {-1, 1})
      parts.push_back(ellipsoid(Vec3(s * 15, yb + 4, v.hi - 1), Vec3(7, 8, 4.5)));
  }
  add(v.name, Tissue::bone, unite(parts));
}

void NeckBuilder::disc_below(const Vertebra& v) {
  // Intervertebral disc below the body (unlabelled): fills the gap down to the next body (one
  // within ~10 mm), a little narrower than the body and overlapping both end plates by 0.6 mm.
  double gap_lo = v.lo, gap_hi = v.lo;
  for (const auto& o : vertebrae())
    if (o.hi < v.lo && o.hi > gap_lo - 10)
      gap_lo = o.hi;
  if (gap_lo < gap_hi)
    add("",
        Tissue::disc,
        ellipsoid(Vec3(0, y_body(0.5 * (gap_lo + gap_hi)), 0.5 * (gap_lo + gap_hi)),
                  Vec3(0.5 * v.width - 0.5, 0.5 * v.depth - 0.5, 0.5 * (gap_hi - gap_lo) + 0.6),
                  Mat3::Identity(),
                  2.6,
                  8));
}

void NeckBuilder::atlas() {
  const double z = c1_mid(), yb = y_body(z);
  std::vector<ShapePtr> parts;
  const double yd = yb + 1; // dens centre
  // Anterior arch in front of the dens, posterior arch behind the canal.
  std::vector<TubeNode> front, back;
  for (int k = -4; k <= 4; ++k) {
    double ang = k * 16 * kDeg;
    front.push_back({Vec3(13 * std::sin(ang), yd - 9.5 * std::cos(ang), z), 5.5, 3.0, Vec3::UnitZ()});
    back.push_back({Vec3(16 * std::sin(ang), yd + 19 + 12 * std::cos(ang), z - 1), 4.5, 3.0, Vec3::UnitZ()});
  }
  parts.push_back(tube(spline(front)));
  parts.push_back(tube(spline(back)));
  for (int s : {-1, 1}) {
    // Lateral mass, the posterior arch's root and the anterior arch's root.
    parts.push_back(ellipsoid(Vec3(s * 17, yd + 5, z), Vec3(7, 10, 0.5 * (c1_hi() - c1_lo()))));
    parts.push_back(tube({TubeNode{Vec3(s * 13, yd + 16, z - 1), 4.5, 3, Vec3::UnitZ()},
                          TubeNode{Vec3(s * 20, yd + 12, z - 1), 4.5, 3, Vec3::UnitZ()}}));
    parts.push_back(tube({TubeNode{Vec3(s * 12, yd - 7, z), 4, 3, Vec3::UnitZ()},
                          TubeNode{Vec3(s * 17, yd, z), 4, 3, Vec3::UnitZ()}}));
    // Transverse processes of the atlas are the widest of the neck (~75–80 mm span) [K].
    parts.push_back(tube({Vec3(s * 22, yd + 6, z), Vec3(s * 38, yd + 9, z - 1)}, 4.0));
  }
  add("vertebrae_C1", Tissue::bone, unite(parts));
}

void NeckBuilder::canal_and_cord() {
  // Cervical canal ~24 × 14 mm (Panjabi 1991); cord ~13 × 7.5 mm (Frostell et al. 2016 Front
  // Neurol 7:238), with CSF around it.
  std::vector<TubeNode> canal, cord;
  for (double z = -80; z <= basion_z() + 12; z += 4) {
    double zz = std::min(z, c1_mid());
    double depth = z > c2().lo ? 15 : body_depth(zz);
    double yc = y_body(zz) + 0.5 * depth + 7.5 + (z > c2().hi ? 4 : 0);
    bool thoracic = z < vert("T1").hi;
    canal.push_back({Vec3(0, yc, z), thoracic ? 8.0 : 11.5, thoracic ? 7.0 : 7.5, Vec3::UnitX()});
    cord.push_back({Vec3(0, yc, z), thoracic ? 4.5 : 6.4, thoracic ? 4.0 : 3.8, Vec3::UnitX()});
  }
  add("", Tissue::csf, tube(spline(canal)));
  add("spinal_cord", Tissue::cord, tube(spline(cord)));
}

} // namespace nervemap::phantom::detail
