// nervemap segment: the native nnU-Net v2 runtime on one CT (design §7).
//   --model DIR  nnU-Net's predictor semantics (file voxel order, all present folds, mirroring with --tta);
//   --task NAME  TotalSegmentator's (RAS canonical order, task spacing, ROI crop, part models merged).
// --out DIR gets <class>.nii.gz per label (background excluded), or with --ml DIR/segmentation.nii.gz with
// TotalSegmentator's XML label extension.
#include "commands.h"
#include "io/io.h"
#include "segment/segment.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <fmt/format.h>
#include <sstream>
#include <unistd.h>

namespace nervemap::cli {

namespace fs = std::filesystem;

namespace {

std::vector<int> parse_folds(const std::string& text) {
  std::vector<int> folds;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (item == "all") {
      folds.push_back(-1);
      continue;
    }
    try {
      size_t used = 0;
      const int f = std::stoi(item, &used);
      if (used != item.size() || f < 0)
        throw std::invalid_argument(item);
      folds.push_back(f);
    } catch (const std::exception&) {
      throw UsageError(
          fmt::format("--folds: '{}' is not a fold number (e.g. --folds 0,1,2 or --folds all)", item));
    }
  }
  return folds;
}

std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> names;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty())
      names.push_back(item);
  return names;
}

} // namespace

ProgressPrinter::ProgressPrinter(const GlobalOptions& global) : global_(global), tty_(isatty(2)) {}

ProgressPrinter::~ProgressPrinter() {
  finish();
}

void ProgressPrinter::operator()(const std::string& stage, double fraction) {
  if (global_.quiet)
    return;
  const auto now = std::chrono::steady_clock::now();
  const int percent = int(100 * fraction);
  if (tty_) {
    if (now - last_ < std::chrono::milliseconds(200) && fraction < 1.0)
      return;
    std::string line = fmt::format("[{:3d}%] {}", percent, stage);
    if (line.size() > 100)
      line.resize(100);
    fmt::print(stderr, "\r{:<100}", line);
    std::fflush(stderr);
    open_ = true;
  } else {
    if (percent / 10 == last_decile_)
      return;
    last_decile_ = percent / 10;
    fmt::print(stderr, "[{:3d}%] {}\n", percent, stage);
  }
  last_ = now;
}

void ProgressPrinter::finish() {
  if (open_)
    fmt::print(stderr, "\n");
  open_ = false;
}

Command add_segment_command(CLI::App& app, const GlobalOptions& global) {
  auto* sub = app.add_subcommand(
      "segment",
      "segment a CT with nnU-Net v2 models (TotalSegmentator tasks or a trained model folder), on the CPU");
  struct Args {
    std::string ct, pet, task, model, folds, out, models, series, roi_subset;
    bool fast = false, ml = false, tta = false, skip_air = false, fp32 = false, robust_crop = false;
    int threads = 0;
    double step = 0;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("--ct", a->ct, "CT: .nii/.nii.gz, a DICOM folder or a .zip of a DICOM series")->required();
  sub->add_option("--pet", a->pet, "PET image for PET/CT models (resampled onto the CT grid if needed)");
  sub->add_option("--task",
                  a->task,
                  "TotalSegmentator task: " + fmt::format("{}", fmt::join(segment::task_names(), ", ")));
  sub->add_flag("--fast",
                a->fast,
                "task total: one 3 mm model instead of five 1.5 mm part models (much faster on CPU)");
  sub->add_option(
      "--roi-subset", a->roi_subset, "task total: only these classes (comma-separated), cropped to them");
  sub->add_flag(
      "--robust-crop", a->robust_crop, "find the crop region with the 3 mm instead of the 6 mm model");
  sub->add_option("--models",
                  a->models,
                  "folder with TotalSegmentator's DatasetNNN_* models (default: $TOTALSEG_WEIGHTS_PATH or "
                  "~/.totalsegmentator/nnunet/results)");
  sub->add_option("--model", a->model, "nnU-Net trained-model folder (dataset.json, plans.json, fold_N/)");
  sub->add_option(
      "--folds", a->folds, "--model: folds to average, e.g. 0,1 or all (default: every fold present)");
  sub->add_option("--out", a->out, "output folder (created if missing)")->required();
  sub->add_flag("--ml", a->ml, "write one multilabel DIR/segmentation.nii.gz instead of one file per class");
  sub->add_flag("--tta", a->tta, "test-time mirroring (8 passes per tile; off by default)");
  sub->add_option("--threads", a->threads, "CPU threads (default: all cores)")->check(CLI::Range(0, 1024));
  sub->add_option(
         "--step-size", a->step, "tile step as a fraction of the patch (default: nnU-Net 0.5, total 0.8)")
      ->check(CLI::Range(0.05, 1.0));
  sub->add_flag(
      "--skip-air-tiles", a->skip_air, "skip tiles with no voxel above -500 HU (faster; not nnU-Net)");
  sub->add_flag(
      "--fp32-accumulation",
      a->fp32,
      "accumulate tiles in float32 instead of nnU-Net's float16 (differs from nnU-Net near the image "
      "corners)");
  sub->add_option("--series", a->series, "SeriesInstanceUID to read when the folder holds several series");
  return {
      sub, [a, &global]() {
        if (a->task.empty() == a->model.empty())
          throw UsageError(
              "give either --task NAME (TotalSegmentator) or --model DIR (an nnU-Net model folder)");
        if (!a->task.empty() && !a->folds.empty())
          throw UsageError("--folds goes with --model; TotalSegmentator tasks use fold 0");
        if (!a->model.empty() && (a->fast || !a->roi_subset.empty() || !a->models.empty() || a->robust_crop))
          throw UsageError("--fast, --roi-subset, --robust-crop and --models go with --task");
        const auto started = std::chrono::steady_clock::now();
        Warnings warnings;
        ProgressPrinter progress(global);
        print_status(global, "reading " + a->ct);
        io::CtImage ct = io::read_ct(a->ct, a->series, warnings);
        std::optional<io::CtImage> pet;
        if (!a->pet.empty())
          pet = io::read_ct(a->pet, "", warnings);

        segment::InferenceOptions options;
        options.mirroring = a->tta;
        options.threads = a->threads;
        options.fp16_accumulation = !a->fp32;
        options.skip_air_tiles = a->skip_air;
        if (a->step > 0)
          options.step_size = a->step;
        options.progress = [&](const std::string& stage, double f) { progress(stage, f); };

        segment::Segmentation seg;
        if (!a->model.empty()) {
          std::vector<segment::InputChannel> channels{{"CT", &ct.volume}};
          if (pet)
            channels.push_back({"PET", &pet->volume});
          seg = segment::predict_model(a->model, channels, parse_folds(a->folds), options, warnings);
        } else {
          if (pet)
            throw InputError("the TotalSegmentator tasks take a CT only; leave out --pet");
          segment::TaskOptions task;
          task.fast = a->fast;
          task.robust_crop = a->robust_crop;
          task.roi_subset = split_names(a->roi_subset);
          if (!a->models.empty())
            task.models_dir = a->models;
          if (a->step > 0)
            warnings.add("--step-size is ignored for --task (TotalSegmentator fixes it per task)");
          seg = segment::predict_task(a->task, ct.volume, task, options, warnings);
        }
        progress.finish();

        OutputTransaction tx(a->out);
        tx.prepare();
        if (a->ml) {
          const fs::path path = fs::path(a->out) / "segmentation.nii.gz";
          write_file_atomically(path,
                                [&](const fs::path& tmp) { io::write_nifti(tmp, seg.labels, &seg.table); });
          tx.wrote(path);
        } else {
          MaskVolume mask(seg.labels.geometry, 0);
          for (const auto& label : seg.table.labels()) {
            for (size_t i = 0; i < mask.data.size(); ++i)
              mask.data[i] = seg.labels.data[i] == label.id;
            const fs::path path = fs::path(a->out) / (label.name + ".nii.gz");
            write_file_atomically(path, [&](const fs::path& tmp) { io::write_nifti(tmp, mask); });
            tx.wrote(path);
          }
        }
        tx.commit();
        for (const auto& w : warnings.items())
          print_warning(global, w);
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::array<int64_t, 256> histogram{};
        for (uint8_t v : seg.labels.data)
          ++histogram[v];
        size_t present = 0;
        for (const auto& label : seg.table.labels())
          present += histogram[size_t(label.id)] > 0;
        fmt::print("segmented {} of {} classes with {} in {:.1f} s; {} file(s) in {}\n",
                   present,
                   seg.table.size(),
                   fmt::join(seg.models, ", "),
                   seconds,
                   tx.written().size(),
                   a->out);
        return 0;
      }};
}

} // namespace nervemap::cli
