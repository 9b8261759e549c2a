// Shared test helpers: where the fixtures and the binary are, temporary folders, running the CLI.
#pragma once

#include "core/core.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace nervemap::test {

//! Path inside ../shared (NERVEMAP_SHARED overrides), e.g. shared_path("fixtures/geometry/nifti").
std::filesystem::path shared_path(const std::string& relative);
//! The built CLI binary (NERVEMAP_BIN overrides).
std::filesystem::path nervemap_binary();
nlohmann::json read_json(const std::filesystem::path& path);

//! A grid from its parts: dims, spacing, direction (columns: the voxel axes in LPS) and origin.
Geometry voxel_grid(Index3 dims, Vec3 spacing, Mat3 direction = Mat3::Identity(), Vec3 origin = Vec3::Zero());
//! A grid of the given spacing and direction whose voxel centres cover the LPS box [lo, hi].
Geometry
covering_grid(const Vec3& lo, const Vec3& hi, const Vec3& spacing, const Mat3& direction = Mat3::Identity());

//! A fresh folder under the system temp dir, removed when the object goes out of scope.
class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1; //!< exit status, or 128 + signal
  std::string out, err;
};
//! Run a program with arguments (no shell), capturing stdout and stderr.
CommandResult run(const std::vector<std::string>& argv);
//! Run the nervemap CLI with the given arguments.
CommandResult run_nervemap(const std::vector<std::string>& args);
//! Lines of `err` that start with "error:".
int count_error_lines(const std::string& err);
//! A failed command as design §7 wants it: exit `code`, exactly one `error:` line, which names `needle`.
void expect_one_error(const CommandResult& r, int code, const std::string& needle);
//! All regular files under a folder (recursive), sorted, relative to it.
std::vector<std::string> list_files(const std::filesystem::path& dir);

} // namespace nervemap::test
