#include "report/report.h"

#include <chrono>
#include <ctime>
#include <fmt/format.h>
#include <fstream>

namespace nervemap::report {

namespace {

std::string utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

} // namespace

nlohmann::json build_report(const ReportInputs& in) {
  nlohmann::json r;
  r["schema"] = "nervemap.report/1";
  r["coordinate_system"] = "LPS";
  r["software"] = {
      {"version", nervemap::version()}, {"rules_version", in.rules_version}, {"models", in.models}};
  r["created"] = utc_now();
  nlohmann::json patient = nlohmann::json::object();
  if (!in.patient.empty())
    patient = {{"id", in.patient.id},
               {"name", in.patient.name},
               {"study_date", in.patient.study_date},
               {"series_uid", in.patient.series_uid}};
  r["patient"] = patient;
  const Geometry& g = in.ct_geometry;
  r["input"] = {{"ct", in.ct_name},
                {"dims", {g.dims[0], g.dims[1], g.dims[2]}},
                {"spacing_mm",
                 {round_decimal(g.spacing[0], 1e-4),
                  round_decimal(g.spacing[1], 1e-4),
                  round_decimal(g.spacing[2], 1e-4)}}};
  nlohmann::json structures = nlohmann::json::array();
  for (const auto& s : in.structures)
    structures.push_back(
        {{"name", s.name}, {"present", s.present()}, {"volume_ml", round_decimal(s.volume_ml, 0.001)}});
  r["structures"] = structures;
  nlohmann::json tumours = nlohmann::json::array();
  for (const auto& t : in.tumours)
    tumours.push_back({{"label", t.label},
                       {"value", t.value},
                       {"volume_ml", round_decimal(t.volume_ml, 0.001)},
                       {"components", t.components}});
  r["tumours"] = tumours;
  nlohmann::json nerves = nlohmann::json::array();
  for (const auto& n : in.nerves)
    nerves.push_back(nerves::to_json(n));
  r["nerves"] = nerves;
  r["warnings"] = in.warnings;
  return r;
}

void write_json(const fs::path& path, const nlohmann::json& document) {
  write_file_atomically(path, [&](const fs::path& tmp) {
    std::ofstream out(tmp);
    out << document.dump(1) << '\n';
    if (!out)
      throw InputError(fmt::format("cannot write {}", path.string()));
  });
}

} // namespace nervemap::report
