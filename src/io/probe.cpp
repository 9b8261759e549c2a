// nervemap io: probe() — what a file is and whether all its data is there, without reading the voxels
// into memory. For callers that must refuse an input before it is used (the web service checks every
// upload before it queues a job), with io's own format knowledge rather than a copy of it.
//
// Content decides, as in read_ct: names are not trusted, except that a .nii/.nii.gz file that is
// nothing else goes to the NIfTI header reader, for its precise error.
#include "io/internal_dicom.h"
#include "io/internal_nifti.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>
#include <fstream>

namespace nervemap::io {
namespace {

//! The first four bytes are sizeof_hdr of NIfTI-1 (348) or NIfTI-2 (540) in either byte order
//! (nifti1.h, nifti2.h): the file means to be NIfTI, so a bad header after them is an error to report,
//! not a sign of another format.
bool has_nifti_size_field(const std::array<uint8_t, 4>& head) {
  const uint32_t le =
      uint32_t(head[0]) | uint32_t(head[1]) << 8 | uint32_t(head[2]) << 16 | uint32_t(head[3]) << 24;
  const uint32_t be = __builtin_bswap32(le);
  return le == 348 || be == 348 || le == 540 || be == 540;
}

FileFormat format_of(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw InputError(fmt::format("{}: cannot open the file ({})", path.string(), std::strerror(errno)));
  if (is_zip(path))
    return FileFormat::zip;
  std::array<uint8_t, 4> head{};
  in.read(reinterpret_cast<char*>(head.data()), std::streamsize(head.size()));
  const auto n = size_t(in.gcount());
  if (gzip::has_magic(std::span(head.data(), n)))
    return FileFormat::nifti_gz;
  if (n == head.size() && has_nifti_size_field(head))
    return FileFormat::nifti;
  if (dicom::looks_like_dicom(path))
    return FileFormat::dicom;
  if (has_nifti_suffix(path))
    return FileFormat::nifti;
  return FileFormat::unknown;
}

} // namespace

Probe probe(const fs::path& path) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status))
    throw InputError(fmt::format("{}: no such file; check the path", path.string()));
  if (fs::is_directory(status))
    throw InputError(fmt::format("{} is a folder, not a file", path.string()));
  if (!fs::is_regular_file(status))
    throw InputError(fmt::format("{} is not a regular file", path.string()));

  Probe out;
  out.format = format_of(path);
  if (out.format != FileFormat::nifti && out.format != FileFormat::nifti_gz)
    return out;

  NiftiHeader header = read_nifti_header(path);
  out.data_bytes_needed = uint64_t(header.vox_offset) + uint64_t(header.geometry.voxel_count()) *
                                                            uint64_t(nifti::datatype_bytes(header.datatype));
  if (out.format == FileFormat::nifti) {
    out.data_bytes_present = fs::file_size(path);
  } else {
    std::ifstream in(path, std::ios::binary);
    out.data_bytes_present = gzip::inflated_size(in, out.data_bytes_needed, path.string());
  }
  const std::string* labels = nifti::caret_extension(header);
  out.has_label_table = labels && labels->find("<Label") != std::string::npos;
  out.nifti = std::move(header);
  return out;
}

} // namespace nervemap::io
