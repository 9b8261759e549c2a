// The Server: opens the data folder, recovers what a crash left behind, wires the routes, runs the
// listener, the job workers and the retention sweep, and takes them down together.
#include "core/core.h"
#include "server/internal.h"

#include <arpa/inet.h>
#include <ctime>
#include <fmt/format.h>
#include <random>
#include <sys/stat.h>

namespace nervemap::server {

std::string iso_utc_now(int64_t seconds_ago) {
  const std::time_t t = std::time(nullptr) - seconds_ago;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string new_case_id() {
  std::random_device kernel; // /dev/urandom on Linux
  return fmt::format("{:08x}{:08x}", kernel(), kernel());
}

bool valid_case_id(std::string_view id) {
  if (id.size() != 16)
    return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

bool is_loopback_host(std::string_view host) {
  std::string h(host);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']')
    h = h.substr(1, h.size() - 2);
  if (h == "localhost" || h == "::1")
    return true;
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    // ::ffff:127.x.y.z, a v4 loopback client seen through a dual-stack socket
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return std::equal(mapped, mapped + 12, v6.s6_addr) && v6.s6_addr[12] == 127;
  }
  return false;
}

void ChangeSignal::notify() {
  {
    std::lock_guard lock(mutex_);
    ++version_;
  }
  cv_.notify_all();
}

uint64_t ChangeSignal::current() {
  std::lock_guard lock(mutex_);
  return version_;
}

uint64_t ChangeSignal::wait(uint64_t seen, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, timeout, [&] { return version_ != seen; });
  return version_;
}

// ---------------------------------------------------------------------------------------------
// Sessions

std::string Sessions::create() {
  std::random_device kernel;
  std::string id = fmt::format("{:08x}{:08x}{:08x}{:08x}", kernel(), kernel(), kernel(), kernel());
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(expiry_, [&](const auto& e) { return e.second < now; });
  expiry_[id] = now + kLifetime;
  return id;
}

bool Sessions::valid(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = expiry_.find(id);
  return it != expiry_.end() && it->second > std::chrono::steady_clock::now();
}

// ---------------------------------------------------------------------------------------------
// Server

struct Server::State {
  explicit State(ServerOptions o) : context(std::move(o)) {}
  Context context;
  httplib::Server http;
  std::thread retention;
  std::mutex retention_mutex;
  std::condition_variable retention_cv;
  bool bound = false;
};

Context::Context(ServerOptions o)
    : options(std::move(o)), folders{options.data_dir},
      store(prepare_data_dir(options.data_dir) / "nervemap.db"),
      runner(store, changes, folders, options.workers, options.log) {}

void Context::log(const std::string& line) const {
  if (options.log)
    options.log(line);
}

fs::path Context::prepare_data_dir(const fs::path& data) {
  std::error_code ec;
  const bool created = !fs::exists(data);
  fs::create_directories(data / "cases", ec);
  fs::create_directories(data / "uploads", ec);
  if (ec || !fs::is_directory(data / "cases"))
    throw InputError(
        fmt::format("cannot use the data folder {}: {}", data.string(), ec ? ec.message() : "not a folder"));
  // Patient images: readable by the service's own user only (a folder we did not create keeps its mode).
  if (created)
    ::chmod(data.c_str(), 0700);
  return data;
}

void Context::delete_case_files(const std::string& id) {
  std::error_code ec;
  fs::remove_all(folders.dir(id), ec);
  if (ec)
    log(fmt::format("case {}: could not remove its folder: {}", id, ec.message()));
}

Server::Server(ServerOptions options) {
  if (!options.token && !is_loopback_host(options.host))
    throw UsageError(fmt::format("--host {} is not a loopback address: serving other machines needs a token "
                                 "(--token-file FILE or NERVEMAP_TOKEN)",
                                 options.host));
  if (options.workers < 1)
    throw UsageError("--workers must be at least 1");
  state_ = std::make_unique<State>(std::move(options));
  Context& c = state_->context;

  // Uploads that were still arriving or being checked were never acknowledged: drop them.
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(c.folders.uploads(), ec))
    fs::remove_all(e.path(), ec);

  const auto recovery = c.store.recover_interrupted(2);
  for (const auto& id : recovery.requeued)
    c.log(fmt::format("case {}: was running when the server stopped; queued again", id));
  for (const auto& id : recovery.failed)
    c.log(fmt::format("case {}: interrupted twice; marked failed (interrupted)", id));

  // Folders without a row: a delete or an upload cut short by a crash. Rows without a folder cannot
  // run: say so rather than fail obscurely later.
  std::set<std::string> known;
  for (const auto& id : c.store.ids())
    known.insert(id);
  for (const auto& e : fs::directory_iterator(c.folders.cases(), ec)) {
    const std::string name = e.path().filename().string();
    if (valid_case_id(name) && !known.count(name)) {
      c.delete_case_files(name);
      c.log(fmt::format("removed the folder of case {}, which has no database entry", name));
    }
  }
  for (const auto& row : c.store.list())
    if ((row.status == "queued") && !fs::exists(c.folders.input(row.id)))
      c.store.set_failed(row.id, "the uploaded files are missing from the data folder");

  auto& http = state_->http;
  // Each open event stream holds a thread: allow several viewers beside the API calls.
  http.new_task_queue = [] { return new httplib::ThreadPool(32); };
  // One request per connection: a request refused before its body was read (wrong token, too large)
  // must close the connection instead of parsing the unread body as the next request.
  http.set_keep_alive_max_count(1);
  http.set_read_timeout(60);
  http.set_write_timeout(60);
  add_api_routes(http, c);
  add_static_routes(http, c.options.web_dir);
}

Server::~Server() {
  stop();
  if (state_->retention.joinable())
    state_->retention.join();
}

int Server::bind() {
  auto& s = *state_;
  Context& c = s.context;
  int port = c.options.port;
  if (port == 0) {
    port = s.http.bind_to_any_port(c.options.host);
    if (port < 0)
      throw InputError(fmt::format("cannot listen on {}: no free port", c.options.host));
  } else if (!s.http.bind_to_port(c.options.host, port)) {
    throw InputError(fmt::format("cannot listen on {}:{} (in use, or not an address of this machine); choose "
                                 "another --port or --port 0",
                                 c.options.host,
                                 port));
  }
  s.bound = true;
  c.runner.start();
  if (c.options.retention_days > 0) {
    s.retention = std::thread([&s] {
      Context& c = s.context;
      std::unique_lock lock(s.retention_mutex);
      while (!c.stopping) {
        const auto old = c.store.finished_before(iso_utc_now(int64_t(c.options.retention_days) * 86400));
        for (const auto& id : old) {
          c.store.remove(id);
          c.delete_case_files(id);
          c.log(
              fmt::format("case {}: deleted after {} days (--retention-days)", id, c.options.retention_days));
        }
        if (!old.empty())
          c.changes.notify();
        s.retention_cv.wait_for(lock, std::chrono::hours(1), [&] { return c.stopping.load(); });
      }
    });
  }
  return port;
}

void Server::run() {
  auto& s = *state_;
  if (!s.bound)
    bind();
  s.http.listen_after_bind();
  // The listener has closed: end the jobs with the server.
  s.context.stopping = true;
  s.retention_cv.notify_all();
  if (!s.context.runner.shutdown(std::chrono::seconds(3))) {
    s.context.log("stopping with jobs still running: they are queued again for the next start");
    std::fflush(nullptr);
    std::_Exit(0);
  }
}

void Server::stop() {
  auto& s = *state_;
  s.context.stopping = true;
  s.context.changes.notify();
  s.retention_cv.notify_all();
  s.http.stop();
}

} // namespace nervemap::server
