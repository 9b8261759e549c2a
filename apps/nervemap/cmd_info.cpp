// nervemap info: read a case the way `run` will and print what was found (geometry, structures).
#include "case_summary.h"
#include "commands.h"

#include <fmt/format.h>

namespace nervemap::cli {

namespace {

struct InfoArgs {
  std::string ct, series, structures, label_table, tumour, tumour_label = "GTVp";
  bool resample_masks = false, list_series = false, anonymize = false;
};

} // namespace

Command add_info_command(CLI::App& app, const GlobalOptions& global) {
  auto* sub = app.add_subcommand(
      "info", "read a CT (and structures, tumour) and print geometry and a structure table");
  auto a = std::make_shared<InfoArgs>();
  sub->add_option("--ct", a->ct, "CT: .nii/.nii.gz, a DICOM folder or a .zip of a DICOM series")->required();
  sub->add_option("--series", a->series, "SeriesInstanceUID to read when the folder holds several series");
  sub->add_flag("--list-series", a->list_series, "list the DICOM series in --ct and stop");
  sub->add_option("--structures",
                  a->structures,
                  "TotalSegmentator folder, --ml file, or multilabel NIfTI (+ --label-table)");
  sub->add_option("--label-table", a->label_table, "JSON label table for a plain multilabel NIfTI");
  sub->add_option("--tumor", a->tumour, "tumour label map (HECKTOR values 1 GTVp, 2 GTVn)");
  sub->add_option("--tumor-label", a->tumour_label, "what a binary tumour mask is: GTVp or GTVn")
      ->check(CLI::IsMember({"GTVp", "GTVn"}));
  sub->add_flag(
      "--resample-masks", a->resample_masks, "resample masks on another grid than the CT (nearest)");
  sub->add_flag("--anonymize", a->anonymize, "do not print patient identifiers");
  return {sub, [a, &global]() {
            if (a->list_series) {
              auto series = io::list_dicom_series(a->ct);
              for (const auto& s : series)
                fmt::print("{}  #{} {} '{}' {} files, {}×{}×{}\n",
                           s.series_uid,
                           s.series_number,
                           s.modality,
                           s.description,
                           s.file_count,
                           s.dims[0],
                           s.dims[1],
                           s.dims[2]);
              return 0;
            }
            Warnings warnings;
            io::CtImage ct = io::read_ct(a->ct, a->series, warnings);
            std::optional<anatomy::StructureMap> structures, tumour;
            if (!a->structures.empty()) {
              anatomy::ImportOptions opt;
              opt.resample_masks = a->resample_masks;
              if (anatomy::Catalogue::get().has_task(a->label_table))
                opt.label_table_task = a->label_table;
              else if (!a->label_table.empty())
                opt.label_table_file = a->label_table;
              structures = anatomy::import_structures(a->structures, ct.volume.geometry, opt, warnings);
            }
            if (!a->tumour.empty())
              tumour = anatomy::import_tumour(
                  a->tumour, ct.volume.geometry, a->tumour_label == "GTVn", a->resample_masks, warnings);
            for (const auto& w : warnings.items())
              print_warning(global, w);
            print_case_summary(ct, structures, tumour, !a->anonymize);
            return 0;
          }};
}

} // namespace nervemap::cli
