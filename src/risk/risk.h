// nervemap risk: how close the tumour comes to each estimated nerve (design §5).
//
// Distances are exact Euclidean distances in mm from the nerve centre line to the tumour mask's surface,
// taken as the union of its voxel cells on the CT grid (a k-d tree over the boundary voxels finds the
// candidates, then the exact point-to-cell distance decides). A nerve point inside the tumour has
// distance 0. The grade uses the 95 % corridor radius; probabilities of proximity integrate the corridor's
// Gaussian and the variant mixture.
#pragma once

#include "anatomy/anatomy.h"
#include "core/core.h"
#include "nerves/nerves.h"

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nervemap::risk {

namespace fs = std::filesystem;

struct GradeThresholds {
  double contact_mm = 1.0;
  double encasement_contact_deg = 180;
  double moderate_margin_mm = 5.0;
  std::vector<double> p_within_mm{1, 2, 5, 10};
  double abutment_mm = 1.0;
};

//! Read config/risk_grades.yaml (InputError on a bad file).
GradeThresholds load_thresholds(const fs::path& file);
//! $NERVEMAP_RISK_CONFIG, else the source tree's config/risk_grades.yaml.
fs::path default_thresholds_path();

//! Distance queries against the voxel cells of some labels of a label map.
class TumourSurface {
public:
  TumourSurface(const MaskVolume& labels, const std::vector<int>& values);
  ~TumourSurface();
  TumourSurface(TumourSurface&&) noexcept;
  bool empty() const;
  //! Distance (mm) from p to the nearest tumour cell; 0 inside. `closest` gets the nearest surface point.
  double distance(const Vec3& p, Vec3* closest = nullptr) const;
  //! Like distance(), exact up to `limit`; beyond it a lower bound (> limit) returned early.
  double distance_within(const Vec3& p, double limit, Vec3* closest = nullptr) const;
  bool inside(const Vec3& p) const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct TumourDistance {
  double min_distance_mm = 0;
  Vec3 closest_nerve = Vec3::Zero(), closest_tumour = Vec3::Zero();
  std::vector<double> profile_mm; //!< per path point
};

struct NerveRisk {
  std::string id;
  bool assessed = false;                           //!< false for not_estimated nerves or no tumour
  std::map<std::string, TumourDistance> by_tumour; //!< "GTVp", "GTVn" (present ones)
  TumourDistance combined;                         //!< both tumours together
  std::string closest_tumour;
  bool inside_tumour = false;
  double length_inside_mm = 0, length_mm = 0;
  double length_within_5mm = 0, length_within_10mm = 0;
  double fraction_within_5mm = 0, fraction_within_10mm = 0; //!< of length_mm
  double encasement_deg = 0;
  double r95_at_closest_mm = 0;
  std::string grade;                 //!< contact | high | moderate | low | none
  std::map<double, double> p_within; //!< X mm → probability
};

//! Assess every nerve against the tumour map (values 201 GTVp / 202 GTVn on the CT grid). Without a
//! tumour every estimated nerve gets grade "none".
std::vector<NerveRisk> assess(const std::vector<nerves::NervePath>& nerves,
                              const anatomy::StructureMap* tumour,
                              const GradeThresholds& thresholds);

} // namespace nervemap::risk
