#include "nerve_table.h"

#include <algorithm>
#include <fmt/format.h>

namespace nervemap::cli {

void print_nerve_table(const report::Report& report) {
  fmt::print("\n{:<34} {:<9} {:>9} {:>9} {:>11}  {}\n",
             "nerve",
             "risk",
             "distance",
             "length",
             "r95 (mm)",
             "most likely course");
  for (const auto& entry : report.nerves) {
    const nerves::NervePath& n = entry.estimate;
    if (!n.estimated) {
      fmt::print("{:<34} {:<9} {:>9} {:>9} {:>11}  not estimated: {}\n", n.id, "-", "-", "-", "-", n.reason);
      continue;
    }
    const auto [r_min, r_max] = std::minmax_element(n.corridor_r95_mm.begin(), n.corridor_r95_mm.end());
    std::string course;
    double best = -1;
    for (const auto& v : n.variants)
      if (!v.path_mm.empty() && v.probability > best) {
        best = v.probability;
        course = fmt::format("{} ({:.0f} %)", v.name, 100 * best);
      }
    const std::string risk = entry.risk.grade.empty() ? "-" : entry.risk.grade;
    const std::string distance =
        entry.risk.assessed ? fmt::format("{:.1f} mm", entry.risk.combined.min_distance_mm) : "-";
    fmt::print("{:<34} {:<9} {:>9} {:>6.0f} mm {:>4.1f}–{:<4.1f}  {}\n",
               n.id,
               risk,
               distance,
               entry.length_mm.value_or(0.0),
               n.corridor_r95_mm.empty() ? 1e9 : *r_min,
               n.corridor_r95_mm.empty() ? 0.0 : *r_max,
               course);
  }
}

pipeline::RunResult run_and_summarise(const GlobalOptions& global, const pipeline::RunOptions& options) {
  ProgressPrinter printer(global);
  auto result = pipeline::run_case(options, [&](const std::string& stage, double p) { printer(stage, p); });
  printer.finish();
  for (const auto& w : result.report.warnings)
    print_warning(global, w);
  print_nerve_table(result.report);
  return result;
}

} // namespace nervemap::cli
