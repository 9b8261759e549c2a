// Whole-run timers' stage clock: the time between pipeline progress reports, summed by stage name in
// first-seen order (run_bench, demo_bench).
#pragma once

#include <chrono>
#include <fmt/format.h>
#include <map>
#include <string>
#include <vector>

namespace nervemap::bench {

class StageTimer {
public:
  //! Call at every progress report; the time since the previous report goes to the previous stage.
  void report(const std::string& stage) {
    const auto now = clock::now();
    close(now);
    stage_ = stage;
    last_ = now;
  }
  //! Ends the last stage; returns the seconds since construction.
  double finish() {
    const auto now = clock::now();
    close(now);
    stage_.clear();
    return std::chrono::duration<double>(now - start_).count();
  }
  void print(int width) const {
    for (const auto& s : order_)
      fmt::print("  {:<{}} {:6.2f} s\n", s, width, seconds_.at(s));
  }

private:
  using clock = std::chrono::steady_clock;
  void close(clock::time_point now) {
    if (stage_.empty())
      return;
    if (!seconds_.count(stage_))
      order_.push_back(stage_);
    seconds_[stage_] += std::chrono::duration<double>(now - last_).count();
  }
  clock::time_point start_ = clock::now(), last_ = start_;
  std::string stage_;
  std::map<std::string, double> seconds_;
  std::vector<std::string> order_;
};

} // namespace nervemap::bench
