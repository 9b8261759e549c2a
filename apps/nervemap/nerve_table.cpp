#include "nerve_table.h"

#include <fmt/format.h>

namespace nervemap::cli {

void print_nerve_table(const nlohmann::json& report) {
  fmt::print("\n{:<34} {:<9} {:>9} {:>9} {:>11}  {}\n",
             "nerve",
             "risk",
             "distance",
             "length",
             "r95 (mm)",
             "most likely course");
  for (const auto& n : report.at("nerves")) {
    const std::string id = n.at("id");
    if (n.at("status") != "estimated") {
      fmt::print("{:<34} {:<9} {:>9} {:>9} {:>11}  not estimated: {}\n",
                 id,
                 "-",
                 "-",
                 "-",
                 "-",
                 n.value("reason", ""));
      continue;
    }
    double r_min = 1e9, r_max = 0;
    for (const auto& r : n.at("corridor_r95_mm")) {
      r_min = std::min(r_min, r.get<double>());
      r_max = std::max(r_max, r.get<double>());
    }
    std::string course;
    double best = -1;
    for (const auto& v : n.at("variants"))
      if (!v.at("path_mm").empty() && v.at("probability").get<double>() > best) {
        best = v.at("probability").get<double>();
        course = fmt::format("{} ({:.0f} %)", v.at("name").get<std::string>(), 100 * best);
      }
    const std::string risk = n.at("risk").is_string() ? n.at("risk").get<std::string>() : "-";
    const std::string distance = n.at("min_distance_mm").is_number()
                                     ? fmt::format("{:.1f} mm", n.at("min_distance_mm").get<double>())
                                     : "-";
    fmt::print("{:<34} {:<9} {:>9} {:>6.0f} mm {:>4.1f}–{:<4.1f}  {}\n",
               id,
               risk,
               distance,
               n.at("length_mm").get<double>(),
               r_min,
               r_max,
               course);
  }
}

pipeline::RunResult run_and_summarise(const GlobalOptions& global, const pipeline::RunOptions& options) {
  ProgressPrinter printer(global);
  auto result = pipeline::run_case(options, [&](const std::string& stage, double p) { printer(stage, p); });
  printer.finish();
  for (const auto& w : result.report["warnings"])
    print_warning(global, w.get<std::string>());
  print_nerve_table(result.report);
  return result;
}

} // namespace nervemap::cli
