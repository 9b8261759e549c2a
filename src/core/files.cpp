#include "core/core.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace nervemap {

void Warnings::add(std::string message) {
  // The same finding from several nerves or sides is reported once.
  if (std::find(items_.begin(), items_.end(), message) == items_.end())
    items_.push_back(std::move(message));
}

void Warnings::append(const Warnings& other) {
  for (const auto& m : other.items_)
    add(m);
}

void write_file_atomically(const fs::path& target, const std::function<void(const fs::path& tmp)>& write) {
  static std::atomic<unsigned> counter{0};
  // The temporary name keeps the final extension so that writers choosing a format by suffix still work.
  fs::path tmp = target.parent_path() /
                 fmt::format(".tmp-{}-{}-{}", ::getpid(), counter.fetch_add(1), target.filename().string());
  try {
    write(tmp);
    fs::rename(tmp, target);
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
}

OutputTransaction::OutputTransaction(fs::path out_dir) : dir_(std::move(out_dir)) {}

OutputTransaction::~OutputTransaction() {
  if (committed_)
    return;
  std::error_code ec;
  for (auto it = created_.rbegin(); it != created_.rend(); ++it)
    fs::remove_all(*it, ec);
}

void OutputTransaction::prepare() {
  // Remember the outermost folder this call creates so that a rollback removes all of it.
  fs::path first_missing;
  for (fs::path p = fs::absolute(dir_); !p.empty() && !fs::exists(p); p = p.parent_path()) {
    first_missing = p;
    if (p == p.parent_path())
      break;
  }
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec)
    throw InputError(fmt::format("cannot create the output folder {}: {}", dir_.string(), ec.message()));
  if (!fs::is_directory(dir_))
    throw InputError(fmt::format("the output path {} exists and is not a folder", dir_.string()));
  if (!first_missing.empty())
    created_.push_back(first_missing);
}

void OutputTransaction::created(const fs::path& path) {
  created_.push_back(path);
}

void OutputTransaction::wrote(const fs::path& file) {
  created_.push_back(file);
  written_.push_back(file);
}

ScratchDir::ScratchDir(const std::string& purpose) {
  // mkdtemp: a fresh name that cannot already exist (no race with another process or a planted
  // symlink) and mode 0700, since unpacked uploads and DICOM hold patient data.
  std::string pattern = (fs::temp_directory_path() / fmt::format("nervemap-{}-XXXXXX", purpose)).string();
  if (!::mkdtemp(pattern.data()))
    throw std::runtime_error(fmt::format("cannot create a temporary folder in {}: {}",
                                         fs::temp_directory_path().string(),
                                         std::strerror(errno)));
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

} // namespace nervemap
