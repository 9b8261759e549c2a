// nervemap eval: Dice, HD95 and NSD per structure of a segmentation against a reference (design §7).
#include "commands.h"
#include "eval/eval.h"
#include "nerve_table.h"

#include <filesystem>
#include <fmt/format.h>
#include <fstream>

namespace nervemap::cli {

void print_evaluation(const eval::Evaluation& e) {
  size_t width = 9;
  for (const auto& s : e.structures)
    width = std::max(width, s.name.size());
  const std::string nsd = fmt::format("NSD@{:g}mm", e.tolerance_mm);
  fmt::print("{:<{}}  {:>6}  {:>8}  {:>{}}  {:>9}  {:>9}\n",
             "structure",
             width,
             "Dice",
             "HD95 mm",
             nsd,
             std::max<size_t>(nsd.size(), 6),
             "pred ml",
             "ref ml");
  for (const auto& s : e.structures) {
    const auto& m = s.metrics;
    const std::string hd95 = m.hd95_mm ? fmt::format("{:.2f}", *m.hd95_mm) : "-";
    const char* note = !s.in_pred ? "  missing in prediction" : !s.in_ref ? "  not in reference" : "";
    fmt::print("{:<{}}  {:>6.4f}  {:>8}  {:>{}.4f}  {:>9.3f}  {:>9.3f}{}\n",
               s.name,
               width,
               m.dice,
               hd95,
               m.nsd,
               std::max<size_t>(nsd.size(), 6),
               m.volume_pred_ml,
               m.volume_ref_ml,
               note);
  }
  if (e.mean_dice)
    fmt::print("mean Dice {:.4f} over {} structure(s)\n", *e.mean_dice, e.structures.size());
  else
    fmt::print("no structure has voxels in either segmentation: nothing to score\n");
  if (!e.empty_in_both.empty())
    fmt::print("{} structure(s) named but empty in both, not scored: {}\n",
               e.empty_in_both.size(),
               fmt::join(e.empty_in_both, ", "));
}

namespace {

//! Base name for the JSON (as report.json keeps only base names); "ref/" names the folder "ref".
std::string base_name(const std::string& path) {
  std::filesystem::path p(path);
  return p.filename().empty() ? p.parent_path().filename().string() : p.filename().string();
}

} // namespace

Command add_eval_command(CLI::App& app, const GlobalOptions& global) {
  auto* sub = app.add_subcommand(
      "eval", "compare a segmentation with a reference: Dice, HD95 and NSD per structure (matched by name)");
  struct Args {
    std::string pred, ref, json;
    double tolerance_mm = 1.0;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("--pred",
                  a->pred,
                  "predicted segmentation: TotalSegmentator folder or --ml file, a multilabel NIfTI with "
                  "<stem>.json beside it, or a .zip of these")
      ->required();
  sub->add_option("--ref", a->ref, "reference segmentation, same forms as --pred, on the same grid")
      ->required();
  sub->add_option("--tolerance-mm", a->tolerance_mm, "tolerance of the normalised surface distance (NSD), mm")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub->add_option("--json", a->json, "also write the results as JSON to this file");
  return {sub, [a, &global]() {
            namespace fs = std::filesystem;
            fs::path json_out = a->json;
            // Check the output before the (possibly long) evaluation, so that a typo fails at once.
            if (!a->json.empty()) {
              if (fs::is_directory(json_out))
                throw UsageError(fmt::format("--json takes a file name, not the folder {}", a->json));
              if (!json_out.parent_path().empty() && !fs::is_directory(json_out.parent_path()))
                throw InputError(
                    fmt::format("the folder of --json does not exist: {}", json_out.parent_path().string()));
            }
            Warnings warnings;
            eval::Evaluation e = eval::evaluate_files(a->pred, a->ref, a->tolerance_mm, warnings);
            for (const auto& w : warnings.items())
              print_warning(global, w);
            print_evaluation(e);
            if (!a->json.empty()) {
              const std::string text = eval::to_json(e, base_name(a->pred), base_name(a->ref), warnings);
              write_file_atomically(json_out, [&](const fs::path& tmp) {
                std::ofstream out(tmp);
                out << text;
                if (!out)
                  throw InputError(fmt::format("cannot write {}", json_out.string()));
              });
              print_status(global, fmt::format("written: {}", json_out.string()));
            }
            return 0;
          }};
}

} // namespace nervemap::cli
