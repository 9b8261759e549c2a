#include "support/test_support.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <gtest/gtest.h>
#include <poll.h>
#include <random>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace fs = std::filesystem;

namespace nervemap::test {

Geometry voxel_grid(Index3 dims, Vec3 spacing, Mat3 direction, Vec3 origin) {
  Geometry g;
  g.dims = dims;
  g.spacing = spacing;
  g.direction = direction;
  g.origin = origin;
  return g;
}

Geometry covering_grid(const Vec3& lo, const Vec3& hi, const Vec3& spacing, const Mat3& direction) {
  Geometry g;
  g.direction = direction;
  g.spacing = spacing;
  // Extent of the box's corners along each voxel axis (D may be any invertible frame).
  const Mat3 to_axes = direction.inverse();
  Vec3 mn = Vec3::Constant(1e300), mx = Vec3::Constant(-1e300);
  for (int c = 0; c < 8; ++c) {
    const Vec3 q = to_axes * Vec3((c & 1) ? hi[0] : lo[0], (c & 2) ? hi[1] : lo[1], (c & 4) ? hi[2] : lo[2]);
    mn = mn.cwiseMin(q);
    mx = mx.cwiseMax(q);
  }
  for (int a = 0; a < 3; ++a)
    g.dims[size_t(a)] = int64_t(std::ceil((mx[a] - mn[a]) / spacing[a])) + 1;
  g.origin = direction * mn;
  return g;
}

fs::path shared_path(const std::string& relative) {
  const char* env = std::getenv("NERVEMAP_SHARED");
  fs::path root = env && *env ? fs::path(env) : fs::path(NERVEMAP_DEFAULT_SHARED);
  return root / relative;
}

fs::path nervemap_binary() {
  const char* env = std::getenv("NERVEMAP_BIN");
  return env && *env ? fs::path(env) : fs::path(NERVEMAP_DEFAULT_BIN);
}

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error("cannot open " + path.string());
  return nlohmann::json::parse(in);
}

TempDir::TempDir() {
  static std::atomic<unsigned> counter{0};
  std::random_device rd;
  path_ = fs::temp_directory_path() / ("nervemap-test-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(counter++) + "-" + std::to_string(rd() % 100000));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

CommandResult run(const std::vector<std::string>& argv) {
  int out_pipe[2], err_pipe[2];
  if (pipe(out_pipe) != 0 || pipe(err_pipe) != 0)
    throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
  posix_spawn_file_actions_addclose(&actions, err_pipe[0]);
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    throw std::runtime_error("cannot start " + argv[0]);
  }
  CommandResult result;
  std::array<pollfd, 2> fds{pollfd{out_pipe[0], POLLIN, 0}, pollfd{err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (poll(fds.data(), fds.size(), -1) < 0)
      break;
    for (int f = 0; f < 2; ++f) {
      if (fds[f].fd < 0 || !(fds[f].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      ssize_t n = read(fds[f].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[f].fd);
        fds[f].fd = -1;
        --open_fds;
      } else {
        (f == 0 ? result.out : result.err).append(buf, size_t(n));
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

CommandResult run_nervemap(const std::vector<std::string>& args) {
  std::vector<std::string> argv{nervemap_binary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

std::vector<std::string> list_files(const fs::path& dir) {
  std::vector<std::string> files;
  if (!fs::exists(dir))
    return files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file())
      files.push_back(fs::relative(e.path(), dir).string());
  std::sort(files.begin(), files.end());
  return files;
}

int count_error_lines(const std::string& err) {
  std::istringstream in(err);
  int n = 0;
  for (std::string line; std::getline(in, line);)
    n += line.rfind("error:", 0) == 0;
  return n;
}

void expect_one_error(const CommandResult& r, int code, const std::string& needle) {
  EXPECT_EQ(r.exit_code, code) << r.err;
  EXPECT_EQ(count_error_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "stderr: " << r.err;
}

} // namespace nervemap::test
