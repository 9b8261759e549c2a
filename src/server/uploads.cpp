// POST /api/cases: the multipart body is streamed part by part into files (a CT can be gigabytes; it is
// never held in memory), then every part is checked by content before the case is acknowledged, so
// that a job is only ever queued for inputs that can run: complete NIfTI files, safe zips within the
// limits, masks on the CT's grid, structures present. Client file names never become paths.
#include "anatomy/anatomy.h"
#include "core/core.h"
#include "io/io.h"
#include "server/internal.h"

#include <cstdio>
#include <fcntl.h>
#include <fmt/format.h>
#include <fstream>
#include <unistd.h>
#include <zlib.h>

namespace nervemap::server {

namespace {

//! The form fields POST /api/cases accepts: files, then short text options.
const std::set<std::string> kFileParts{"ct", "structures", "tumor", "pet"};
const std::set<std::string> kTextParts{"series", "tumor_label"};
constexpr size_t kMaxTextPart = 256;

std::string part_name(std::string name) {
  return name == "tumour" ? "tumor" : name; // both spellings, as on the command line
}

enum class Kind { zip, gzip, other };

Kind sniff(const fs::path& file) {
  if (io::is_zip(file))
    return Kind::zip;
  unsigned char magic[2] = {0, 0};
  if (FILE* f = std::fopen(file.c_str(), "rb")) {
    const size_t n = std::fread(magic, 1, 2, f);
    std::fclose(f);
    if (n == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
      return Kind::gzip;
  }
  return Kind::other;
}

//! Replace server paths in a library message by the name the client knows (the form field), so errors
//! never reveal the data folder.
std::string public_message(std::string message, const fs::path& staging, const std::string& part) {
  for (const std::string& needle : {staging.string() + "/", staging.string()}) {
    for (size_t at; (at = message.find(needle)) != std::string::npos;)
      message.replace(at, needle.size(), needle.back() == '/' ? "" : part);
  }
  return message;
}

int bytes_per_voxel(int datatype) {
  switch (datatype) {
  case 2:   // uint8
  case 256: // int8
    return 1;
  case 4:   // int16
  case 512: // uint16
    return 2;
  case 8:   // int32
  case 16:  // float32
  case 768: // uint32
    return 4;
  case 64:   // float64
  case 1024: // int64
  case 1280: // uint64
    return 8;
  default:
    return 0;
  }
}

//! Bytes a gzip file inflates to, reading at most `enough` of them (streamed: constant memory).
//! Throws ApiError for a damaged stream.
uint64_t inflated_size(const fs::path& file, uint64_t enough, const std::string& label) {
  gzFile gz = gzopen(file.c_str(), "rb");
  if (!gz)
    throw std::runtime_error(fmt::format("cannot open {}", file.string()));
  gzbuffer(gz, 1 << 17);
  std::vector<char> buffer(1 << 17);
  uint64_t total = 0;
  while (total < enough) {
    const int n = gzread(gz, buffer.data(), unsigned(buffer.size()));
    if (n < 0) {
      int code = 0;
      std::string why = gzerror(gz, &code);
      gzclose(gz);
      throw ApiError(400,
                     fmt::format("{}: the gzip stream is damaged ({}); export the file again", label, why));
    }
    if (n == 0)
      break;
    total += uint64_t(n);
  }
  gzclose(gz);
  return total;
}

//! The header of a NIfTI file whose voxel data is all there (a truncated upload or export is refused
//! now rather than failing a job later).
io::NiftiHeader complete_nifti(const fs::path& file, const fs::path& staging, const std::string& label) {
  io::NiftiHeader header;
  try {
    header = io::read_nifti_header(file);
  } catch (const InputError& e) {
    throw ApiError(400, public_message(e.what(), staging, label));
  }
  const auto& d = header.geometry.dims;
  const uint64_t voxels = uint64_t(d[0]) * uint64_t(d[1]) * uint64_t(d[2]);
  const uint64_t needed = uint64_t(header.vox_offset) + voxels * uint64_t(bytes_per_voxel(header.datatype));
  const uint64_t available =
      sniff(file) == Kind::gzip ? inflated_size(file, needed, label) : uint64_t(fs::file_size(file));
  if (available < needed)
    throw ApiError(400,
                   fmt::format("{}: the NIfTI file is truncated ({} of {} bytes of header and voxel data); "
                               "upload the complete file",
                               label,
                               available,
                               needed));
  return header;
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
                                      const std::string& label) {
  try {
    return io::extract_zip(zip, dest, limits.zip);
  } catch (const InputError& e) {
    // io's refusals name the limit they hit ("more than the limit of"): those are 413, the rest 400.
    const std::string message = public_message(e.what(), staging, label);
    throw ApiError(message.find("the limit of") != std::string::npos ? 413 : 400, message);
  }
}

bool is_nifti_name(const fs::path& p) {
  return io::has_nifti_suffix(p);
}

std::string stem_of(const fs::path& p) {
  std::string name = p.filename().string();
  for (const char* suffix : {".nii.gz", ".nii"})
    if (name.size() > std::strlen(suffix) && name.ends_with(suffix))
      return name.substr(0, name.size() - std::strlen(suffix));
  return name;
}

bool has_label_table(const io::NiftiHeader& h) {
  for (const auto& [code, content] : h.extensions)
    if (content.find("<Label") != std::string::npos)
      return true;
  return false;
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
  const fs::path parts_dir = staging / "parts";
  const fs::path input_dir = staging / "input";
  fs::create_directories(parts_dir);
  fs::create_directories(input_dir);

  // ---- receive: one file per part, streamed --------------------------------------------------
  std::map<std::string, std::string> text;
  std::map<std::string, std::string> filenames;
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
          filenames[current] = display_name(part.filename);
          writer = std::make_unique<PartWriter>(parts_dir / current);
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
        std::string& value = text[current];
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
  writer.reset();

  auto has = [&](const std::string& name) { return fs::exists(parts_dir / name); };
  if (!has("ct"))
    throw ApiError(400,
                   "no CT: send the CT as the form field 'ct' (.nii, .nii.gz or a .zip of a DICOM series)");
  if (!has("structures"))
    throw ApiError(400,
                   "no structures: this server has no segmentation models configured, so a case needs its "
                   "structure masks — send the form field 'structures' (a .zip of a TotalSegmentator output "
                   "folder, or its --ml file)");
  pipeline::CaseInputs inputs;
  if (text.count("tumor_label")) {
    if (text["tumor_label"] != "GTVp" && text["tumor_label"] != "GTVn")
      throw ApiError(400, "tumor_label must be GTVp or GTVn");
    inputs.tumour_binary_as_gtvn = text["tumor_label"] == "GTVn";
  }
  inputs.name = filenames["ct"];

  // ---- the CT ------------------------------------------------------------------------------------
  CtGrid grid;
  const fs::path ct_part = parts_dir / "ct";
  switch (sniff(ct_part)) {
  case Kind::zip: {
    const fs::path dir = input_dir / "ct";
    extract_checked(ct_part, dir, limits, staging, "ct");
    std::vector<io::DicomSeriesInfo> series;
    try {
      series = io::list_dicom_series(dir);
    } catch (const InputError& e) {
      throw ApiError(400, public_message(e.what(), staging, "ct"));
    }
    if (series.empty())
      throw ApiError(400, "ct: the zip holds no DICOM files; send a .zip of one CT series or a NIfTI file");
    const std::string wanted = text.count("series") ? text["series"] : "";
    const io::DicomSeriesInfo* chosen = nullptr;
    for (const auto& s : series)
      if (wanted.empty() ? series.size() == 1 : s.series_uid == wanted)
        chosen = &s;
    if (!chosen) {
      std::string list;
      for (const auto& s : series)
        list += fmt::format("{}{} ({} {}, {} files)",
                            list.empty() ? "" : "; ",
                            s.series_uid,
                            s.modality,
                            s.description,
                            s.file_count);
      throw ApiError(400,
                     wanted.empty()
                         ? fmt::format("ct: the zip holds {} series; choose one with the form field "
                                       "'series': {}",
                                       series.size(),
                                       list)
                         : fmt::format("ct: the zip has no series {}; it holds: {}", wanted, list));
    }
    grid.dims = chosen->dims;
    inputs.ct = dir;
    inputs.series_uid = wanted;
    break;
  }
  case Kind::gzip:
  case Kind::other: {
    const io::NiftiHeader h = [&] {
      try {
        return complete_nifti(ct_part, staging, "ct");
      } catch (const ApiError& e) {
        // Neither a zip nor a NIfTI: say what is accepted rather than what NIfTI check failed first.
        if (sniff(ct_part) == Kind::other && std::string(e.what()).find("NIfTI") == std::string::npos)
          throw ApiError(400, "ct: not a NIfTI file (.nii, .nii.gz) nor a .zip of a DICOM series");
        throw;
      }
    }();
    grid.geometry = h.geometry;
    grid.dims = h.geometry.dims;
    const std::string name = sniff(ct_part) == Kind::gzip ? "ct.nii.gz" : "ct.nii";
    fs::rename(ct_part, input_dir / name);
    inputs.ct = input_dir / name;
    break;
  }
  }

  // ---- structures: a zip of a TotalSegmentator folder (masks at the root or in one folder) or one
  //      --ml file (alone, or zipped); zip or not is decided by content, not by name --------------
  const fs::path st_part = parts_dir / "structures";
  if (sniff(st_part) == Kind::zip) {
    const fs::path dir = input_dir / "structures";
    const auto files = extract_checked(st_part, dir, limits, staging, "structures");
    std::vector<fs::path> masks;
    for (const auto& f : files)
      if (is_nifti_name(f))
        masks.push_back(f);
    if (masks.empty())
      throw ApiError(400, "structures: the zip holds no .nii.gz masks; zip a TotalSegmentator output folder");
    for (const auto& f : masks) {
      const std::string label = "structures/" + fs::relative(f, dir).generic_string();
      check_on_ct_grid(complete_nifti(f, staging, label), grid, label);
    }
    const bool one_ml_file = masks.size() == 1 && !anatomy::Catalogue::get().find(stem_of(masks[0]));
    if (one_ml_file && !has_label_table(io::read_nifti_header(masks[0])))
      throw ApiError(400,
                     "structures: the single NIfTI in the zip is not a known structure name and has no label "
                     "table (TotalSegmentator --ml extension)");
    inputs.structures = one_ml_file ? masks[0] : dir;
  } else {
    const io::NiftiHeader h = complete_nifti(st_part, staging, "structures");
    check_on_ct_grid(h, grid, "structures");
    if (!has_label_table(h))
      throw ApiError(400,
                     "structures: this NIfTI has no label table (TotalSegmentator --ml extension); send the "
                     "--ml file of TotalSegmentator or a .zip of its output folder");
    const std::string name = sniff(st_part) == Kind::gzip ? "structures.nii.gz" : "structures.nii";
    fs::rename(st_part, input_dir / name);
    inputs.structures = input_dir / name;
  }

  // ---- tumour and PET ---------------------------------------------------------------------------
  for (const char* key : {"tumor", "pet"}) {
    const fs::path part = parts_dir / key;
    if (!has(key))
      continue;
    const io::NiftiHeader h = complete_nifti(part, staging, key);
    if (std::string(key) == "tumor")
      check_on_ct_grid(h, grid, key); // PET is usually on its own grid
    const std::string name = std::string(key) + (sniff(part) == Kind::gzip ? ".nii.gz" : ".nii");
    fs::rename(part, input_dir / name);
    (std::string(key) == "tumor" ? inputs.tumour : inputs.pet) = input_dir / name;
  }

  fs::remove_all(parts_dir);
  return inputs;
}

} // namespace nervemap::server
