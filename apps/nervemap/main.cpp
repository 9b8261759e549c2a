// nervemap: estimate where the neck nerves run on a CT and how close the tumour comes to them.
#include "commands.h"
#include "core/core.h"

#include <cstdio>
#include <exception>
#include <fmt/format.h>
#include <vector>

namespace nervemap::cli {

void print_warning(const GlobalOptions& global, const std::string& message) {
  if (!global.quiet)
    fmt::print(stderr, "warning: {}\n", message);
}

void print_status(const GlobalOptions& global, const std::string& message) {
  if (!global.quiet)
    fmt::print(stderr, "{}\n", message);
}

} // namespace nervemap::cli

namespace {

// One line, starting with "error:", on stderr (design §7).
int fail(int code, const std::string& message) {
  std::string line = message;
  for (char& c : line)
    if (c == '\n')
      c = ' ';
  fmt::print(stderr, "error: {}\n", line);
  return code;
}

} // namespace

int main(int argc, char** argv) {
  using namespace nervemap;
  CLI::App app{"nervemap: estimated nerve courses and tumour–nerve distances on head-and-neck CT.\n"
               "Nerve courses are estimates from anatomical rules; a planning aid, not a diagnosis.",
               "nervemap"};
  app.set_version_flag("--version", std::string("nervemap ") + nervemap::version());
  app.require_subcommand(1);
  cli::GlobalOptions global;
  app.add_flag("-q,--quiet", global.quiet, "no progress or warning lines on the terminal")
      ->configurable(false);

  const std::vector<cli::Command> commands{cli::add_demo_command(app, global),
                                           cli::add_run_command(app, global),
                                           cli::add_segment_command(app, global),
                                           cli::add_phantom_command(app, global),
                                           cli::add_info_command(app, global),
                                           cli::add_convert_command(app, global),
                                           cli::add_serve_command(app, global),
                                           cli::add_eval_command(app, global)};

  // --quiet works before or after the command name.
  for (const auto& command : commands)
    command.app->add_flag("-q,--quiet", global.quiet, "no progress or warning lines on the terminal");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(2, std::string(e.what()) + " (run 'nervemap --help' for usage)");
  }

  try {
    for (const auto& command : commands)
      if (command.app->parsed())
        return command.run();
    return fail(2, "no command given (run 'nervemap --help' for usage)");
  } catch (const UsageError& e) {
    return fail(2, e.what());
  } catch (const InputError& e) {
    return fail(1, e.what());
  } catch (const std::bad_alloc&) {
    return fail(1, "out of memory (the input is larger than this machine can hold)");
  } catch (const std::exception& e) {
    return fail(1, std::string("internal error: ") + e.what());
  }
}
