#include "report/report.h"

namespace nervemap::report {

std::vector<TumourSummary> summarise_tumours(const anatomy::StructureMap& tumour) {
  std::vector<TumourSummary> out;
  const auto h = tumour.histogram();
  const double voxel_ml = tumour.voxels.geometry.voxel_volume_mm3() / 1000.0;
  for (int id : {anatomy::kGtvpId, anatomy::kGtvnId}) {
    if (h[size_t(id)] == 0)
      continue;
    out.push_back({anatomy::Catalogue::tumour_name(id),
                   id,
                   double(h[size_t(id)]) * voxel_ml,
                   int(anatomy::connected_components(tumour.voxels, uint8_t(id)).size())});
  }
  return out;
}

} // namespace nervemap::report
