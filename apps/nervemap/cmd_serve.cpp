// nervemap serve: the web service and the viewer (design §9).
#include "commands.h"
#include "core/core.h"
#include "server/server.h"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fmt/format.h>
#include <fstream>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace nervemap::cli {

namespace {

namespace fs = std::filesystem;

std::string trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  const auto last = s.find_last_not_of(" \t\r\n");
  return first == std::string::npos ? std::string() : s.substr(first, last - first + 1);
}

//! The token from --token-file, else NERVEMAP_TOKEN; never from the command line, where `ps` shows it.
std::optional<std::string> read_token(const std::string& token_file, const GlobalOptions& global) {
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in)
      throw InputError(fmt::format("cannot read the token file {}", token_file));
    std::string token = trim(std::string((std::istreambuf_iterator<char>(in)), {}));
    if (token.empty())
      throw InputError(fmt::format("the token file {} is empty", token_file));
    struct stat st {};
    if (::stat(token_file.c_str(), &st) == 0 && (st.st_mode & 0077))
      print_warning(global, fmt::format("{} can be read by other users (chmod 600 it)", token_file));
    return token;
  }
  if (const char* env = std::getenv("NERVEMAP_TOKEN"); env && *env)
    return trim(env);
  return std::nullopt;
}

//! Written to by the SIGINT/SIGTERM handler, read by the thread that stops the server.
int stop_pipe[2] = {-1, -1};

//! The viewer's files: beside the binary in the build tree or an install (bin/../web).
fs::path default_web_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path("web") : exe.parent_path().parent_path() / "web";
}

} // namespace

Command add_serve_command(CLI::App& app, const GlobalOptions& global) {
  auto* sub = app.add_subcommand("serve", "run the web service and the viewer");
  struct Args {
    std::string host = "127.0.0.1", data = "nervemap-data", token_file, web;
    int port = 8080, retention_days = 0, workers = 1;
    uint64_t max_upload_mb = 2048, max_unpacked_mb = 4096, max_zip_entries = 20000;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("--host", a->host, "address to listen on (default 127.0.0.1; another needs a token)");
  sub->add_option("--port", a->port, "port (default 8080; 0 picks a free one)")->check(CLI::Range(0, 65535));
  sub->add_option("--data", a->data, "folder for cases and the database (default ./nervemap-data)");
  sub->add_option("--token-file", a->token_file, "file holding the bearer token (or set NERVEMAP_TOKEN)");
  sub->add_option("--retention-days", a->retention_days, "delete finished cases older than N days (0: keep)")
      ->check(CLI::Range(0, 36500));
  sub->add_option("--workers", a->workers, "cases run at once (default 1)")->check(CLI::Range(1, 64));
  sub->add_option("--max-upload-mb", a->max_upload_mb, "largest upload in MiB (default 2048)")
      ->check(CLI::Range(uint64_t(1), uint64_t(1) << 20));
  sub->add_option("--max-unpacked-mb", a->max_unpacked_mb, "largest unpacked zip in MiB (default 4096)")
      ->check(CLI::Range(uint64_t(1), uint64_t(1) << 22));
  sub->add_option("--max-zip-entries", a->max_zip_entries, "most files in an uploaded zip (default 20000)")
      ->check(CLI::Range(uint64_t(1), uint64_t(10000000)));
  sub->add_option("--web", a->web, "folder of the viewer's files (default: beside the binary)");
  return {
      sub, [a, &global]() {
        server::ServerOptions o;
        o.host = a->host;
        o.port = a->port;
        o.data_dir = a->data;
        o.token = read_token(a->token_file, global);
        o.retention_days = a->retention_days;
        o.workers = a->workers;
        o.web_dir = a->web.empty() ? default_web_dir() : fs::path(a->web);
        o.limits.max_upload_bytes = a->max_upload_mb << 20;
        o.limits.zip.max_total_bytes = a->max_unpacked_mb << 20;
        o.limits.zip.max_entries = a->max_zip_entries;
        o.log = [&global](const std::string& line) { print_status(global, line); };
        if (!server::is_loopback_host(o.host))
          print_warning(global,
                        fmt::format("listening on {}: other machines can reach this service; every API call "
                                    "needs the token, but traffic is plain HTTP — put it behind a TLS proxy",
                                    o.host));
        if (!fs::exists(o.web_dir / "index.html"))
          print_warning(
              global,
              fmt::format("no viewer in {}: the API works, the browser viewer does not", o.web_dir.string()));

        // SIGINT/SIGTERM stop the server. A handler that writes to a pipe, not sigwait with the signals
        // blocked: threads that libraries start before main (OpenBLAS's pool) do not block them, and a
        // signal delivered to one of those would otherwise kill the process.
        if (::pipe(stop_pipe) != 0)
          throw std::runtime_error("cannot create the stop pipe");
        struct sigaction on_stop {};
        on_stop.sa_handler = [](int) {
          const char byte = 1;
          [[maybe_unused]] auto n = ::write(stop_pipe[1], &byte, 1);
        };
        sigemptyset(&on_stop.sa_mask);
        on_stop.sa_flags = SA_RESTART;
        ::sigaction(SIGINT, &on_stop, nullptr);
        ::sigaction(SIGTERM, &on_stop, nullptr);
        std::signal(SIGPIPE, SIG_IGN);

        server::Server service(o);
        const int port = service.bind();
        const std::string shown = o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host;
        fmt::print("listening on http://{}:{}\n", shown, port);
        std::fflush(stdout);
        std::thread waiter([&service] {
          char byte = 0;
          while (::read(stop_pipe[0], &byte, 1) < 0 && errno == EINTR) {
          }
          service.stop();
        });
        service.run();
        // Stopped by a signal: the waiter has returned. Stopped otherwise: wake it so it can end.
        const char byte = 0;
        [[maybe_unused]] auto n = ::write(stop_pipe[1], &byte, 1);
        waiter.join();
        print_status(global, "stopped");
        return 0;
      }};
}

} // namespace nervemap::cli
