// nervemap io: zip archives (libzip), extracted only after every entry has been checked (design §9).
//
// The whole archive is refused, with nothing written, if one entry could escape the destination
// (absolute path, `..`, drive letter, backslash separators — "zip slip") or is a symlink, or if the
// central directory already declares more entries or bytes than the limits allow. The declared
// sizes may lie (a crafted zip bomb), so the bytes are counted again while inflating; a limit hit
// or a corrupt entry during extraction removes everything written so far. Limit refusals are
// LimitErrors, so that callers need not recognise them by their text.
#include "io/io.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <set>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <zip.h>

namespace nervemap::io {
namespace {

std::string libzip_error(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string text = zip_error_strerror(&error);
  zip_error_fini(&error);
  return text;
}

//! An archive opened read-only; closed without writing anything back.
class Archive {
public:
  explicit Archive(const fs::path& path) {
    int code = 0;
    zip_ = zip_open(path.c_str(), ZIP_RDONLY, &code);
    if (!zip_)
      throw InputError(
          fmt::format("{} is not a readable zip archive ({})", path.string(), libzip_error(code)));
  }
  ~Archive() { zip_discard(zip_); }
  Archive(const Archive&) = delete;
  Archive& operator=(const Archive&) = delete;
  zip_t* get() const { return zip_; }

private:
  zip_t* zip_ = nullptr;
};

//! One entry being read (inflated); closing it reports a CRC mismatch.
class EntryReader {
public:
  EntryReader(zip_t* zip, zip_uint64_t index) : file_(zip_fopen_index(zip, index, 0)) {}
  ~EntryReader() {
    if (file_)
      zip_fclose(file_);
  }
  EntryReader(const EntryReader&) = delete;
  EntryReader& operator=(const EntryReader&) = delete;
  zip_file_t* get() const { return file_; }
  //! Closes the entry; returns libzip's error code (0 when the data was intact).
  int close() {
    int rc = zip_fclose(file_);
    file_ = nullptr;
    return rc;
  }

private:
  zip_file_t* file_;
};

//! A file descriptor closed on scope exit.
class Fd {
public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

private:
  int fd_;
};

struct Entry {
  zip_uint64_t index = 0;
  std::string name;  //!< as stored
  fs::path relative; //!< normalized, checked path inside the destination
  bool directory = false;
  uint64_t declared_size = 0;
};

//! Refuse the archive: an InputError, or with Error = LimitError one over the limits.
template <class Error = InputError> [[noreturn]] void refuse(const fs::path& zip, const std::string& why) {
  throw Error(fmt::format("refusing zip archive {}: {}; nothing was extracted", zip.string(), why));
}

//! The entry name as a relative path, or a refusal saying why it could escape the destination.
fs::path checked_relative_path(const fs::path& zip, const std::string& name) {
  auto bad = [&](const char* why) { refuse(zip, fmt::format("entry \"{}\" {}", name, why)); };
  if (name.empty())
    bad("has an empty name");
  if (name.find('\\') != std::string::npos)
    bad("contains a backslash (a Windows path)");
  if (name.front() == '/')
    bad("is an absolute path");
  if (name.size() >= 2 && std::isalpha(uint8_t(name[0])) && name[1] == ':')
    bad("starts with a drive letter");
  fs::path relative;
  size_t start = 0;
  while (start <= name.size()) {
    size_t stop = name.find('/', start);
    if (stop == std::string::npos)
      stop = name.size();
    const std::string part = name.substr(start, stop - start);
    if (part == "..")
      bad("has a '..' path component");
    if (!part.empty() && part != ".")
      relative /= part;
    start = stop + 1;
  }
  return relative;
}

//! Reads the central directory and checks every entry and the limits before anything is written.
std::vector<Entry> plan(const fs::path& zip_path, zip_t* zip, const ZipLimits& limits) {
  const zip_int64_t count = zip_get_num_entries(zip, 0);
  if (count < 0)
    throw InputError(fmt::format("{} is not a readable zip archive", zip_path.string()));
  if (uint64_t(count) > limits.max_entries)
    refuse<LimitError>(
        zip_path, fmt::format("it has {} entries, more than the limit of {}", count, limits.max_entries));

  std::vector<Entry> entries;
  uint64_t declared_total = 0;
  std::set<fs::path> files, folders;
  for (zip_uint64_t i = 0; i < zip_uint64_t(count); ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(zip, i, 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME))
      throw InputError(fmt::format(
          "{} is corrupt: entry {} cannot be read ({})", zip_path.string(), i, zip_strerror(zip)));
    Entry e;
    e.index = i;
    e.name = st.name;
    e.relative = checked_relative_path(zip_path, e.name);
    e.directory = e.name.back() == '/';

    // Unix "external attributes" hold st_mode in their high 16 bits (APPNOTE.TXT 4.4.15, Info-ZIP).
    zip_uint8_t opsys = 0;
    zip_uint32_t attributes = 0;
    if (zip_file_get_external_attributes(zip, i, 0, &opsys, &attributes) == 0 && opsys == ZIP_OPSYS_UNIX) {
      const mode_t mode = mode_t(attributes >> 16);
      if (S_ISLNK(mode))
        refuse(zip_path, fmt::format("entry \"{}\" is a symbolic link", e.name));
      if (S_ISDIR(mode))
        e.directory = true;
    }
    if (e.relative.empty()) {
      if (!e.directory)
        refuse(zip_path, fmt::format("entry \"{}\" has no file name", e.name));
      continue; // "./": the destination itself
    }
    if (!e.directory) {
      if (!(st.valid & ZIP_STAT_SIZE))
        throw InputError(fmt::format("{} is corrupt: entry \"{}\" has no size", zip_path.string(), e.name));
      e.declared_size = st.size;
      // Written so it cannot overflow: zip64 sizes go up to 2^64 - 1 (declared_total <= limit here).
      if (e.declared_size > limits.max_total_bytes - declared_total)
        refuse<LimitError>(zip_path,
                           fmt::format("its entries declare more than the limit of {} bytes unpacked",
                                       limits.max_total_bytes));
      declared_total += e.declared_size;
      if (!files.insert(e.relative).second)
        refuse(zip_path, fmt::format("entry \"{}\" appears twice", e.name));
    } else {
      folders.insert(e.relative);
    }
    for (fs::path parent = e.relative.parent_path(); !parent.empty(); parent = parent.parent_path())
      folders.insert(parent);
    entries.push_back(std::move(e));
  }
  for (const auto& f : files)
    if (folders.count(f))
      refuse(zip_path, fmt::format("\"{}\" is both a file and a folder", f.generic_string()));
  return entries;
}

//! Removes what an extraction created unless it completed.
class Rollback {
public:
  Rollback(fs::path dest, bool dest_created) : dest_(std::move(dest)), dest_created_(dest_created) {}
  ~Rollback() {
    if (done_)
      return;
    std::error_code ec;
    if (dest_created_) {
      fs::remove_all(dest_, ec);
      return;
    }
    for (auto it = created_.rbegin(); it != created_.rend(); ++it)
      fs::remove(*it, ec);
  }
  Rollback(const Rollback&) = delete;
  Rollback& operator=(const Rollback&) = delete;
  void created(const fs::path& p) { created_.push_back(p); }
  void done() { done_ = true; }

private:
  fs::path dest_;
  bool dest_created_;
  bool done_ = false;
  std::vector<fs::path> created_;
};

void make_folder(const fs::path& dir, Rollback& rollback) {
  std::error_code ec;
  const auto st = fs::symlink_status(dir, ec);
  if (fs::is_directory(st))
    return;
  if (fs::exists(st))
    throw InputError(fmt::format("cannot extract into {}: it exists and is not a folder", dir.string()));
  if (!fs::create_directory(dir, ec) || ec)
    throw std::runtime_error(fmt::format("cannot create folder {}: {}", dir.string(), ec.message()));
  rollback.created(dir);
}

} // namespace

bool is_zip(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    return false;
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  if (!in.read(magic, 4))
    return false;
  // Local file header "PK\3\4" (a non-empty archive) or end of central directory "PK\5\6" (an empty
  // one), APPNOTE.TXT 4.3.7 / 4.3.16.
  return std::memcmp(magic, "PK\x03\x04", 4) == 0 || std::memcmp(magic, "PK\x05\x06", 4) == 0;
}

std::vector<fs::path> extract_zip(const fs::path& zip_path, const fs::path& dest, const ZipLimits& limits) {
  if (!is_zip(zip_path))
    throw InputError(fmt::format("{} is not a zip archive", zip_path.string()));
  Archive archive(zip_path);
  const std::vector<Entry> entries = plan(zip_path, archive.get(), limits);

  std::error_code ec;
  const bool dest_existed = fs::exists(fs::symlink_status(dest, ec));
  if (dest_existed && !fs::is_directory(dest))
    throw InputError(
        fmt::format("cannot extract {} into {}: not a folder", zip_path.string(), dest.string()));
  if (!dest_existed) {
    fs::create_directories(dest, ec);
    if (ec)
      throw std::runtime_error(fmt::format("cannot create folder {}: {}", dest.string(), ec.message()));
  }
  Rollback rollback(dest, !dest_existed);

  // Folders first (parents before children), then the files.
  std::set<fs::path> folders;
  for (const auto& e : entries) {
    if (e.directory)
      folders.insert(e.relative);
    for (fs::path parent = e.relative.parent_path(); !parent.empty(); parent = parent.parent_path())
      folders.insert(parent);
  }
  for (const auto& folder : folders) // std::set order puts "a" before "a/b"
    make_folder(dest / folder, rollback);

  std::vector<fs::path> extracted;
  uint64_t total = 0;
  std::vector<char> buffer(1 << 16);
  for (const auto& e : entries) {
    if (e.directory)
      continue;
    const fs::path target = dest / e.relative;
    EntryReader reader(archive.get(), e.index);
    if (!reader.get())
      throw InputError(fmt::format(
          "{}: entry \"{}\" cannot be read ({})", zip_path.string(), e.name, zip_strerror(archive.get())));
    // O_EXCL | O_NOFOLLOW: never overwrite, never write through a link planted in the destination.
    Fd fd(::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (fd.get() < 0)
      throw std::runtime_error(fmt::format("cannot create {}: {}", target.string(), std::strerror(errno)));
    rollback.created(target);
    uint64_t written = 0;
    while (true) {
      const zip_int64_t n = zip_fread(reader.get(), buffer.data(), buffer.size());
      if (n < 0)
        throw InputError(fmt::format(
            "{} is corrupt: entry \"{}\": {}", zip_path.string(), e.name, zip_file_strerror(reader.get())));
      if (n == 0)
        break;
      total += uint64_t(n);
      written += uint64_t(n);
      if (total > limits.max_total_bytes)
        throw LimitError(fmt::format("refusing zip archive {}: it unpacks to more than the limit of {} bytes "
                                     "(entry \"{}\" inflates beyond its declared size); nothing was kept",
                                     zip_path.string(),
                                     limits.max_total_bytes,
                                     e.name));
      if (written > e.declared_size)
        throw InputError(
            fmt::format("{} is corrupt: entry \"{}\" inflates to more than its declared {} bytes",
                        zip_path.string(),
                        e.name,
                        e.declared_size));
      for (zip_int64_t off = 0; off < n;) {
        const ssize_t w = ::write(fd.get(), buffer.data() + off, size_t(n - off));
        if (w < 0) {
          if (errno == EINTR)
            continue;
          throw std::runtime_error(fmt::format("cannot write {}: {}", target.string(), std::strerror(errno)));
        }
        off += w;
      }
    }
    if (const int rc = reader.close(); rc != 0)
      throw InputError(
          fmt::format("{} is corrupt: entry \"{}\": {}", zip_path.string(), e.name, libzip_error(rc)));
    if (written != e.declared_size)
      throw InputError(fmt::format("{} is corrupt: entry \"{}\" holds {} bytes, not its declared {}",
                                   zip_path.string(),
                                   e.name,
                                   written,
                                   e.declared_size));
    if (::close(fd.release()) != 0)
      throw std::runtime_error(fmt::format("cannot write {}: {}", target.string(), std::strerror(errno)));
    extracted.push_back(target);
  }
  rollback.done();
  return extracted;
}

} // namespace nervemap::io
