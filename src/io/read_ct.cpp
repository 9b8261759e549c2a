// nervemap io: one entry point for a CT in any of the accepted forms, decided by content.
//
// Order of the decision (the first that applies wins):
//   1. missing path                              → InputError
//   2. a folder                                  → DICOM series in it (recursive)
//   3. a file starting with a zip signature      → zip of a DICOM series ("dicom-zip")
//   4. a NIfTI-1/2 header (plain or gzip-packed) → NIfTI ("nifti")
//   5. a DICOM file ("DICM" at byte 128, or a bare data set) → the series it belongs to, read from the
//      files beside it in the same folder (as a viewer opening that file would show it)
//   6. a .nii / .nii.gz name whose content is not recognised → the NIfTI reader, for its precise error
//   7. anything else                             → InputError
// Names are not trusted: an upload may be called ct.nii.gz and hold a zip.
#include "io/internal_dicom.h"

#include <array>
#include <cstring>
#include <fmt/format.h>
#include <zlib.h>

namespace nervemap::io {
namespace {

//! True if the (possibly gzip-compressed) file starts with a NIfTI-1 or NIfTI-2 header:
//! sizeof_hdr 348 with magic "n+1\0" at byte 344, or sizeof_hdr 540 with "n+2\0" at byte 4, in
//! either byte order (NIfTI-1 nifti1.h; NIfTI-2 nifti2.h).
bool starts_with_nifti_header(const fs::path& path) {
  // gzread reads plain files transparently, so one path covers .nii and .nii.gz.
  gzFile gz = gzopen(path.c_str(), "rb");
  if (!gz)
    return false;
  std::array<unsigned char, 348> head{};
  const int n = gzread(gz, head.data(), unsigned(head.size()));
  gzclose(gz);
  if (n < 8)
    return false;
  auto size_is = [&](uint32_t expected) {
    const uint32_t le =
        uint32_t(head[0]) | uint32_t(head[1]) << 8 | uint32_t(head[2]) << 16 | uint32_t(head[3]) << 24;
    const uint32_t be =
        uint32_t(head[3]) | uint32_t(head[2]) << 8 | uint32_t(head[1]) << 16 | uint32_t(head[0]) << 24;
    return le == expected || be == expected;
  };
  if (size_is(540) && std::memcmp(head.data() + 4, "n+2\0", 4) == 0)
    return true;
  return n == 348 && size_is(348) && std::memcmp(head.data() + 344, "n+1\0", 4) == 0;
}

} // namespace

CtImage read_ct(const fs::path& path, const std::string& series_uid, Warnings& warnings) {
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status))
    throw InputError(fmt::format("CT input {} does not exist", path.string()));

  CtImage image;
  if (fs::is_directory(status)) {
    image = read_dicom_ct(path, series_uid, warnings);
  } else if (!fs::is_regular_file(status)) {
    throw InputError(fmt::format("CT input {} is neither a file nor a folder", path.string()));
  } else if (is_zip(path)) {
    image = read_dicom_ct(path, series_uid, warnings);
  } else if (starts_with_nifti_header(path)) {
    image.volume = read_nifti_image(path, warnings);
    image.source_format = "nifti";
  } else if (dicom::looks_like_dicom(path)) {
    image = read_dicom_ct(path, series_uid, warnings);
  } else if (has_nifti_suffix(path)) {
    image.volume = read_nifti_image(path, warnings); // throws, naming what is wrong with the header
    image.source_format = "nifti";
  } else {
    throw InputError(
        fmt::format("{} is not a NIfTI file, DICOM folder or zip of a DICOM series", path.string()));
  }
  if (image.source_format == "nifti" && !series_uid.empty())
    warnings.add(fmt::format(
        "--series {} ignored: {} is a NIfTI file, not a DICOM series", series_uid, path.filename().string()));
  image.volume.geometry.validate(fmt::format("CT {}", path.filename().string()));
  if (image.volume.data.size() != size_t(image.volume.geometry.voxel_count()))
    throw InputError(fmt::format("CT {} holds {} values for {}",
                                 path.string(),
                                 image.volume.data.size(),
                                 image.volume.geometry.describe()));
  return image;
}

} // namespace nervemap::io
