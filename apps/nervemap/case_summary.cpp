#include "case_summary.h"

#include <algorithm>
#include <fmt/format.h>

namespace nervemap::cli {

namespace {

void print_labels(const char* title, const anatomy::StructureMap& labels) {
  auto rows = anatomy::summarise(labels);
  size_t present = std::count_if(rows.begin(), rows.end(), [](const auto& r) { return r.present(); });
  fmt::print("\n{} ({} present)\n", title, present);
  fmt::print("  {:<36} {:>10} {:>12}   {}\n", "name", "volume ml", "voxels", "centroid LPS mm");
  for (const auto& r : rows) {
    if (!r.present()) {
      fmt::print("  {:<36} {:>10} {:>12}\n", r.name, "absent", 0);
      continue;
    }
    fmt::print("  {:<36} {:>10.2f} {:>12}   ({:.1f}, {:.1f}, {:.1f})\n",
               r.name,
               r.volume_ml,
               r.voxels,
               r.centroid_lps[0],
               r.centroid_lps[1],
               r.centroid_lps[2]);
  }
}

} // namespace

void print_case_summary(const io::CtImage& ct,
                        const std::optional<anatomy::StructureMap>& structures,
                        const std::optional<anatomy::StructureMap>& tumour,
                        bool show_patient) {
  const auto& v = ct.volume;
  auto [lo, hi] = std::minmax_element(v.data.begin(), v.data.end());
  fmt::print("CT ({}): {}\n", ct.source_format, v.geometry.describe());
  fmt::print("  HU range {:.0f} .. {:.0f}\n", *lo, *hi);
  if (show_patient && !ct.patient.empty())
    fmt::print("  patient {} ({}), study date {}, series {}\n",
               ct.patient.id,
               ct.patient.name,
               ct.patient.study_date,
               ct.patient.series_uid);
  if (structures)
    print_labels("structures", *structures);
  if (tumour)
    print_labels("tumour", *tumour);
}

} // namespace nervemap::cli
