// The phantom's anatomy in canonical LPS millimetres (+x left, +y posterior, +z superior), from the
// thoracic inlet (z = 0 at the cranial end plate of T1) to just above the skull base. Every
// measurement below carries its source; [K] marks textbook anatomy (Gray's Anatomy, 42nd ed.;
// Netter's Atlas) where no single measurement paper was used. The numbers were fixed from these
// sources before the nerve rules were tuned, so the phantom does not echo the rules.
#include "anatomy/anatomy.h"
#include "phantom/internal.h"

#include <cmath>
#include <fmt/format.h>
#include <numbers>

namespace nervemap::phantom::detail {

namespace {

class NeckBuilder : NeckFrame {
public:
  NeckBuilder(const Options& o, Model& m)
      : NeckFrame(draw_neck_parameters(o.seed), o.aberrant_right_subclavian), options_(o), model_(m) {}

  void build() {
    model_.parameters = parameters_json(p_, options_.aberrant_right_subclavian);
    model_.warp = patient_warp(p_);
    model_.fov = field_of_view(p_);
    body_outline();
    posterior_and_shoulder_muscles();
    labelled_muscles();
    head_soft_tissue();
    glands();
    lungs();
    airway_and_oesophagus();
    cartilages();
    bones();
    veins();
    arteries();
    canal_and_cord();
    reference_nerves();
    landmarks();
  }

private:
  void add(const std::string& structure, Tissue t, ShapePtr shape, float hu_offset = 0) {
    model_.parts.push_back({structure, t, std::move(shape), hu_offset});
  }

  // ------------------------------------------------------------------------------------------
  // Body outline, skin and subcutaneous fat
  void body_outline() {
    // The lower face and jaw in front of the neck (chin to maxilla) [K].
    ShapePtr face = ellipsoid(
        Vec3(0, -32, 118), Vec3(62 * p_.neck_width, 68 * p_.neck_depth, 31), Mat3::Identity(), 2.2, 3);
    ShapePtr body = unite({loft(body_sections()), face});
    add("", Tissue::skin, body);
  }

  // ------------------------------------------------------------------------------------------
  void posterior_and_shoulder_muscles() {
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

  // ------------------------------------------------------------------------------------------
  void labelled_muscles() {
    const double top_c1 = c1_mid();
    for (int s : {-1, 1}) {
      const int si = s > 0 ? 0 : 1;
      // Trapezius: posterior superficial sheet from the occiput to the shoulder, under the
      // subcutaneous fat, ~5–8 mm thick [K]; its anterior border reaches the lateral clavicle.
      {
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
      // Levator scapulae: C1–C4 transverse processes → superior angle of the scapula [K].
      {
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
      // Middle scalene: C2–C7 posterior tubercles → first rib behind the subclavian groove [K].
      {
        std::vector<TubeNode> c;
        for (double z : {112.0, 90.0, 65.0, 40.0, 18.0})
          c.push_back(
              {Vec3(s * (30 + 0.1 * (112 - z)), y_body(z) + 10, z), 6 + 0.04 * (112 - z), 5, Vec3(0, 1, 0)});
        c.push_back({Vec3(s * 46, y_body(0) + 2, -2), 9, 6, Vec3(0, 1, 0)});
        c.push_back({Vec3(s * 54, 4, -16), 8, 5, Vec3(0, 1, 0)});
        add(sided("middle_scalene", s), Tissue::muscle, tube(spline(c)), p_.hu(3));
      }
      // Anterior scalene: anterior tubercles C3–C6 → scalene tubercle of the first rib; the
      // subclavian artery passes behind it, the vein in front [K].
      {
        std::vector<TubeNode> c;
        for (double z : {88.0, 62.0, 36.0})
          c.push_back({Vec3(s * (25 + 0.05 * (88 - z)), y_body(z) - 3, z), 5.5, 4.5, Vec3(1, 0, 0)});
        c.push_back({Vec3(s * 32, y_body(10) - 7, 10), 6, 5, Vec3(1, 0, 0)});
        c.push_back({Vec3(s * 39, -16, -10), 6, 5, Vec3(1, 0, 0)});
        c.push_back({Vec3(s * 44, -24, -24), 5.5, 4.5, Vec3(1, 0, 0)});
        asm_[si] = spline(c);
        add(sided("anterior_scalene", s), Tissue::muscle, tube(asm_[si]), p_.hu(4));
      }
      // Prevertebral muscles (longus capitis/colli) on the front of the bodies; medial borders
      // 7.9 (C3), 10.1 (C4), 12.3 (C5), 13.8 mm (C6) apart (Ebraheim et al. 2000 Spine 25:1603).
      {
        std::vector<TubeNode> c;
        auto gap_half = [&](double z) {
          double g =
              0.5 * (z > vert("C3").mid() ? 7.9
                                          : 7.9 + (vert("C3").mid() - z) /
                                                      (vert("C3").mid() - vert("C6").mid()) * (13.8 - 7.9));
          return std::clamp(g, 3.0, 7.5);
        };
        for (double z = basion_z() + 2; z >= -40; z -= 8) {
          double a = z > 100 ? 7 : 5.5, b = z > 100 ? 4.5 : 3.2;
          double x = gap_half(z) + a;
          c.push_back({Vec3(s * x, y_spine_front(z) - b + 1.0, z), a, b, Vec3::UnitX()});
        }
        prevert_[si] = spline(c);
        add(sided("prevertebral", s), Tissue::muscle, tube(prevert_[si]), p_.hu(5));
      }
      // Sternocleidomastoid: mastoid → manubrium/clavicle, a flat band under the subcutaneous
      // fat, superficial to the carotid sheath (~8–10 mm thick, 15–35 mm wide) [K].
      {
        struct K {
          double z, angle, a, b;
        };
        // Angles place it over the carotid sheath (anterolateral to the IJV) at mid-neck.
        const K knots[] = {{top_c1 + 8, -12, 9, 7},
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
        scm_[si] = spline(c);
        add(sided("sternocleidomastoid", s), Tissue::muscle, tube(scm_[si]), p_.hu(6));
      }
      // Digastric: mastoid notch → intermediate tendon at the hyoid → digastric fossa [K].
      {
        std::vector<TubeNode> c{{Vec3(s * 43, y_body(top_c1) + 2, top_c1 + 4), 4.5, 4.5, Vec3::UnitX()},
                                {Vec3(s * 37, -6, 112), 4.5, 4.5, Vec3::UnitX()},
                                {Vec3(s * 26, y_airway(80) - 2, 92), 4, 4, Vec3::UnitX()},
                                {Vec3(s * 15, y_airway(80) - 15, 85), 2.8, 2.8, Vec3::UnitX()},
                                {Vec3(s * 11, -58, 89), 4, 4, Vec3::UnitX()},
                                {Vec3(s * 7, -76, 97), 3.5, 3.5, Vec3::UnitX()}};
        add(sided("digastric", s), Tissue::muscle, tube(spline(c)), p_.hu(7));
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  void head_soft_tissue() {
    // Tongue and floor of the mouth (unlabelled muscle) [K].
    add("", Tissue::muscle, ellipsoid(Vec3(0, -50, 116), Vec3(26, 30, 17)));
    add("", Tissue::muscle, ellipsoid(Vec3(0, -56, 97), Vec3(24, 24, 7)));
    // Pharyngeal constrictors (middle/superior, unlabelled) around the oro- and nasopharynx.
    add("", Tissue::muscle, tube(spline(pharynx_nodes(4.0))));
    // Inferior pharyngeal constrictor: from the thyroid cartilage oblique line and the cricoid
    // around the back of the hypopharynx, down to the cricopharyngeus at the cricoid's lower
    // border (C6) [K].
    {
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
  }

  std::vector<TubeNode> pharynx_nodes(double wall) const {
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

  // ------------------------------------------------------------------------------------------
  void glands() {
    for (int s : {-1, 1}) {
      const int si = s > 0 ? 0 : 1;
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
      // Thyroid lobe beside the trachea and lower larynx, upper pole at the thyroid cartilage's
      // oblique line (C5), lower pole at ~C7–T1; upper pole tilted lateral and back [K; sizes drawn in
      // model_parameters.cpp].
      double zc = 0.5 * (vert("C5").mid() + vert("C5").lo) + 4 - 0.5 * p_.lobe_len[si];
      zc = std::max(zc, 0.5 * p_.lobe_len[si] + 1.0);
      double a = 0.5 * p_.lobe_width[si], b = 0.5 * p_.lobe_depth[si], c = 0.5 * p_.lobe_len[si];
      // Beside the trachea, its medial surface against the trachea and cricoid (the trachea, subtracted
      // below, leaves it concave), reaching back toward the tracheo-oesophageal groove; the upper pole
      // leans laterally onto the outer surface of the thyroid cartilage lamina at the oblique line,
      // lateral to the inferior constrictor [K: Gray's Anatomy, thyroid gland relations].
      Vec3 centre(s * (0.5 * p_.trachea_cor + 0.85 * a), y_airway(zc) + 0.5, zc);
      Mat3 axes = rotation_y(s * 12 * kDeg) * rotation_x(-10 * kDeg);
      ShapePtr lobe = ellipsoid(centre, Vec3(a, b, c), axes);
      lobes_[si] = {centre, Vec3(a, b, c), axes};
      // The isthmus joins the lobes in front of tracheal rings 2–4 (Hegedüs 2001).
      thyroid_parts_.push_back(lobe);
    }
    {
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
      thyroid_parts_.push_back(tube(spline(arc)));
    }
    std::vector<TubeNode> trachea_cut;
    for (double z = -20; z <= 80; z += 5)
      trachea_cut.push_back(
          {Vec3(0, y_airway(z), z), 0.5 * p_.trachea_cor + 1.2, 0.5 * p_.trachea_sag + 1.2, Vec3::UnitX()});
    add("thyroid_gland",
        Tissue::thyroid,
        subtract(unite(thyroid_parts_), tube(spline(trachea_cut))),
        p_.hu(11));
  }

  void lungs() {
    // Lung apices rise above the first rib into the root of the neck, ~2.5 cm above the medial third
    // of the clavicle [K].
    for (int s : {-1, 1})
      add(sided("lung_upper_lobe", s),
          Tissue::lung,
          ellipsoid(Vec3(s * 52, 18, -88), Vec3(32, 44, 90), rotation_y(-s * 0.1)));
  }

  // ------------------------------------------------------------------------------------------
  void airway_and_oesophagus() {
    // Oesophagus from the cricopharyngeus (lower border of the cricoid, C6) down, behind the
    // trachea and a little to the left (Gray's: its left border projects beyond the trachea).
    {
      std::vector<TubeNode> n;
      for (double z = -75; z <= cricoid_low() + 2; z += 4)
        n.push_back({Vec3(3.5 + 1.0 * smoothstep(40, -20, z), y_oesophagus(z), z),
                     p_.oes_a,
                     p_.oes_b,
                     Vec3::UnitX()});
      add("esophagus", Tissue::muscle, tube(spline(n)), p_.hu(12));
    }
    // Trachea (outer wall incl. rings) and its lumen, elliptical in section (the flat posterior
    // membranous wall [K] is not modelled).
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
    // Larynx air: subglottis → glottis (narrow) → ventricles → vestibule [K].
    {
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
  }

  void cartilages() {
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
    // Thyroid cartilage: two laminae meeting in front at the laryngeal prominence; superior border
    // at C4–C5 (Mirjalili 2012), ~20 mm high, with superior and inferior horns [K].
    {
      double z_bot = zl + 10, z_top = z_bot + 21;
      double y_apex = y_airway(z_top) - 14.5;
      thyroid_cartilage_top_ = z_top;
      prominence_ = Vec3(0, y_apex - 1.3, z_top - 3);
      std::vector<ShapePtr> parts;
      const double len = 30, half_thick = 1.3;
      for (int s : {-1, 1}) {
        Vec3 u(s * std::sin(p_.lamina_half_angle), std::cos(p_.lamina_half_angle), 0);
        Mat3 axes;
        axes.col(0) = u;
        axes.col(1) = Vec3(u.y(), -u.x(), 0) * s; // normal
        axes.col(2) = Vec3::UnitZ();
        Vec3 centre(0, y_apex, 0.5 * (z_top + z_bot));
        centre += u * (0.5 * len);
        parts.push_back(box(centre, Vec3(0.5 * len, half_thick, 0.5 * (z_top - z_bot)), axes));
        Vec3 back_top = Vec3(0, y_apex, z_top) + u * (len - 1.5);
        Vec3 back_bot = Vec3(0, y_apex, z_bot) + u * (len - 1.5);
        parts.push_back(tube({back_top, back_top + Vec3(0, 2, 13)}, 1.8));
        parts.push_back(tube({back_bot, back_bot + Vec3(-s * 1.5, 1, -7)}, 1.8));
      }
      ShapePtr cart = subtract(unite(parts), ellipsoid(Vec3(0, y_apex, z_top + 1), Vec3(5, 6, 6)));
      add("thyroid_cartilage", Tissue::cartilage, cart, p_.hu(15));
    }
  }

  // ------------------------------------------------------------------------------------------
  void bones() {
    for (const auto& v : vertebrae())
      vertebra(v);
    atlas();
    skull();
    mandible();
    hyoid();
    for (int s : {-1, 1}) {
      // Styloid process: ~20–30 mm long (elongated above 30 mm, Eagle), from the skull base
      // anteroinferomedially between the ICA (medial) and the ECA (lateral) [K].
      double zb = basion_z() + 6;
      Vec3 base(s * 37, y_body(c1_mid()) - 8, zb), tip(s * 31, y_body(c1_mid()) - 22, zb - 22);
      add(sided("styloid_process", s),
          Tissue::bone,
          tube({TubeNode{base, 2.2, 2.2, Vec3::UnitX()}, TubeNode{tip, 1.3, 1.3, Vec3::UnitX()}}));
      // Clavicle: sternal end at the sternoclavicular joint, S-shaped, rising laterally [K].
      std::vector<TubeNode> cl{{Vec3(s * 20, -60, -38), 8, 7, Vec3::UnitZ()},
                               {Vec3(s * 40, -60, -33), 7, 6, Vec3::UnitZ()},
                               {Vec3(s * 65, -52, -27), 6.5, 5.5, Vec3::UnitZ()},
                               {Vec3(s * 90, -40, -23), 6, 5.5, Vec3::UnitZ()},
                               {Vec3(s * 112, -26, -20), 6.5, 5.5, Vec3::UnitZ()},
                               {Vec3(s * 140, -10, -18), 8, 5, Vec3::UnitZ()}};
      add(s > 0 ? "clavicula_left" : "clavicula_right", Tissue::bone, tube(spline(cl)));
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
        Vec3 t = pts[std::min(i + 1, pts.size() - 1)] - pts[i == 0 ? 0 : i - 1];
        Vec3 w = t.cross(Vec3::UnitZ());
        rib.push_back({pts[i], i == 0 ? 4.0 : 7.0, 3.0, w.normalized()});
      }
      add(s > 0 ? "rib_left_1" : "rib_right_1", Tissue::bone, tube(spline(rib)));
    }
    // Manubrium: jugular notch at ~T2/T3, at the bottom of the field of view [K].
    add("sternum", Tissue::bone, ellipsoid(Vec3(0, -66, -70), Vec3(26, 8, 28), Mat3::Identity(), 3, 3));
  }

  void vertebra(const Vertebra& v) {
    std::vector<ShapePtr> parts;
    const double zm = v.mid(), h = v.hi - v.lo, yb = y_body(zm);
    const bool thoracic = v.name[10] == 'T';
    const bool axis = v.name == "vertebrae_C2";
    // Body: rounded box with flat end plates.
    parts.push_back(
        ellipsoid(Vec3(0, yb, zm), Vec3(0.5 * v.width, 0.5 * v.depth, 0.5 * h), Mat3::Identity(), 2.6, 8));
    // Intervertebral disc below (unlabelled).
    {
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

  void atlas() {
    const double z = c1_mid(), yb = y_body(z);
    std::vector<ShapePtr> parts;
    const double yd = yb + 1; // dens centre
    // Anterior arch in front of the dens, posterior arch behind the canal.
    std::vector<TubeNode> front, back;
    for (int k = -4; k <= 4; ++k) {
      double ang = k * 16 * kDeg;
      front.push_back({Vec3(13 * std::sin(ang), yd - 9.5 * std::cos(ang), z), 5.5, 3.0, Vec3::UnitZ()});
      back.push_back(
          {Vec3(16 * std::sin(ang), yd + 19 + 12 * std::cos(ang), z - 1), 4.5, 3.0, Vec3::UnitZ()});
    }
    parts.push_back(tube(spline(front)));
    parts.push_back(tube(spline(back)));
    for (int s : {-1, 1}) {
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

  void skull() {
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
    brain_ = ellipsoid(centre, inner);
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
    hard_palate_z_ = zp;
    parts.push_back(box(Vec3(0, -54, zp), Vec3(17, 20, 2.5)));
    std::vector<TubeNode> ridge;
    for (int k = -4; k <= 4; ++k) {
      double ang = k * 22 * kDeg;
      ridge.push_back({Vec3(24 * std::sin(ang), -48 - 26 * std::cos(ang), zp - 3), 6.5, 5, Vec3::UnitZ()});
    }
    parts.push_back(tube(spline(ridge)));
    for (int s : {-1, 1}) {
      Vec3 c(s * 22, -50, zp + 18);
      parts.push_back(subtract(ellipsoid(c, Vec3(15, 20, 16)), ellipsoid(c, Vec3(13, 18, 14))));
      sinus_[s > 0 ? 0 : 1] = ellipsoid(c, Vec3(13, 18, 14));
    }
    parts.push_back(box(Vec3(0, -55, zp + 16), Vec3(1.2, 20, 14)));
    add("skull", Tissue::bone, unite(parts));
    add("", Tissue::brain, brain_);
    for (int i = 0; i < 2; ++i)
      add("", Tissue::air, sinus_[i]);
    // Nasal cavity air either side of the septum.
    for (int s : {-1, 1})
      add("", Tissue::air, box(Vec3(s * 6.5, -50, zp + 18), Vec3(5, 20, 13)));
  }

  void mandible() {
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
      gonion_[s > 0 ? 0 : 1] = Vec3(s * 47, -16, zc - 13);
    }
    add("mandible", Tissue::bone, unite(parts));
  }

  void hyoid() {
    // Hyoid body at about C3–C4 (Mirjalili 2012: its centre at C4 in 54 %), greater horns
    // reaching back toward the superior horns of the thyroid cartilage [K].
    const double z = vert("C4").hi + 3;
    hyoid_z_ = z;
    double yf = y_airway(z) - 19;
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

  // ------------------------------------------------------------------------------------------
  // Vessels
  //! Where the brachiocephalic trunk divides: behind the right sternoclavicular joint [K].
  Vec3 bct_top() const { return Vec3(-14, y_airway(-28) - 1, -28); }

  double bifurcation_z(int s) const {
    double disc = 0.5 * (vert("C3").lo + vert("C4").hi);
    double right = disc + p_.bif_right_offset;
    double z = s > 0 ? right + p_.bif_left_minus_right : right;
    return std::clamp(z, vert("C5").lo + 3, vert("C3").hi - 3);
  }

  //! Carotid (CCA below the bifurcation, ICA above) centre and radius at z.
  std::vector<TubeNode> carotid_nodes(int s) const {
    const int si = s > 0 ? 0 : 1;
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
      c += w.at(k.z) * smoothstep(-30, 0, k.z);
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

  std::vector<TubeNode> ijv_nodes(int s, const std::vector<TubeNode>& carotid) const {
    const int si = s > 0 ? 0 : 1;
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

  void veins() {
    for (int s : {-1, 1}) {
      const int si = s > 0 ? 0 : 1;
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

  void arteries() {
    const bool aberrant = options_.aberrant_right_subclavian;
    // Brachiocephalic trunk from the arch up and to the right, dividing behind the right
    // sternoclavicular joint (~T2 level) [K].
    if (!aberrant) {
      std::vector<TubeNode> bct{{Vec3(-1, y_airway(-80) - 10, -80), 6, 6, Vec3::UnitX()},
                                {Vec3(-6, y_airway(-50) - 6, -50), 6, 6, Vec3::UnitX()},
                                {bct_top(), 5.5, 5.5, Vec3::UnitX()}};
      add("brachiocephalic_trunk", Tissue::artery, tube(spline(bct)), p_.hu(18));
    }
    // Carotids (computed in veins()); the ICA continues into the carotid canal.
    for (int s : {-1, 1}) {
      const int si = s > 0 ? 0 : 1;
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
    // Subclavian arteries arch over the lung apex and first rib, behind the anterior scalene [K].
    for (int s : {-1, 1}) {
      std::vector<TubeNode> sa;
      auto node = [](Vec3 c, double r) { return TubeNode{c, r, r, Vec3::UnitX()}; };
      if (s > 0) {
        sa.push_back(node(Vec3(15, y_oesophagus(-80) + 2, -80), 5));
        sa.push_back(node(Vec3(18, y_oesophagus(-40), -40), 5));
        sa.push_back(node(Vec3(24, -10, -18), 4.6));
      } else if (!aberrant) {
        sa.push_back(node(bct_top(), 4.8));
        sa.push_back(node(Vec3(-24, -16, -19), 4.6));
      } else {
        // Aberrant right subclavian (arteria lusoria): last branch of the arch, crossing behind the
        // oesophagus from left to right (Polguj et al. 2014 Biomed Res Int 292734: retro-oesophageal
        // in ~80 %).
        double yr = y_spine_front(-45) - 5.5;
        sa.push_back(node(Vec3(10, yr, -80), 5));
        sa.push_back(node(Vec3(5, yr, -50), 5));
        sa.push_back(node(Vec3(-6, y_spine_front(-35) - 5.5, -35), 4.8));
        sa.push_back(node(Vec3(-18, y_spine_front(-25) - 6.5, -25), 4.7));
        sa.push_back(node(Vec3(-26, -10, -17), 4.6));
      }
      sa.push_back(node(Vec3(s * 36, -9, -11), 4.5));
      sa.push_back(node(Vec3(s * 46, -9, -13), 4.4));
      sa.push_back(node(Vec3(s * 58, -12, -21), 4.3));
      sa.push_back(node(Vec3(s * 72, -16, -30), 4.2));
      sa.push_back(node(Vec3(s * 100, -22, -40), 4.2));
      sa.push_back(node(Vec3(s * 135, -24, -50), 4.2));
      subclavian_[s > 0 ? 0 : 1] = spline(sa);
      add(sided("subclavian_artery", s), Tissue::artery, tube(subclavian_[s > 0 ? 0 : 1]), p_.hu(20));
      // Vertebral artery: first branch of the subclavian, into the C6 foramen transversarium, up
      // through the foramina, behind the atlas' lateral mass and into the foramen magnum [K].
      std::vector<TubeNode> va;
      va.push_back(node(Vec3(s * 26, -9, -13), 2.1));
      va.push_back(node(Vec3(s * 20, y_body(5) - 3, 5), 2.0));
      for (const char* name : {"C6", "C5", "C4", "C3", "C2"}) {
        const Vertebra& v = vert(name);
        va.push_back(node(Vec3(s * (0.5 * v.width + 6), y_body(v.mid()) + 3, v.mid()), 2.0));
      }
      double yb = y_body(c1_mid());
      va.push_back(node(Vec3(s * 28, yb + 9, c1_mid()), 2.0));
      va.push_back(node(Vec3(s * 24, yb + 22, c1_hi() + 1), 2.0));
      va.push_back(node(Vec3(s * 12, yb + 24, c1_hi() + 3), 2.0));
      va.push_back(node(Vec3(s * 6, yb + 14, basion_z() + 8), 2.0));
      va.push_back(node(Vec3(s * 3, yb + 4, kFovTop + 10), 2.0));
      add("", Tissue::artery, tube(spline(va)));
    }
  }

  void canal_and_cord() {
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

  // ------------------------------------------------------------------------------------------
  // Reference nerve courses (phantom-author constructions from textbook anatomy, used only to
  // place tumours and recorded in truth.json; not the nerve rules).
  void reference_nerves() {
    for (int s : {-1, 1}) {
      const int si = s > 0 ? 0 : 1;
      // Vagus: in the carotid sheath, in the posterior angle between the carotid (CCA/ICA) and the
      // IJV, touching both [K].
      std::vector<Vec3> vagus;
      for (double z = kFovTop; z >= -20; z -= 2) {
        auto c = node_at_z(carotid_[si], z);
        auto j = node_at_z(ijv_[si], z);
        if (!c || !j)
          continue;
        vagus.push_back(groove_point(*c, *j, 1.3));
      }
      // Below the IJV: behind the brachiocephalic vein; the right crosses in front of the
      // subclavian artery, the left runs between the CCA and the subclavian artery [K].
      Vec3 last = vagus.back();
      vagus.push_back(Vec3(s * (std::abs(last.x()) - 4), last.y() + 1, -32));
      vagus.push_back(Vec3(s * (std::abs(last.x()) - 7), last.y() + 2, kFovBottom - 15));
      nerve(sided("vagus", s), vagus);

      // Recurrent laryngeal: left from the arch up in the tracheo-oesophageal groove; right loops
      // under the subclavian artery and ascends obliquely (~25° to the sagittal plane, 6.5 mm
      // anterior and 7.3 mm lateral of the groove at C7: Ebraheim et al. 1997 Spine), joining the
      // groove ~44.5 mm below the laryngeal prominence (left ~77 mm) and entering the larynx
      // behind the cricothyroid joint [K; research notes RLN-3..RLN-5].
      std::vector<Vec3> rln;
      const double zl = cricoid_low();
      auto groove = [&](double z) {
        double xe = 3.5 + 1.0 * smoothstep(40, -20, z);
        double x = s > 0 ? std::max(0.5 * p_.trachea_cor * 0.85, xe + p_.oes_a * 0.55)
                         : -(0.5 * p_.trachea_cor * 0.85);
        if (s < 0)
          x = std::min(x, xe - p_.oes_a * 0.75);
        return Vec3(x + s * 1.5, y_airway(z) + 0.5 * p_.trachea_sag * 0.75, z);
      };
      Vec3 entry(s * (0.5 * p_.trachea_cor + 4.5), y_airway(zl + 6) + 10, zl + 6);
      if (s > 0) {
        for (double z = kFovBottom - 15; z <= zl; z += 4)
          rln.push_back(groove(z));
        rln.push_back(entry);
      } else if (!options_.aberrant_right_subclavian) {
        // Hooks under the subclavian artery where the vagus crosses it.
        auto sa = subclavian_[1];
        Vec3 hook = sa[sa.size() / 4].centre + Vec3(0, 2, -6);
        rln.push_back(hook);
        double z7 = vert("C7").mid();
        Vec3 c7 = groove(z7) + Vec3(-7.3, -6.5, 0);
        Vec3 mid = 0.5 * (hook + c7);
        mid.z() = 0.5 * (hook.z() + z7);
        rln.push_back(mid);
        rln.push_back(c7);
        for (double z = z7 + 12; z <= zl; z += 4)
          rln.push_back(groove(z));
        rln.push_back(entry);
      } else {
        // Non-recurrent inferior laryngeal nerve with an aberrant right subclavian artery: leaves
        // the vagus near the laryngotracheal junction and runs medially to the larynx (Henry et al.
        // 2017 PeerJ 5:e3012).
        Vec3 from = groove_point(*node_at_z(carotid_[si], zl + 10), *node_at_z(ijv_[si], zl + 10), 1.3);
        rln.push_back(from);
        rln.push_back(0.5 * (from + entry) + Vec3(0, 2, -3));
        rln.push_back(entry);
      }
      nerve(sided("recurrent_laryngeal", s), smooth(rln));

      // External branch of the superior laryngeal nerve: from medial to the ICA down on the inferior
      // constrictor to the cricothyroid, ~19.7 mm from the midline at the lower thyroid-cartilage
      // edge and ~18.4 mm at the cricoid top (Estrela et al. 2011 Braz J Otorhinolaryngol 77:249).
      {
        Vec3 ica = node_at_z(carotid_[si], bifurcation_z(s) + 18)->centre;
        std::vector<Vec3> eb{ica + Vec3(-s * (p_.ica_r[si] + 3), 2, 0),
                             Vec3(s * 21, y_airway(hyoid_z_) + 7, hyoid_z_),
                             Vec3(s * 20.5, y_airway(thyroid_cartilage_top_) + 3, thyroid_cartilage_top_),
                             Vec3(s * 19.7, y_airway(zl + 10) - 2, zl + 10),
                             Vec3(s * 18.4, y_airway(zl + 6) - 6, zl + 6),
                             Vec3(s * 11, y_airway(zl + 4) - 11, zl + 4)};
        nerve(sided("superior_laryngeal_external", s), smooth(eb));
      }
      // Spinal accessory: jugular foramen → anterior to the C1 transverse process, lateral to the
      // IJV → deep to the SCM → its posterior border ~1/3 down (Ellis et al. 2023 Folia Morphol) →
      // across the posterior triangle on the levator scapulae → trapezius ~6 cm above the clavicle
      // (Tubbs et al. 2005 J Neurosurg Spine 3:375) [K].
      {
        auto ijv_c1 = node_at_z(ijv_[si], c1_mid())->centre;
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
      // Phrenic: on the anterior surface of the anterior scalene from C4, crossing it from lateral
      // to medial, into the thorax between subclavian vein and artery [K; research notes PH-1].
      {
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
      // Sympathetic trunk: on the longus muscles behind the carotid sheath, ~10.6 mm lateral of the
      // longus colli's medial border at C6 (Ebraheim 2000), converging caudally (Kiray et al. 2005
      // Clin Anat 18:179); superior ganglion at C2–C3, stellate at C7–T1 [K].
      {
        std::vector<Vec3> st;
        for (double z = 118; z >= vert("T1").mid(); z -= 4) {
          auto m = node_at_z(prevert_[si], z);
          if (!m)
            continue;
          double medial = std::abs(m->centre.x()) - m->a;
          double lateral_offset =
              z > vert("C3").mid()
                  ? 17.2
                  : 12.4 + (z - vert("C7").mid()) / (vert("C3").mid() - vert("C7").mid()) * 4.8;
          lateral_offset = std::clamp(lateral_offset, 10.0, 17.2) * 0.75;
          st.push_back(Vec3(s * (medial + lateral_offset), m->centre.y() - m->b - 1.0, z));
        }
        nerve(sided("sympathetic_trunk", s), smooth(st));
      }
      // Hypoglossal: hypoglossal canal → between ICA and IJV → crosses lateral to the ICA ~30 mm and
      // the ECA ~15 mm above the bifurcation (Kariuki et al. 2018 CMTR 11:21) → forward ~12 mm above
      // the hyoid's greater horn (D'Souza et al. 2017) → tongue [K].
      {
        double zb = bifurcation_z(s);
        auto ica30 = node_at_z(carotid_[si], zb + 30);
        auto eca15 = node_at_z(eca_[si], zb + 15);
        std::vector<Vec3> xii{Vec3(s * 14, y_body(c1_mid()) + 6, basion_z() + 4),
                              Vec3(s * 22, y_body(c1_mid()) + 4, c1_hi()),
                              ica30->centre + Vec3(s * (ica30->a + 2.5), -1.5, 0),
                              eca15 ? eca15->centre + Vec3(s * (eca15->a + 2.5), -1, 0)
                                    : ica30->centre + Vec3(s * 3, -8, -15),
                              Vec3(s * 20, y_airway(hyoid_z_) - 6, hyoid_z_ + 12),
                              Vec3(s * 13, -52, 98)};
        nerve(sided("hypoglossal", s), smooth(xii));
      }
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
  }

  //! Point touching both vessels (radii + nerve radius) on the posterior side of the line between
  //! their centres (circle–circle intersection in the axial plane).
  static Vec3 groove_point(const TubeNode& artery, const TubeNode& vein, double nerve_r) {
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

  static std::vector<Vec3> smooth(const std::vector<Vec3>& pts) {
    std::vector<TubeNode> n;
    for (const auto& p : pts)
      n.push_back({p, 1, 1, Vec3::UnitX()});
    return centres(spline(n, 1.0));
  }

  void nerve(const std::string& id, const std::vector<Vec3>& canonical) {
    std::vector<Vec3> actual;
    for (const auto& p : resample(canonical, 0.5))
      actual.push_back(model_.warp.forward(p));
    model_.nerves[id] = resample(actual, 1.0);
  }

  // ------------------------------------------------------------------------------------------
  void landmarks() {
    auto& l = model_.landmarks;
    auto lps = [&](const Vec3& c) {
      Vec3 p = model_.warp.forward(c);
      return nlohmann::json::array({p.x(), p.y(), p.z()});
    };
    l["laryngeal_prominence"] = lps(prominence_);
    l["hyoid_body"] = lps(Vec3(0, y_airway(hyoid_z_) - 19, hyoid_z_));
    for (int s : {-1, 1}) {
      const int si = s > 0 ? 0 : 1;
      l[sided("carotid_bifurcation", s)] = lps(bifurcation_[si]);
      // Superior pole: the most cranial point of the lobe's ellipsoid.
      const auto& [c, semi, axes] = lobes_[si];
      Vec3 up = axes.transpose() * Vec3::UnitZ();
      Vec3 local = semi.cwiseProduct(semi).cwiseProduct(up);
      local /= std::sqrt(up.dot(semi.cwiseProduct(semi).cwiseProduct(up)));
      l[sided("superior_thyroid_pole", s)] = lps(c + axes * local);
      l[sided("gonion", s)] = lps(gonion_[si]);
    }
    l["cricoid_lower_border_z_mm"] = model_.warp.forward(Vec3(0, y_airway(cricoid_low()), cricoid_low())).z();
    l["hard_palate_z_mm"] = model_.warp.forward(Vec3(0, -54, hard_palate_z_)).z();
    nlohmann::json bodies = nlohmann::json::object();
    for (const auto& v : vertebrae())
      bodies[v.name] = {v.lo * p_.scale_z, v.hi * p_.scale_z};
    l["vertebral_body_z_mm"] = bodies;
    l["t1_body_top_z_mm"] = vert("T1").hi * p_.scale_z;
  }

  const Options& options_;
  Model& model_;
  double hard_palate_z_ = 0;
  double hyoid_z_ = 0, thyroid_cartilage_top_ = 0;
  Vec3 prominence_ = Vec3::Zero();
  std::vector<TubeNode> asm_[2], prevert_[2], scm_[2], carotid_[2], ijv_[2], eca_[2], subclavian_[2];
  std::vector<ShapePtr> thyroid_parts_;
  std::tuple<Vec3, Vec3, Mat3> lobes_[2];
  Vec3 bifurcation_[2], gonion_[2];
  ShapePtr brain_, sinus_[2];
};

} // namespace

Model build_model(const Options& options) {
  Model model;
  NeckBuilder(options, model).build();
  return model;
}

} // namespace nervemap::phantom::detail
