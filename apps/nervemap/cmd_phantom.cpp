// nervemap phantom: write the synthetic neck (CT, structures, tumour, truth) to a folder.
#include "commands.h"
#include "phantom/phantom.h"

#include <fmt/format.h>

namespace nervemap::cli {

namespace {

phantom::Orientation parse_orientation(const std::string& text) {
  if (text == "LPS" || text == "lps")
    return phantom::Orientation::lps;
  if (text == "RAS" || text == "ras")
    return phantom::Orientation::ras;
  if (text == "oblique")
    return phantom::Orientation::oblique;
  throw UsageError(fmt::format("--orientation must be LPS, RAS or oblique, not '{}'", text));
}

double parse_mm(const std::string& text, const std::string& what) {
  try {
    size_t used = 0;
    double v = std::stod(text, &used);
    if (used == text.size() && std::isfinite(v))
      return v;
  } catch (const std::exception&) {
  }
  throw UsageError(fmt::format("{} must be a number of millimetres, not '{}'", what, text));
}

} // namespace

struct PhantomArgs {
  std::string out;
  uint64_t seed = 1;
  std::vector<double> spacing{1.0, 1.0, 1.0};
  std::string orientation = "LPS";
  std::string layout = "dir";
  std::vector<std::vector<std::string>> tumours;
  std::string tumour_type = "GTVn";
  bool aberrant = false;
  double noise_hu = 12;
};

//! Options shared by `phantom` and `demo`.
phantom::Options phantom_options(const PhantomArgs& a) {
  phantom::Options o;
  o.seed = a.seed;
  if (a.spacing.size() != 3)
    throw UsageError("--spacing needs three values SX SY SZ in mm");
  for (int i = 0; i < 3; ++i) {
    if (!(a.spacing[i] >= 0.3 && a.spacing[i] <= 5.0))
      throw UsageError(fmt::format("--spacing values must lie between 0.3 and 5 mm, not {}", a.spacing[i]));
    o.spacing_mm[i] = a.spacing[i];
  }
  o.orientation = parse_orientation(a.orientation);
  o.aberrant_right_subclavian = a.aberrant;
  if (!(a.noise_hu >= 0 && a.noise_hu <= 200))
    throw UsageError("--noise-hu must lie between 0 and 200");
  o.noise_hu = a.noise_hu;
  if (a.tumour_type != "GTVp" && a.tumour_type != "GTVn")
    throw UsageError(fmt::format("--tumor-type must be GTVp or GTVn, not '{}'", a.tumour_type));
  for (const auto& t : a.tumours) {
    if (t.size() != 3)
      throw UsageError("--tumor-near needs NERVE_SIDE GAP_MM RADIUS_MM, e.g. --tumor-near vagus_left 3 12");
    phantom::TumourSpec spec;
    spec.near_nerve = t[0];
    spec.gap_mm = parse_mm(t[1], "--tumor-near GAP_MM");
    spec.radius_mm = parse_mm(t[2], "--tumor-near RADIUS_MM");
    if (spec.gap_mm < 0 || spec.gap_mm > 60)
      throw UsageError("--tumor-near GAP_MM must lie between 0 and 60 mm");
    if (spec.radius_mm < 2 || spec.radius_mm > 40)
      throw UsageError("--tumor-near RADIUS_MM must lie between 2 and 40 mm");
    spec.hecktor_label = a.tumour_type == "GTVp" ? anatomy::kHecktorGtvp : anatomy::kHecktorGtvn;
    o.tumours.push_back(spec);
  }
  return o;
}

Command add_phantom_command(CLI::App& app, const GlobalOptions& global) {
  auto* sub =
      app.add_subcommand("phantom", "write the built-in synthetic neck: CT, structure masks, tumour, truth");
  auto args = std::make_shared<PhantomArgs>();
  sub->add_option("--out", args->out, "output folder (created if missing)")->required();
  sub->add_option("--seed", args->seed, "random seed of the anatomy (same seed, same neck)");
  sub->add_option("--spacing", args->spacing, "voxel spacing SX SY SZ in mm")->expected(3);
  sub->add_option("--orientation", args->orientation, "voxel axes: LPS, RAS or oblique");
  sub->add_option(
         "--layout", args->layout, "structures as a folder of <class>.nii.gz (dir) or one --ml file (ml)")
      ->check(CLI::IsMember({"dir", "ml"}));
  sub->add_option(
         "--tumor-near", args->tumours, "tumour beside a nerve: NERVE_SIDE GAP_MM RADIUS_MM (repeatable)")
      ->expected(3)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub->add_option("--tumor-type", args->tumour_type, "label of the --tumor-near tumours: GTVp or GTVn");
  sub->add_flag("--aberrant-right-subclavian",
                args->aberrant,
                "right subclavian artery from the arch behind the oesophagus (non-recurrent right nerve)");
  sub->add_option("--noise-hu", args->noise_hu, "SD of image noise in HU");
  return {sub, [args, &global]() {
            phantom::Options options = phantom_options(*args);
            auto layout = args->layout == "ml" ? phantom::Layout::ml : phantom::Layout::dir;
            print_status(global, fmt::format("building phantom (seed {})", options.seed));
            phantom::Phantom p = phantom::make_phantom(options);
            OutputTransaction out(args->out);
            out.prepare();
            phantom::write_phantom(p, args->out, layout, out);
            out.commit();
            fmt::print("phantom written to {}: ct.nii.gz ({}), {}, tumor.nii.gz, truth.json\n",
                       args->out,
                       p.ct.geometry.describe(),
                       layout == phantom::Layout::ml ? "structures.nii.gz" : "structures/");
            return 0;
          }};
}

} // namespace nervemap::cli
