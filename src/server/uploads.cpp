// POST /api/cases: the multipart body is streamed part by part into files (a CT can be gigabytes; it is
// never held in memory), then every part is checked by content before the case is acknowledged, so
// that a job is only ever queued for inputs that can run: complete NIfTI files, safe zips within the
// limits, masks on the CT's grid, structures present. Client file names never become paths. What a file
// is and whether it is complete is io's to say (io::probe); this file only decides what the form accepts.
#include "anatomy/anatomy.h"
#include "core/core.h"
#include "io/io.h"
#include "server/internal.h"

#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

namespace nervemap::server {

namespace {

//! The form fields POST /api/cases accepts: files, then short text options.
const std::set<std::string> kFileParts{"ct", "structures", "tumor", "pet"};
const std::set<std::string> kTextParts{"series", "tumor_label"};
constexpr size_t kMaxTextPart = 256;

std::string part_name(std::string name) {
  return name == "tumour" ? "tumor" : name; // both spellings, as on the command line
}

//! Printable, short, path-free: the CT's original file name, shown in the case list.
std::string display_name(const std::string& filename) {
  std::string base = fs::path(filename).filename().string();
  std::string out;
  for (unsigned char c : base)
    if (c >= 0x20 && c != 0x7f && out.size() < 100)
      out.push_back(char(c));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Receiving: one file per part, streamed, durable before the case is acknowledged.

class PartWriter {
public:
  explicit PartWriter(const fs::path& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    file_ = fd >= 0 ? ::fdopen(fd, "wb") : nullptr;
    if (!file_)
      throw std::runtime_error(fmt::format("cannot create {}", path.string()));
    std::setvbuf(file_, nullptr, _IOFBF, 1 << 20);
  }
  ~PartWriter() {
    if (file_)
      std::fclose(file_);
  }
  bool write(const char* data, size_t n) { return std::fwrite(data, 1, n, file_) == n; }
  //! Flush to the disk itself: the case is acknowledged only once its files are durable.
  void close_synced() {
    const bool ok = std::fflush(file_) == 0 && ::fsync(fileno(file_)) == 0;
    std::fclose(file_);
    file_ = nullptr;
    if (!ok)
      throw std::runtime_error("cannot write an uploaded file to disk (is the disk full?)");
  }

private:
  FILE* file_ = nullptr;
};

//! The received form: each file part at dir/<field>, the text parts in memory.
struct Parts {
  fs::path dir;
  std::map<std::string, std::string> text, filenames;
  bool has(const std::string& field) const { return fs::exists(file(field)); }
  fs::path file(const std::string& field) const { return dir / field; }
};

Parts receive_parts(const httplib::ContentReader& reader, const fs::path& dir, const Limits& limits) {
  Parts parts{dir, {}, {}};
  std::unique_ptr<PartWriter> writer;
  std::string current;
  uint64_t received = 0;
  std::optional<ApiError> refused;
  std::set<std::string> seen;
  const bool complete = reader(
      [&](const httplib::MultipartFormData& part) {
        if (writer) {
          writer->close_synced();
          writer.reset();
        }
        current = part_name(part.name);
        if (!kFileParts.count(current) && !kTextParts.count(current)) {
          refused.emplace(400,
                          fmt::format("unknown form field '{}'; expected ct, structures, tumor, pet, series, "
                                      "tumor_label",
                                      display_name(part.name)));
          return false;
        }
        if (!seen.insert(current).second) {
          refused.emplace(400, fmt::format("the form field '{}' appears twice", current));
          return false;
        }
        if (kFileParts.count(current)) {
          parts.filenames[current] = display_name(part.filename);
          writer = std::make_unique<PartWriter>(parts.file(current));
        }
        return true;
      },
      [&](const char* data, size_t n) {
        received += n;
        if (received > limits.max_upload_bytes) {
          refused.emplace(
              413, fmt::format("the upload is larger than the limit of {} bytes", limits.max_upload_bytes));
          return false;
        }
        if (writer)
          return writer->write(data, n);
        std::string& value = parts.text[current];
        if (value.size() + n > kMaxTextPart) {
          refused.emplace(400, fmt::format("the form field '{}' is too long", current));
          return false;
        }
        value.append(data, n);
        return true;
      });
  if (refused)
    throw *refused;
  if (!complete)
    throw ApiError(400, "the upload ended early or is not valid multipart/form-data; send it again");
  if (writer)
    writer->close_synced();
  return parts;
}

// ---------------------------------------------------------------------------------------------
// Checking: io says what each file is; refusals name the form field, never a server path.

//! Server paths in a library message replaced by the name the client knows (the form field or the file
//! inside its zip), so errors never reveal the data folder.
std::string public_message(std::string message, const fs::path& staging, const std::string& field) {
  const std::string part = (staging / "parts" / field).string();
  for (const std::string& needle :
       {part, staging.string() + "/input/", staging.string() + "/", staging.string()})
    for (size_t at; (at = message.find(needle)) != std::string::npos;)
      message.replace(at, needle.size(), needle == part || needle == staging.string() ? field : "");
  return message;
}

//! An io refusal as the client sees it: a limit is 413, anything else 400.
[[noreturn]] void refuse(const InputError& e, const fs::path& staging, const std::string& field) {
  const bool limit = dynamic_cast<const io::LimitError*>(&e) != nullptr;
  throw ApiError(limit ? 413 : 400, public_message(e.what(), staging, field));
}

io::Probe probe_part(const fs::path& file, const fs::path& staging, const std::string& field) {
  try {
    return io::probe(file);
  } catch (const InputError& e) {
    refuse(e, staging, field);
  }
}

//! A NIfTI file whose voxel data is all there (a truncated upload or export is refused now rather than
//! failing a job later).
io::Probe complete_nifti(const fs::path& file,
                         const fs::path& staging,
                         const std::string& field,
                         const char* expected) {
  io::Probe p = probe_part(file, staging, field);
  if (!p.nifti)
    throw ApiError(400, fmt::format("{}: not a NIfTI file (.nii, .nii.gz){}", field, expected));
  if (!p.complete())
    throw ApiError(400,
                   fmt::format("{}: the NIfTI file is truncated ({} of {} bytes of header and voxel data); "
                               "upload the complete file",
                               field,
                               p.data_bytes_present,
                               p.data_bytes_needed));
  return p;
}

//! The NIfTI's name in the case folder: <stem>.nii.gz or <stem>.nii, by content.
std::string nifti_name(const std::string& stem, const io::Probe& p) {
  return stem + (p.format == io::FileFormat::nifti_gz ? ".nii.gz" : ".nii");
}

//! What the CT's grid is known to be, for the masks' check: the whole geometry for a NIfTI CT, the
//! dimensions only for DICOM (its geometry needs the full read the job does).
struct CtGrid {
  std::optional<Geometry> geometry;
  Index3 dims{0, 0, 0};
};

void check_on_ct_grid(const io::NiftiHeader& mask, const CtGrid& ct, const std::string& label) {
  const bool same = ct.geometry ? mask.geometry.same_grid(*ct.geometry) : mask.geometry.dims == ct.dims;
  if (!same)
    throw ApiError(400,
                   fmt::format("{} is on a different grid than the CT ({}); masks must be on the CT's grid",
                               label,
                               mask.geometry.describe()));
}

std::vector<fs::path> extract_checked(const fs::path& zip,
                                      const fs::path& dest,
                                      const Limits& limits,
                                      const fs::path& staging,
                                      const std::string& field) {
  try {
    return io::extract_zip(zip, dest, limits.zip);
  } catch (const InputError& e) {
    refuse(e, staging, field);
  }
}

//! The DICOM series of an unpacked zip: the only one, or the one the form names.
const io::DicomSeriesInfo& chosen_series(const std::vector<io::DicomSeriesInfo>& series,
                                         const std::string& wanted) {
  if (series.empty())
    throw ApiError(400, "ct: the zip holds no DICOM files; send a .zip of one CT series or a NIfTI file");
  for (const auto& s : series)
    if (wanted.empty() ? series.size() == 1 : s.series_uid == wanted)
      return s;
  std::string list;
  for (const auto& s : series)
    list += fmt::format("{}{} ({} {}, {} files)",
                        list.empty() ? "" : "; ",
                        s.series_uid,
                        s.modality,
                        s.description,
                        s.file_count);
  throw ApiError(400,
                 wanted.empty() ? fmt::format("ct: the zip holds {} series; choose one with the form field "
                                              "'series': {}",
                                              series.size(),
                                              list)
                                : fmt::format("ct: the zip has no series {}; it holds: {}", wanted, list));
}

//! The CT: a zip of one DICOM series (unpacked, the series chosen) or a complete NIfTI.
CtGrid check_ct(const Parts& parts,
                const fs::path& input_dir,
                const fs::path& staging,
                const Limits& limits,
                pipeline::CaseInputs& inputs) {
  CtGrid grid;
  const fs::path part = parts.file("ct");
  const io::Probe p = probe_part(part, staging, "ct");
  if (p.format == io::FileFormat::zip) {
    const fs::path dir = input_dir / "ct";
    extract_checked(part, dir, limits, staging, "ct");
    std::vector<io::DicomSeriesInfo> series;
    try {
      series = io::list_dicom_series(dir);
    } catch (const InputError& e) {
      refuse(e, staging, "ct");
    }
    const std::string wanted = parts.text.count("series") ? parts.text.at("series") : "";
    grid.dims = chosen_series(series, wanted).dims;
    inputs.ct = dir;
    inputs.series_uid = wanted;
    return grid;
  }
  if (p.format == io::FileFormat::dicom)
    throw ApiError(400, "ct: one DICOM file; send a .zip of the whole series (or a NIfTI file)");
  const io::Probe nifti = complete_nifti(part, staging, "ct", " nor a .zip of a DICOM series");
  grid.geometry = nifti.nifti->geometry;
  grid.dims = nifti.nifti->geometry.dims;
  inputs.ct = input_dir / nifti_name("ct", nifti);
  fs::rename(part, inputs.ct);
  return grid;
}

std::string stem_of(const fs::path& p) {
  std::string name = p.filename().string();
  for (const char* suffix : {".nii.gz", ".nii"})
    if (name.size() > std::strlen(suffix) && name.ends_with(suffix))
      return name.substr(0, name.size() - std::strlen(suffix));
  return name;
}

//! The structures: a zip of a TotalSegmentator folder (masks at the root or in one folder) or one --ml
//! file (alone, or zipped); zip or not is decided by content, not by name.
void check_structures(const Parts& parts,
                      const fs::path& input_dir,
                      const fs::path& staging,
                      const Limits& limits,
                      const CtGrid& grid,
                      pipeline::CaseInputs& inputs) {
  const fs::path part = parts.file("structures");
  if (probe_part(part, staging, "structures").format == io::FileFormat::zip) {
    const fs::path dir = input_dir / "structures";
    std::vector<fs::path> masks;
    for (const auto& f : extract_checked(part, dir, limits, staging, "structures"))
      if (io::has_nifti_suffix(f))
        masks.push_back(f);
    if (masks.empty())
      throw ApiError(400, "structures: the zip holds no .nii.gz masks; zip a TotalSegmentator output folder");
    bool label_table = false;
    for (const auto& f : masks) {
      const std::string label = "structures/" + fs::relative(f, dir).generic_string();
      const io::Probe p = complete_nifti(f, staging, label, "");
      check_on_ct_grid(*p.nifti, grid, label);
      label_table = p.has_label_table;
    }
    const bool one_ml_file = masks.size() == 1 && !anatomy::Catalogue::get().find(stem_of(masks[0]));
    if (one_ml_file && !label_table)
      throw ApiError(400,
                     "structures: the single NIfTI in the zip is not a known structure name and has no label "
                     "table (TotalSegmentator --ml extension)");
    inputs.structures = one_ml_file ? masks[0] : dir;
    return;
  }
  const io::Probe p = complete_nifti(part, staging, "structures", " nor a .zip of a TotalSegmentator folder");
  check_on_ct_grid(*p.nifti, grid, "structures");
  if (!p.has_label_table)
    throw ApiError(400,
                   "structures: this NIfTI has no label table (TotalSegmentator --ml extension); send the "
                   "--ml file of TotalSegmentator or a .zip of its output folder");
  inputs.structures = input_dir / nifti_name("structures", p);
  fs::rename(part, *inputs.structures);
}

//! The tumour (on the CT's grid) and the PET (usually on its own grid): complete NIfTI files.
void check_tumour_and_pet(const Parts& parts,
                          const fs::path& input_dir,
                          const fs::path& staging,
                          const CtGrid& grid,
                          pipeline::CaseInputs& inputs) {
  for (const std::string field : {"tumor", "pet"}) {
    if (!parts.has(field))
      continue;
    const io::Probe p = complete_nifti(parts.file(field), staging, field, "");
    std::optional<fs::path>& input = field == "tumor" ? inputs.tumour : inputs.pet;
    if (field == "tumor")
      check_on_ct_grid(*p.nifti, grid, field);
    input = input_dir / nifti_name(field, p);
    fs::rename(parts.file(field), *input);
  }
}

} // namespace

void sync_path(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  ::fsync(fd);
  ::close(fd);
}

pipeline::CaseInputs receive_case_upload(const httplib::Request& request,
                                         const httplib::ContentReader& reader,
                                         const fs::path& staging,
                                         const Limits& limits) {
  if (!request.is_multipart_form_data())
    throw ApiError(400,
                   "expected a multipart/form-data body with a 'ct' file (and optional 'structures', "
                   "'tumor', 'pet')");
  const fs::path input_dir = staging / "input";
  fs::create_directories(staging / "parts");
  fs::create_directories(input_dir);
  const Parts parts = receive_parts(reader, staging / "parts", limits);

  if (!parts.has("ct"))
    throw ApiError(400,
                   "no CT: send the CT as the form field 'ct' (.nii, .nii.gz or a .zip of a DICOM series)");
  if (!parts.has("structures"))
    throw ApiError(400,
                   "no structures: this server has no segmentation models configured, so a case needs its "
                   "structure masks — send the form field 'structures' (a .zip of a TotalSegmentator output "
                   "folder, or its --ml file)");
  pipeline::CaseInputs inputs;
  if (parts.text.count("tumor_label")) {
    const std::string& label = parts.text.at("tumor_label");
    if (label != "GTVp" && label != "GTVn")
      throw ApiError(400, "tumor_label must be GTVp or GTVn");
    inputs.tumour_binary_as_gtvn = label == "GTVn";
  }
  inputs.name = parts.filenames.at("ct");

  const CtGrid grid = check_ct(parts, input_dir, staging, limits, inputs);
  check_structures(parts, input_dir, staging, limits, grid, inputs);
  check_tumour_and_pet(parts, input_dir, staging, grid, inputs);
  fs::remove_all(parts.dir);
  return inputs;
}

} // namespace nervemap::server
