// The neck model's random draws (all of them, in one fixed order, so a seed is one neck), their
// record in truth.json, and the scan geometry they imply: the patient warp and the field of view.
#include "phantom/internal.h"

#include <cmath>

namespace nervemap::phantom::detail {

namespace {

void draw_body_and_spine(Rng& rng, NeckParameters& p) {
  // Body size: adult neck circumference 36–40 cm (men) / 31–35 cm (women) (Ben-Noun, Sohar, Laor
  // 2001 Obes Res 9:470); the canonical neck is a man's (~120 × 116 mm at C6, circumference ~37 cm).
  p.scale_xy = rng.normal(1.0, 0.04, 0.9, 1.1);
  p.scale_z = rng.normal(1.0, 0.035, 0.92, 1.08);
  p.neck_width = rng.normal(1.0, 0.03, 0.93, 1.07);
  p.neck_depth = rng.normal(1.0, 0.03, 0.93, 1.07);
  p.fat_mm = rng.uniform(4.0, 9.0); // subcutaneous fat of the neck [K]
  // Cervical lordosis: bodies of C4–C5 a few mm anterior of C2 and T1 [K].
  p.lordosis = rng.normal(0.0011, 0.00025, 0.0005, 0.0017);
  // Vertebral body heights ~14–15 mm (C3–C7) with ~5 mm discs (Panjabi et al. 1991 Spine 16:861;
  // Gilad & Nissan 1985 J Anat 143:115); T1 ~17 mm, T2 ~19 mm [K].
  for (double& h : p.body_height_jitter)
    h = rng.normal(0.0, 0.6, -1.5, 1.5);
  for (double& d : p.disc)
    d = rng.normal(5.0, 0.4, 4.0, 6.0);
}

void draw_vessels(Rng& rng, NeckParameters& p) {
  // Carotid bifurcation: most often at C3 / C3–C4, 1.6 ± 1.2 cm above the upper border of the
  // thyroid laminae (Mirjalili et al. 2012 Clin Anat 25:851); the left on average higher than the
  // right (Griepp et al. 2021 Comput Math Methods Med, 11.4 mm in cadavers). Drawn relative to the
  // C3/C4 disc and clamped to C3–C5 (NeckBuilder::bifurcation_z).
  p.bif_right_offset = rng.normal(-2.0, 4.0, -12.0, 8.0);
  p.bif_left_minus_right = rng.normal(6.0, 4.0, -4.0, 14.0);
  // CCA diameter 6.52 ± 0.98 mm (men), ICA 5.11 ± 0.87 mm (Krejza et al. 2006 Stroke 37:1103).
  double cca = rng.normal(6.4, 0.5, 5.3, 7.6), ica = rng.normal(5.0, 0.45, 4.1, 5.9);
  for (int i = 0; i < 2; ++i) {
    p.cca_r[i] = 0.5 * cca * rng.normal(1.0, 0.04, 0.92, 1.08);
    p.ica_r[i] = 0.5 * ica * rng.normal(1.0, 0.04, 0.92, 1.08);
  }
  // IJV: right dominant in 72 % (Bos et al. 2016 J Clin Anesth 32:65); CT diameters right 17 ± 5,
  // left 14 ± 5 mm (Tartière et al. 2009 Crit Care 13:R197, doi 10.1186/cc8200). Oval section.
  p.right_ijv_dominant = rng.chance(0.72);
  double dom = rng.normal(16.0, 1.8, 12.5, 20.0), minor = dom * rng.uniform(0.7, 0.95);
  p.ijv_a[0] = 0.5 * (p.right_ijv_dominant ? minor : dom); // index 0 = left, 1 = right
  p.ijv_a[1] = 0.5 * (p.right_ijv_dominant ? dom : minor);
  for (int i = 0; i < 2; ++i)
    p.ijv_flat[i] = rng.uniform(0.62, 0.8);
  p.ijv_gap[0] = rng.uniform(0.8, 2.5);
  p.ijv_gap[1] = rng.uniform(0.8, 2.5);
}

void draw_viscera(Rng& rng, NeckParameters& p) {
  // Trachea coronal diameter 13–25 mm in men (Breatnach, Abbott, Fraser 1984 AJR 142:903);
  // sagittal slightly smaller; wall ~2 mm [K].
  p.trachea_cor = rng.normal(19.0, 1.6, 15.0, 23.0);
  p.trachea_sag = p.trachea_cor * rng.normal(0.93, 0.04, 0.85, 1.02);
  // Oesophagus: AP ≤ 16 mm and lateral ≤ 24 mm are normal (Schmalfuss, Mancuso, Tart 2000
  // Radiology 214:237); collapsed, ~20 × 11 mm.
  p.oes_a = 0.5 * rng.normal(20.0, 1.5, 17.0, 23.0);
  p.oes_b = 0.5 * rng.normal(11.0, 1.0, 9.0, 14.0);
  // Thyroid lobe 40–60 mm long, 13–18 mm thick, transverse ~15–17 mm; isthmus ≤ 4–5 mm thick
  // (Hegedüs 2001 Endocrinol Metab Clin North Am 30:339; normal volume 10–20 ml).
  double lobe_len = rng.normal(50.0, 3.5, 42.0, 58.0);
  for (int i = 0; i < 2; ++i) {
    double f = rng.normal(1.0, 0.05, 0.88, 1.12);
    p.lobe_len[i] = lobe_len * f;
    p.lobe_width[i] = rng.normal(16.5, 1.3, 13.0, 20.0) * f;
    p.lobe_depth[i] = rng.normal(16.0, 1.2, 13.0, 19.0) * f;
  }
  p.isthmus_mm = rng.normal(4.5, 0.6, 3.0, 6.0);
  // Thyroid cartilage laminae meet at ~90° in men, ~120° in women [K].
  p.lamina_half_angle = rng.normal(47.0, 4.0, 40.0, 60.0) * kDeg;
}

void draw_posture_and_variation(Rng& rng, NeckParameters& p) {
  // Head posture on the table: small lateral tilt, flexion and rotation [K: positioning].
  p.tilt_deg = rng.normal(0.0, 2.5, -6.0, 6.0);
  p.flex_deg = rng.normal(0.0, 2.0, -5.0, 5.0);
  p.twist_deg = rng.normal(0.0, 3.0, -7.0, 7.0);
  for (auto& w : p.wander) {
    for (int i = 0; i < 2; ++i) {
      w.ax[i] = rng.normal(0.0, 0.9, -2.0, 2.0);
      w.ay[i] = rng.normal(0.0, 0.9, -2.0, 2.0);
      w.wave[i] = i == 0 ? rng.uniform(80, 140) : rng.uniform(40, 70);
    }
    for (double& ph : w.phase)
      ph = rng.uniform(0, 2 * std::numbers::pi);
  }
  for (double& j : p.jitter_draws)
    j = rng.normal(0.0, 1.0, -2.5, 2.5);
  for (double& h : p.hu_draws)
    h = rng.normal(0.0, 3.0, -7.0, 7.0); // per-structure HU variation, kept inside the tissue ranges
}

} // namespace

NeckParameters draw_neck_parameters(uint64_t seed) {
  Rng rng(seed);
  NeckParameters p;
  draw_body_and_spine(rng, p);
  draw_vessels(rng, p);
  draw_viscera(rng, p);
  draw_posture_and_variation(rng, p);
  return p;
}

nlohmann::json parameters_json(const NeckParameters& p, bool aberrant_right_subclavian) {
  nlohmann::json j = nlohmann::json::object();
  j["scale_xy"] = p.scale_xy;
  j["scale_z"] = p.scale_z;
  j["subcutaneous_fat_mm"] = p.fat_mm;
  j["lordosis_per_mm2"] = p.lordosis;
  j["cca_diameter_mm"] = {{"left", 2 * p.cca_r[0]}, {"right", 2 * p.cca_r[1]}};
  j["ica_diameter_mm"] = {{"left", 2 * p.ica_r[0]}, {"right", 2 * p.ica_r[1]}};
  j["ijv_lateral_diameter_mm"] = {{"left", 2 * p.ijv_a[0]}, {"right", 2 * p.ijv_a[1]}};
  j["trachea_diameter_mm"] = {{"coronal", p.trachea_cor}, {"sagittal", p.trachea_sag}};
  j["thyroid_lobe_mm"] = {{"left", {p.lobe_len[0], p.lobe_width[0], p.lobe_depth[0]}},
                          {"right", {p.lobe_len[1], p.lobe_width[1], p.lobe_depth[1]}}};
  j["thyroid_isthmus_mm"] = p.isthmus_mm;
  j["head_tilt_deg"] = p.tilt_deg;
  j["head_flexion_deg"] = p.flex_deg;
  j["head_rotation_deg"] = p.twist_deg;
  j["aberrant_right_subclavian"] = aberrant_right_subclavian;
  return j;
}

Warp patient_warp(const NeckParameters& p) {
  // The posture bends and twists the neck above z = 30 mm (about C6) up to the top of the scan.
  Warp w;
  w.scale_xy = p.scale_xy;
  w.scale_z = p.scale_z;
  w.pivot_z = 30 * p.scale_z;
  double h = (kFovTop - 30) * p.scale_z;
  w.bend_lateral = std::tan(p.tilt_deg * kDeg) / (2 * h);
  w.bend_sagittal = std::tan(p.flex_deg * kDeg) / (2 * h);
  w.twist_rad_per_mm = p.twist_deg * kDeg / h;
  w.twist_limit_mm = h;
  return w;
}

Box field_of_view(const NeckParameters& p) {
  // x and y: the neck with a margin; the shoulders, wider below the inlet, are cut.
  Box fov;
  fov.lo = Vec3(-125, -110, kFovBottom * p.scale_z);
  fov.hi = Vec3(125, 115, kFovTop * p.scale_z);
  return fov;
}

} // namespace nervemap::phantom::detail
