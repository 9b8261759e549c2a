// Test harness for the web service: the real `nervemap serve` binary on 127.0.0.1 (--port 0), curl for
// uploads (it streams files and waits for "100 Continue" as real clients do), cpp-httplib for the rest,
// libzip to build the zips an attacker would send. Header-only; shared by the server test files.
#pragma once

#include "support/test_support.h"

#include <arpa/inet.h>
#include <array>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <fstream>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <optional>
#include <poll.h>
#include <regex>
#include <spawn.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>
#include <zip.h>

extern char** environ;

namespace nervemap::test {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

//! `nervemap serve` as a child process. Its stdout gives the port; stderr (the log) goes to a file.
class ServerProcess {
public:
  ServerProcess(const fs::path& data, std::vector<std::string> extra = {}, std::vector<std::string> env = {})
      : log_(data.parent_path() / (data.filename().string() + ".log")) {
    std::vector<std::string> argv{
        nervemap_binary().string(), "serve", "--port", "0", "--data", data.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    int out[2];
    if (pipe(out) != 0)
      throw std::runtime_error("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    posix_spawn_file_actions_addopen(&actions, 2, log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    std::vector<std::string> environment;
    for (char** e = environ; *e; ++e)
      if (std::string(*e).rfind("NERVEMAP_TOKEN=", 0) != 0)
        environment.push_back(*e);
    environment.insert(environment.end(), env.begin(), env.end());
    std::vector<char*> args, envp;
    for (auto& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    for (auto& e : environment)
      envp.push_back(e.data());
    envp.push_back(nullptr);
    const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    close(out[1]);
    out_ = out[0];
    if (rc != 0)
      throw std::runtime_error("cannot start " + argv[0]);
    // Wait for "listening on http://HOST:PORT".
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    std::string text;
    const std::regex listening(R"(listening on http://127\.0\.0\.1:(\d+))");
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, 200) > 0) {
        char buf[256];
        const ssize_t n = read(out_, buf, sizeof buf);
        if (n <= 0)
          break;
        text.append(buf, size_t(n));
        std::smatch m;
        if (std::regex_search(text, m, listening)) {
          port_ = std::stoi(m[1]);
          return;
        }
      }
    }
    throw std::runtime_error("the server did not say 'listening on': " + text + "\nlog:\n" + log());
  }
  ~ServerProcess() {
    if (pid_ > 0)
      stop(SIGKILL);
    if (out_ >= 0)
      close(out_);
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  std::string url(const std::string& path = "") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  httplib::Client client(const std::string& token = "") const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(60);
    if (!token.empty())
      c.set_bearer_token_auth(token.c_str());
    return c;
  }
  //! Send a signal and wait for the process; returns its exit status (128 + signal if killed).
  int stop(int signal = SIGTERM) {
    if (pid_ <= 0)
      return -1;
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  pid_t pid() const { return pid_; }
  std::string log() const {
    std::ifstream in(log_);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }

private:
  pid_t pid_ = -1;
  int out_ = -1;
  int port_ = 0;
  fs::path log_;
};

struct HttpResult {
  int status = 0;
  std::string body;
  json json_body() const { return json::parse(body, nullptr, false); }
};

//! POST a multipart form with curl: fields are {"ct", "@/path"} (a file) or {"series", "value"}.
inline HttpResult curl_post(const std::string& url,
                            const std::vector<std::pair<std::string, std::string>>& fields,
                            const std::string& token = "",
                            const std::vector<std::string>& extra = {}) {
  TempDir tmp;
  const fs::path body = tmp / "body";
  std::vector<std::string> argv{
      "curl", "-sS", "-o", body.string(), "-w", "%{http_code}", "--max-time", "120"};
  if (!token.empty()) {
    argv.push_back("-H");
    argv.push_back("Authorization: Bearer " + token);
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  for (const auto& [name, value] : fields) {
    argv.push_back("-F");
    argv.push_back(name + "=" + value);
  }
  argv.push_back(url);
  const auto r = run(argv);
  HttpResult out;
  out.status = std::atoi(r.out.c_str());
  std::ifstream in(body);
  out.body = std::string((std::istreambuf_iterator<char>(in)), {});
  if (out.status == 0)
    out.body += r.err;
  return out;
}

//! Raw request on a fresh socket: headers only, a body that is never sent; returns the status line's
//! code and how long the answer took. Proves a refusal comes before the body is read.
inline std::pair<int, double> headers_only_request(int port, const std::string& request_head) {
  const auto started = std::chrono::steady_clock::now();
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return {-1, 0};
  }
  (void)!write(fd, request_head.data(), request_head.size());
  std::string answer;
  char buf[1024];
  pollfd p{fd, POLLIN, 0};
  while (answer.find("\r\n") == std::string::npos && poll(&p, 1, 10000) > 0) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0)
      break;
    answer.append(buf, size_t(n));
  }
  close(fd);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::smatch m;
  static const std::regex status_line(R"(^HTTP/1\.[01] (\d{3}))");
  if (!std::regex_search(answer, m, status_line))
    return {-1, seconds};
  return {std::stoi(m[1]), seconds};
}

struct ZipEntry {
  std::string name;
  std::optional<fs::path> file; //!< content from a file, or
  std::string bytes;            //!< literal content
  bool symlink = false;         //!< stored with Unix symlink mode bits
  bool directory = false;
};

inline void make_zip(const fs::path& path, const std::vector<ZipEntry>& entries) {
  int error = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  if (!z)
    throw std::runtime_error("zip_open failed");
  for (const auto& e : entries) {
    zip_int64_t index;
    if (e.directory) {
      index = zip_dir_add(z, e.name.c_str(), ZIP_FL_ENC_UTF_8);
    } else {
      zip_source_t* src = e.file ? zip_source_file(z, e.file->c_str(), 0, -1)
                                 : zip_source_buffer(z, e.bytes.data(), e.bytes.size(), 0);
      index = zip_file_add(z, e.name.c_str(), src, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE);
    }
    if (index < 0)
      throw std::runtime_error("zip add failed: " + std::string(zip_strerror(z)));
    if (e.symlink)
      zip_file_set_external_attributes(z, zip_uint64_t(index), 0, ZIP_OPSYS_UNIX, (0120777u) << 16);
  }
  if (zip_close(z) != 0)
    throw std::runtime_error("zip_close failed");
}

//! A zip of a folder's files (relative names), optionally inside one wrapping folder.
inline void zip_folder(const fs::path& folder, const fs::path& zip, const std::string& prefix = "") {
  std::vector<ZipEntry> entries;
  for (const auto& rel : list_files(folder))
    entries.push_back({prefix + rel, folder / rel, "", false, false});
  make_zip(zip, entries);
}

//! A small phantom case (2 mm voxels: quick to run) made once per test binary, with a tumour 3 mm from
//! the left vagus.
inline const fs::path& phantom_case() {
  static TempDir dir;
  static fs::path case_dir = [] {
    const fs::path out = dir / "case";
    auto r = run_nervemap({"phantom",
                           "--out",
                           out.string(),
                           "--seed",
                           "7",
                           "--spacing",
                           "2",
                           "2",
                           "2",
                           "--tumor-near",
                           "vagus_left",
                           "3",
                           "12",
                           "--quiet"});
    if (r.exit_code != 0)
      throw std::runtime_error("phantom failed: " + r.err);
    zip_folder(out / "structures", dir / "structures.zip");
    return out;
  }();
  return case_dir;
}
inline fs::path phantom_structures_zip() {
  return phantom_case().parent_path() / "structures.zip";
}

//! Poll a case until it is done or failed (or the time runs out); returns the last state.
inline json wait_for_case(const ServerProcess& server,
                          const std::string& id,
                          std::chrono::seconds limit = 180s,
                          const std::string& token = "") {
  auto client = server.client(token);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  json state;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = client.Get(("/api/cases/" + id).c_str());
    if (r && r->status == 200) {
      state = json::parse(r->body);
      if (state["status"] == "done" || state["status"] == "failed")
        return state;
    }
    std::this_thread::sleep_for(100ms);
  }
  return state;
}

} // namespace nervemap::test
