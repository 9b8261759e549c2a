// Benchmarks of the native nnU-Net runtime (see bench/README.md for the protocol and the numbers).
//
//   segment_bench time --model DIR [--threads 2] [--repeats 5] [--image Z Y X] [--json out.json]
//       One forward pass on a patch and nnU-Net's sliding window over an image, median of --repeats after a
//       warm-up — the same network, weights, inputs (hash pattern) and tiles as bench/segment_baseline.py.
//   segment_bench roi --model DIR [--threads 2] [--repeats 3]
//       What ROI cropping and skipping tiles outside the body save on a 512×512×300 CT: tile counts of the
//       full sliding window, with air tiles skipped, cropped to a neck ROI (+20 mm, as TotalSegmentator),
//       and both, times the measured time of one tile.
#include "segment/internal.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

using namespace nervemap;
using namespace nervemap::segment::detail;

namespace {

std::vector<float> hash_input(size_t n) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t h = (uint64_t(i) * 2654435761ull) % (1ull << 32);
    v[i] = float(double(h) / 4294967296.0 * 4 - 2);
  }
  return v;
}

template <class Fn> std::pair<double, std::vector<double>> median_time(Fn&& fn, int repeats) {
  fn(); // warm-up
  std::vector<double> runs;
  for (int r = 0; r < repeats; ++r) {
    const auto t = std::chrono::steady_clock::now();
    fn();
    runs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count());
  }
  std::vector<double> sorted = runs;
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  const double median = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  return {median, runs};
}

struct Args {
  std::string command, model, json;
  int threads = 2, repeats = 5, sw_repeats = 0;
  std::vector<int64_t> image;
};

Args parse(int argc, char** argv) {
  Args a;
  if (argc < 2)
    throw std::runtime_error("usage: segment_bench time|roi --model DIR [options]");
  a.command = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc)
        throw std::runtime_error(k + " needs a value");
      return argv[++i];
    };
    if (k == "--model")
      a.model = next();
    else if (k == "--threads")
      a.threads = std::stoi(next());
    else if (k == "--repeats")
      a.repeats = std::stoi(next());
    else if (k == "--sw-repeats")
      a.sw_repeats = std::stoi(next());
    else if (k == "--json")
      a.json = next();
    else if (k == "--image")
      for (int d = 0; d < 3; ++d)
        a.image.push_back(std::stoll(next()));
    else
      throw std::runtime_error("unknown option " + k);
  }
  return a;
}

int64_t tile_count(const Shape3& image, const Shape3& patch) {
  Shape3 padded;
  for (int a = 0; a < 3; ++a)
    padded[size_t(a)] = std::max(image[size_t(a)], patch[size_t(a)]);
  const auto s = compute_steps(padded, patch, 0.5);
  return int64_t(s[0].size() * s[1].size() * s[2].size());
}

} // namespace

int main(int argc, char** argv) try {
  const Args args = parse(argc, argv);
  set_compute_threads(args.threads);
  const ModelFolder model = open_model_folder(args.model, {0});
  auto ck = read_checkpoint(model.checkpoints.front(), true);
  auto net = build_network(model.network, std::move(ck.weights), args.model);
  const Shape3 patch{model.patch_size[0], model.patch_size[1], model.patch_size[2]};
  const int64_t pv = patch[0] * patch[1] * patch[2];
  nlohmann::json result{{"threads", compute_threads()}, {"patch", model.patch_size}, {"parameters", net->parameter_count()}};

  std::vector<float> x = hash_input(size_t(pv));
  std::vector<float> logits(size_t(model.num_heads * pv));
  auto [fwd, fwd_runs] = median_time([&] { net->forward(x.data(), patch, logits.data()); }, args.repeats);
  result["forward_s"] = fwd;
  result["forward_runs_s"] = fwd_runs;
  fmt::print(stderr, "forward {}: median {:.3f} s\n", fmt::join(model.patch_size, "×"), fwd);

  if (args.command == "time" && !args.image.empty()) {
    Preprocessed pre;
    pre.data = FloatArray({1, args.image[0], args.image[1], args.image[2]});
    pre.data.data = hash_input(pre.data.size());
    const Shape3 image{args.image[0], args.image[1], args.image[2]};
    SlidingWindowOptions o;
    auto [sw, sw_runs] = median_time([&] { sliding_window(*net, pre, patch, model.num_heads, o); },
                                     args.sw_repeats ? args.sw_repeats : args.repeats);
    result["image"] = args.image;
    result["tiles"] = tile_count(image, patch);
    result["sliding_window_s"] = sw;
    result["sliding_window_runs_s"] = sw_runs;
    fmt::print(stderr, "sliding window {} ({} tiles): median {:.3f} s\n", fmt::join(args.image, "×"),
               tile_count(image, patch), sw);
  } else if (args.command == "roi") {
    // A 512×512×300 neck-and-chest CT at 0.8 × 0.8 × 1 mm, run at the model's native spacing: body = neck
    // (ellipse 130 × 110 mm) in the upper half, shoulders/chest (ellipse 380 × 230 mm) in the lower half;
    // the ROI is the neck region TotalSegmentator's head-and-neck tasks crop to (clavicles, C1–T4 ± 20 mm):
    // 200 × 170 mm in-plane around the neck, all slices.
    const Index3 dims{512, 512, 300};
    const Vec3 spacing(0.8, 0.8, 1.0);
    std::vector<uint8_t> body(size_t(dims[0] * dims[1] * dims[2]), 0);
    for (int64_t k = 0; k < dims[2]; ++k)
      for (int64_t j = 0; j < dims[1]; ++j)
        for (int64_t i = 0; i < dims[0]; ++i) {
          const double x = (double(i) - 256) * spacing[0], y = (double(j) - 256) * spacing[1];
          const bool neck = k >= 150;
          const double ax = neck ? 65 : 190, ay = neck ? 55 : 115;
          body[size_t((k * dims[1] + j) * dims[0] + i)] = (x / ax) * (x / ax) + (y / ay) * (y / ay) < 1;
        }
    auto count = [&](int64_t i0, int64_t i1, int64_t j0, int64_t j1, bool skip_air) {
      // tiles over the (cropped) image in nnU-Net order (z, y, x) = (k, j, i)
      const Shape3 image{dims[2], j1 - j0, i1 - i0};
      Shape3 padded;
      for (int a = 0; a < 3; ++a)
        padded[size_t(a)] = std::max(image[size_t(a)], patch[size_t(a)]);
      const auto s = compute_steps(padded, patch, 0.5);
      int64_t tiles = 0;
      for (int64_t sz : s[0])
        for (int64_t sy : s[1])
          for (int64_t sx : s[2]) {
            bool any = !skip_air;
            for (int64_t k = sz; !any && k < std::min(sz + patch[0], dims[2]); ++k)
              for (int64_t j = j0 + sy; !any && j < std::min(j0 + sy + patch[1], j1); ++j)
                for (int64_t i = i0 + sx; !any && i < std::min(i0 + sx + patch[2], i1); ++i)
                  any = body[size_t((k * dims[1] + j) * dims[0] + i)];
            tiles += any;
          }
      return tiles;
    };
    const int64_t i0 = 256 - int64_t(100 / spacing[0]), i1 = 256 + int64_t(100 / spacing[0]);
    const int64_t j0 = 256 - int64_t(85 / spacing[1]), j1 = 256 + int64_t(85 / spacing[1]);
    const int64_t full = count(0, 512, 0, 512, false), skipped = count(0, 512, 0, 512, true);
    const int64_t roi = count(i0, i1, j0, j1, false), roi_skipped = count(i0, i1, j0, j1, true);
    auto minutes = [&](int64_t tiles) { return double(tiles) * fwd / 60.0; };
    result["ct"] = {512, 512, 300};
    result["tiles"] = {{"full", full}, {"skip_air", skipped}, {"roi", roi}, {"roi_skip_air", roi_skipped}};
    result["estimated_minutes"] = {{"full", minutes(full)},
                                   {"skip_air", minutes(skipped)},
                                   {"roi", minutes(roi)},
                                   {"roi_skip_air", minutes(roi_skipped)}};
    fmt::print(stderr, "512×512×300: {} tiles ({:.1f} min), air tiles skipped {} ({:.1f} min), neck ROI {} "
                       "({:.1f} min), ROI + skip {} ({:.1f} min)\n",
               full, minutes(full), skipped, minutes(skipped), roi, minutes(roi), roi_skipped, minutes(roi_skipped));
  }
  fmt::print("{}\n", result.dump(2));
  if (!args.json.empty())
    std::ofstream(args.json) << result.dump(2);
  return 0;
} catch (const std::exception& e) {
  fmt::print(stderr, "error: {}\n", e.what());
  return 1;
}
