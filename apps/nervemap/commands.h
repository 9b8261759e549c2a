// The nervemap command line: one file per command, each registering itself on the root app.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>
#include <string>

namespace nervemap::cli {

//! Options every command sees.
struct GlobalOptions {
  bool quiet = false;
};

//! A registered command: its CLI11 subcommand and what to run when it is chosen (returns exit code).
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command add_phantom_command(CLI::App& app, const GlobalOptions& global);
Command add_demo_command(CLI::App& app, const GlobalOptions& global);
Command add_info_command(CLI::App& app, const GlobalOptions& global);
Command add_convert_command(CLI::App& app, const GlobalOptions& global);
Command add_run_command(CLI::App& app, const GlobalOptions& global);
Command add_segment_command(CLI::App& app, const GlobalOptions& global);
Command add_serve_command(CLI::App& app, const GlobalOptions& global);
Command add_eval_command(CLI::App& app, const GlobalOptions& global);

//! Progress on stderr: one updating line on a terminal, a line per 10 % otherwise; silent with --quiet.
class ProgressPrinter {
public:
  explicit ProgressPrinter(const GlobalOptions& global);
  ~ProgressPrinter();
  void operator()(const std::string& stage, double fraction);
  void finish(); //!< end the updating line
private:
  const GlobalOptions& global_;
  bool tty_;
  bool open_ = false;
  int last_decile_ = -1;
  std::chrono::steady_clock::time_point last_{};
};

//! Print a warning line on stderr ("warning: ...") unless quiet.
void print_warning(const GlobalOptions& global, const std::string& message);
//! Print a progress/status line on stderr unless quiet.
void print_status(const GlobalOptions& global, const std::string& message);

} // namespace nervemap::cli
