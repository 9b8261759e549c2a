// nervemap convert: a CT (DICOM folder or zip, or NIfTI) to NIfTI in LPS-correct geometry.
#include "commands.h"
#include "io/io.h"

#include <fmt/format.h>

namespace nervemap::cli {

Command add_convert_command(CLI::App& app, const GlobalOptions& global) {
  auto* sub = app.add_subcommand("convert", "write a CT (DICOM folder, DICOM zip or NIfTI) as a NIfTI file");
  struct Args {
    std::string ct, series, out;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("--ct", a->ct, "CT: .nii/.nii.gz, a DICOM folder or a .zip of a DICOM series")->required();
  sub->add_option("--series", a->series, "SeriesInstanceUID to read when the folder holds several series");
  sub->add_option("--out", a->out, "output file, .nii.gz or .nii")->required();
  return {sub, [a, &global]() {
            namespace fs = std::filesystem;
            if (!io::has_nifti_suffix(a->out))
              throw UsageError(fmt::format("--out must end in .nii.gz or .nii, not '{}'", a->out));
            fs::path out = a->out;
            if (!out.parent_path().empty() && !fs::is_directory(out.parent_path()))
              throw InputError(
                  fmt::format("the folder of --out does not exist: {}", out.parent_path().string()));
            Warnings warnings;
            io::CtImage ct = io::read_ct(a->ct, a->series, warnings);
            for (const auto& w : warnings.items())
              print_warning(global, w);
            io::write_nifti(out, ct.volume);
            fmt::print("{} written: {}\n", out.string(), ct.volume.geometry.describe());
            return 0;
          }};
}

} // namespace nervemap::cli
