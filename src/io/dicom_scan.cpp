// nervemap io, DICOM: the input (a folder, a zip extracted into a private scratch folder, or one file
// read with its siblings), the scan of its files, and their grouping into series.
#include "io/internal_dicom.h"

#include <algorithm>
#include <fmt/format.h>

namespace nervemap::io::dicom {
namespace {

constexpr const char* kDicomdirSopClass = "1.2.840.10008.1.3.10"; // Media Storage Directory Storage

std::vector<fs::path> files_under(const DicomInput& in) {
  std::vector<fs::path> files;
  std::error_code ec;
  auto add = [&](const fs::directory_entry& entry) {
    std::error_code fec;
    if (entry.is_regular_file(fec))
      files.push_back(entry.path());
  };
  if (in.recursive) {
    for (auto it =
             fs::recursive_directory_iterator(in.root, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator();
         it.increment(ec))
      add(*it);
  } else {
    for (auto it = fs::directory_iterator(in.root, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::directory_iterator();
         it.increment(ec))
      add(*it);
  }
  if (ec)
    throw InputError(fmt::format("cannot list {}: {}", in.root.string(), ec.message()));
  std::sort(files.begin(), files.end());
  return files;
}

DicomSeriesInfo summarize(const std::string& uid, const std::vector<SliceHeader>& files) {
  DicomSeriesInfo info;
  info.series_uid = uid;
  const SliceHeader& first = files.front();
  info.description = first.series_description;
  info.modality = first.modality;
  info.series_number = first.series_number;
  info.file_count = files.size();
  int64_t frames = 0;
  for (const auto& f : files)
    frames += std::max(1, f.frames);
  info.dims = {first.columns, first.rows, frames};
  return info;
}

} // namespace

std::string DicomInput::display(const fs::path& file) const {
  if (from_zip)
    return fmt::format("{}:{}", given.string(), file.lexically_relative(root).generic_string());
  return file.string();
}

std::string DicomInput::describe() const {
  if (from_zip)
    return fmt::format("zip archive {}", given.string());
  if (one_file)
    return fmt::format("folder {} (beside {})", root.string(), one_file->filename().string());
  return fmt::format("folder {}", given.string());
}

DicomInput open_input(const fs::path& path) {
  DicomInput in;
  in.given = path;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status))
    throw InputError(fmt::format("DICOM input {} does not exist", path.string()));
  if (fs::is_directory(status)) {
    in.root = path;
    return in;
  }
  if (!fs::is_regular_file(status))
    throw InputError(fmt::format("DICOM input {} is neither a folder nor a file", path.string()));
  if (is_zip(path)) {
    in.temp = std::make_unique<ScratchDir>("dicom");
    in.root = in.temp->path();
    in.from_zip = true;
    extract_zip(path, in.root);
    return in;
  }
  // One file: its series is read from the files of the same folder (not its subfolders), so that
  // `--ct IM0001.dcm` gives the whole series, as a viewer opening that file would show it.
  in.root = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  in.recursive = false;
  // Spelled as the folder listing spells it, so that it compares equal to the scanned paths.
  in.one_file = in.root / path.filename();
  return in;
}

Scan scan(const DicomInput& in) {
  Scan out;
  for (const fs::path& file : files_under(in)) {
    ++out.files_seen;
    ByteSource src(file);
    if (!src.ok() || !looks_like_dicom(src))
      continue;
    SliceHeader h = read_slice_header(src, file, in.display(file));
    // DICOMDIR (PS3.10 §8.6) indexes the files; it is no image.
    if (h.media_sop_class == kDicomdirSopClass || h.sop_class == kDicomdirSopClass ||
        file.filename() == "DICOMDIR") {
      out.dicomdir = std::move(h);
      continue;
    }
    if (!h.problem.empty())
      out.broken.push_back(std::move(h));
    else if (h.has_pixel_data && !h.series_uid.empty())
      out.images.push_back(std::move(h));
    else if (h.has_pixel_data) {
      h.problem = "it has no SeriesInstanceUID (0020,000E)";
      out.broken.push_back(std::move(h));
    }
    // Files without pixel data (structure sets, reports, presentation states) are not images.
  }
  return out;
}

std::map<std::string, std::vector<SliceHeader>> by_series(std::vector<SliceHeader> images) {
  std::map<std::string, std::vector<SliceHeader>> series;
  for (auto& h : images)
    series[h.series_uid].push_back(std::move(h));
  return series;
}

std::vector<DicomSeriesInfo> summaries(const std::map<std::string, std::vector<SliceHeader>>& series) {
  std::vector<DicomSeriesInfo> out;
  for (const auto& [uid, files] : series)
    out.push_back(summarize(uid, files));
  std::stable_sort(out.begin(), out.end(), [](const DicomSeriesInfo& a, const DicomSeriesInfo& b) {
    return a.series_number < b.series_number;
  });
  return out;
}

std::string series_list_text(const std::vector<DicomSeriesInfo>& list) {
  std::string text;
  for (const auto& s : list) {
    if (!text.empty())
      text += "; ";
    text += fmt::format("{} (#{} \"{}\", {}, {} files, {}×{}×{})",
                        s.series_uid,
                        s.series_number,
                        s.description,
                        s.modality.empty() ? "no modality" : s.modality,
                        s.file_count,
                        s.dims[0],
                        s.dims[1],
                        s.dims[2]);
  }
  return text;
}

[[noreturn]] void no_images(const DicomInput& in, const Scan& found) {
  if (!found.broken.empty())
    throw InputError(fmt::format(
        "no readable DICOM image in {}: {} is corrupt ({}){}",
        in.describe(),
        found.broken.front().display,
        found.broken.front().problem,
        found.broken.size() > 1 ? fmt::format(", and {} more files are unreadable", found.broken.size() - 1)
                                : std::string()));
  throw InputError(
      fmt::format("no DICOM image files found in {} ({} files looked at); expected a folder or zip "
                  "of CT slices (.dcm)",
                  in.describe(),
                  found.files_seen));
}

} // namespace nervemap::io::dicom
