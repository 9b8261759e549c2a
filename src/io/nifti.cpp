// NIfTI-1 header parsing: byte order, magic, dims, datatype, scaling and the voxel → LPS geometry.
//
// The affine follows nibabel's Nifti1Header.get_best_affine() (what TotalSegmentator and most research
// code see): the sform when sform_code != 0, else the qform when qform_code != 0, else the base affine
// from pixdim. NIfTI world coordinates are RAS; nervemap works in LPS = diag(-1, -1, 1) · RAS.
#include "io/internal_nifti.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <sys/mman.h>

namespace nervemap::io {

namespace nifti {

namespace {

template <class T> void swap_in_place(T& value) {
  static_assert(sizeof(T) == 2 || sizeof(T) == 4);
  if constexpr (sizeof(T) == 2)
    value = std::bit_cast<T>(__builtin_bswap16(std::bit_cast<uint16_t>(value)));
  else
    value = std::bit_cast<T>(__builtin_bswap32(std::bit_cast<uint32_t>(value)));
}

template <class T, size_t N> void swap_in_place(T (&values)[N]) {
  for (T& v : values)
    swap_in_place(v);
}

//! Byte-swap every multi-byte field of a header read from a file of the other byte order.
void swap_header(RawHeader& h) {
  swap_in_place(h.sizeof_hdr);
  swap_in_place(h.extents);
  swap_in_place(h.session_error);
  swap_in_place(h.dim);
  swap_in_place(h.intent_p1);
  swap_in_place(h.intent_p2);
  swap_in_place(h.intent_p3);
  swap_in_place(h.intent_code);
  swap_in_place(h.datatype);
  swap_in_place(h.bitpix);
  swap_in_place(h.slice_start);
  swap_in_place(h.pixdim);
  swap_in_place(h.vox_offset);
  swap_in_place(h.scl_slope);
  swap_in_place(h.scl_inter);
  swap_in_place(h.slice_end);
  swap_in_place(h.cal_max);
  swap_in_place(h.cal_min);
  swap_in_place(h.slice_duration);
  swap_in_place(h.toffset);
  swap_in_place(h.glmax);
  swap_in_place(h.glmin);
  swap_in_place(h.qform_code);
  swap_in_place(h.sform_code);
  swap_in_place(h.quatern_b);
  swap_in_place(h.quatern_c);
  swap_in_place(h.quatern_d);
  swap_in_place(h.qoffset_x);
  swap_in_place(h.qoffset_y);
  swap_in_place(h.qoffset_z);
  swap_in_place(h.srow_x);
  swap_in_place(h.srow_y);
  swap_in_place(h.srow_z);
}

int32_t read_int32(const uint8_t* p, bool swap) {
  int32_t v;
  std::memcpy(&v, p, 4);
  if (swap)
    swap_in_place(v);
  return v;
}

Mat4 sform_affine_ras(const RawHeader& h) {
  Mat4 a = Mat4::Identity();
  for (int c = 0; c < 4; ++c) {
    a(0, c) = h.srow_x[c];
    a(1, c) = h.srow_y[c];
    a(2, c) = h.srow_z[c];
  }
  return a;
}

//! nibabel's fallback (Nifti1Header.get_base_affine → shape_zoom_affine with default_x_flip): a
//! radiological diagonal diag(-zx, zy, zz) with the centre of the grid at world 0.
Mat4 base_affine_ras(const Index3& dims, const Vec3& zooms) {
  Mat4 a = Mat4::Identity();
  Vec3 signed_zooms(-zooms[0], zooms[1], zooms[2]);
  for (int r = 0; r < 3; ++r) {
    a(r, r) = signed_zooms[r];
    a(r, 3) = -(double(dims[r]) - 1) / 2 * signed_zooms[r];
  }
  return a;
}

bool header_text_equals(const char (&field)[4], const char* text) {
  return std::memcmp(field, text, 4) == 0;
}

} // namespace

int datatype_bytes(int datatype) {
  switch (datatype) {
  case dt_uint8:
  case dt_int8:
    return 1;
  case dt_int16:
  case dt_uint16:
    return 2;
  case dt_int32:
  case dt_uint32:
  case dt_float32:
    return 4;
  case dt_int64:
  case dt_uint64:
  case dt_float64:
    return 8;
  default:
    return 0;
  }
}

std::string datatype_name(int datatype) {
  switch (datatype) {
  case 1:
    return "binary (1 bit)";
  case dt_uint8:
    return "uint8";
  case dt_int16:
    return "int16";
  case dt_int32:
    return "int32";
  case dt_float32:
    return "float32";
  case 32:
    return "complex64";
  case dt_float64:
    return "float64";
  case 128:
    return "RGB24";
  case dt_int8:
    return "int8";
  case dt_uint16:
    return "uint16";
  case dt_uint32:
    return "uint32";
  case dt_int64:
    return "int64";
  case dt_uint64:
    return "uint64";
  case 1536:
    return "float128";
  case 1792:
    return "complex128";
  case 2048:
    return "complex256";
  case 2304:
    return "RGBA32";
  default:
    return fmt::format("unknown type {}", datatype);
  }
}

Mat4 qform_affine_ras(const RawHeader& h, const Vec3& voxel_size_mm) {
  // NIfTI-1 method 2: a = sqrt(1 - b² - c² - d²) (clamped at 0 for rounding, like nibabel's
  // fillpositive), then nibabel's quat2mat, which normalises the quaternion first.
  double b = h.quatern_b, c = h.quatern_c, d = h.quatern_d;
  double a = std::sqrt(std::max(0.0, 1.0 - (b * b + c * c + d * d)));
  double norm2 = a * a + b * b + c * c + d * d;
  Mat3 rotation = Mat3::Identity();
  if (norm2 > 1e-12) {
    double s = 2.0 / norm2;
    rotation << 1 - s * (c * c + d * d), s * (b * c - a * d), s * (b * d + a * c), //
        s * (b * c + a * d), 1 - s * (b * b + d * d), s * (c * d - a * b),         //
        s * (b * d - a * c), s * (c * d + a * b), 1 - s * (b * b + c * c);
  }
  // qfac is pixdim[0]; the spec allows only ±1 and tells readers to take anything else as +1.
  double qfac = h.pixdim[0] < 0 ? -1.0 : 1.0;
  Vec3 zooms(voxel_size_mm[0], voxel_size_mm[1], voxel_size_mm[2] * qfac);
  Mat4 a4 = Mat4::Identity();
  a4.topLeftCorner<3, 3>() = rotation * zooms.asDiagonal();
  a4.topRightCorner<3, 1>() = Vec3(h.qoffset_x, h.qoffset_y, h.qoffset_z);
  return a4;
}

double corner_distance_mm(const Index3& dims, const Mat4& a, const Mat4& b) {
  double worst = 0;
  for (int corner = 0; corner < 8; ++corner) {
    Eigen::Vector4d p(-0.5, -0.5, -0.5, 1);
    for (int axis = 0; axis < 3; ++axis)
      if (corner & (1 << axis))
        p[axis] = double(dims[axis]) - 0.5;
    worst = std::max(worst, ((a - b) * p).head<3>().norm());
  }
  return worst;
}

void advise_huge_pages(const void* data, size_t bytes) {
#ifdef MADV_HUGEPAGE
  constexpr uintptr_t page = 4096;
  auto begin = (reinterpret_cast<uintptr_t>(data) + page - 1) & ~(page - 1);
  auto end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(page - 1);
  if (bytes >= (size_t(1) << 21) && end > begin)
    ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE); // only advice: failure is fine
#else
  (void)data;
  (void)bytes;
#endif
}

ParsedHeader parse_header(std::span<const uint8_t> bytes, const std::string& file) {
  if (bytes.size() < header_bytes)
    throw InputError(
        fmt::format("{}: truncated NIfTI header ({} bytes; a NIfTI-1 header needs {}); the file is "
                    "incomplete — copy or export it again",
                    file,
                    bytes.size(),
                    header_bytes));
  ParsedHeader out;
  RawHeader h;
  std::memcpy(&h, bytes.data(), header_bytes);

  // Byte order: sizeof_hdr must read 348; if it does after swapping, the file has the other byte order
  // (NIfTI-1 has no endianness flag, this is the spec's own test).
  bool swap = false;
  if (h.sizeof_hdr != 348) {
    int32_t swapped = h.sizeof_hdr;
    swap_in_place(swapped);
    if (swapped == 348) {
      swap = true;
      swap_header(h);
    } else if (h.sizeof_hdr == 540 || swapped == 540) {
      throw InputError(
          fmt::format("{} is a NIfTI-2 file, which nervemap does not read; convert it to NIfTI-1 "
                      "(e.g. nibabel: nib.Nifti1Image(img.dataobj, img.affine))",
                      file));
    } else {
      throw InputError(fmt::format("{} is not a NIfTI-1 file (header size field is {}, expected 348); give a "
                                   ".nii or .nii.gz image",
                                   file,
                                   h.sizeof_hdr));
    }
  }
  out.big_endian = (std::endian::native == std::endian::little) == swap;

  if (header_text_equals(h.magic, "ni1\0"))
    throw InputError(
        fmt::format("{} is the header of a NIfTI pair (.hdr + .img), which nervemap does not read; "
                    "convert it to a single .nii.gz file (e.g. fslchfiletype NIFTI_GZ)",
                    file));
  if (!header_text_equals(h.magic, "n+1\0"))
    throw InputError(
        fmt::format("{} is not a single-file NIfTI-1 image (no 'n+1' magic; an Analyze 7.5 file?); "
                    "convert it to .nii.gz",
                    file));

  // Dimensions: dim[0] axes, dims 4..7 (time, components) must be 1 — only scalar 3-D images are used.
  int ndim = h.dim[0];
  if (ndim < 1 || ndim > 7)
    throw InputError(
        fmt::format("{}: invalid NIfTI header (dim[0] = {}, must be 1..7); the file is damaged", file, ndim));
  for (int a = 1; a <= ndim; ++a)
    if (h.dim[a] < 1)
      throw InputError(fmt::format(
          "{}: dimension {} has size {} — the image is empty or its header is damaged", file, a, h.dim[a]));
  if (ndim >= 4 && h.dim[4] > 1)
    throw InputError(
        fmt::format("{} is 4-D with {} volumes; only 3-D images are supported — extract one volume "
                    "first (e.g. fslroi in.nii.gz out.nii.gz 0 1)",
                    file,
                    h.dim[4]));
  for (int a = 5; a <= ndim; ++a)
    if (h.dim[a] > 1)
      throw InputError(
          fmt::format("{} has {} components along dimension {} (vector or multi-channel data); only "
                      "scalar 3-D images are supported",
                      file,
                      h.dim[a],
                      a));
  Index3 dims{h.dim[1], ndim >= 2 ? h.dim[2] : 1, ndim >= 3 ? h.dim[3] : 1};
  out.voxel_count = dims[0] * dims[1] * dims[2]; // each ≤ 32767: no overflow in int64
  if (out.voxel_count > max_voxels)
    throw InputError(fmt::format("{}: {}×{}×{} voxels is more than nervemap handles (2^34); the header is "
                                 "probably damaged",
                                 file,
                                 dims[0],
                                 dims[1],
                                 dims[2]));

  out.bytes_per_voxel = datatype_bytes(h.datatype);
  if (out.bytes_per_voxel == 0)
    throw InputError(
        fmt::format("{}: unsupported NIfTI datatype {} (code {}); nervemap reads scalar images "
                    "(uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32, float64) — "
                    "convert it first",
                    file,
                    datatype_name(h.datatype),
                    h.datatype));
  out.data_bytes = out.voxel_count * out.bytes_per_voxel;

  if (!std::isfinite(h.vox_offset) || h.vox_offset < 0 || h.vox_offset > float(int64_t(1) << 40))
    throw InputError(
        fmt::format("{}: invalid NIfTI header (vox_offset = {}); the file is damaged", file, h.vox_offset));
  // A single-file NIfTI keeps its data after the 352-byte header; nibabel repairs smaller offsets
  // (Nifti1Header._chk_offset) to 352, and so do we.
  out.info.vox_offset = std::max<int64_t>(int64_t(h.vox_offset), first_data_offset);

  // Scaling (NIfTI-1: scl_slope 0 means "no scaling"; nibabel also ignores a non-finite slope).
  if (std::isfinite(h.scl_slope) && h.scl_slope != 0) {
    out.info.scl_slope = h.scl_slope;
    out.info.scl_inter = std::isfinite(h.scl_inter) ? h.scl_inter : 0.0;
  }
  out.info.datatype = h.datatype;
  out.info.sform_code = h.sform_code;
  out.info.qform_code = h.qform_code;

  // Voxel sizes: an axis beyond dim[0] (a 2-D image) has no meaningful pixdim; use 1 mm there so the
  // affine stays invertible (nibabel pads such axes with zoom 1 in the base affine too).
  Vec3 pixdim_mm(h.pixdim[1], h.pixdim[2], h.pixdim[3]);
  for (int a = ndim; a < 3; ++a)
    if (!(pixdim_mm[a] > 0))
      pixdim_mm[a] = 1;

  // Geometry (nibabel get_best_affine tests the codes with != 0).
  std::optional<Mat4> sform, qform;
  std::string qform_problem;
  if (h.sform_code != 0) {
    sform = sform_affine_ras(h);
    if (!sform->allFinite())
      throw InputError(
          fmt::format("{}: the sform (srow_x/y/z) holds non-finite numbers; the header is damaged", file));
  }
  if (h.qform_code != 0) {
    bool finite = std::isfinite(h.quatern_b) && std::isfinite(h.quatern_c) && std::isfinite(h.quatern_d) &&
                  std::isfinite(h.qoffset_x) && std::isfinite(h.qoffset_y) && std::isfinite(h.qoffset_z) &&
                  pixdim_mm.allFinite() && std::isfinite(h.pixdim[0]);
    if (!finite)
      qform_problem = "the qform holds non-finite numbers";
    else if ((pixdim_mm.array() < 0).any()) // nibabel's get_qform refuses negative pixdim too
      qform_problem = fmt::format(
          "the qform has negative voxel sizes (pixdim {} {} {})", pixdim_mm[0], pixdim_mm[1], pixdim_mm[2]);
    else
      qform = qform_affine_ras(h, pixdim_mm);
  }

  Mat4 affine_ras;
  if (sform) {
    affine_ras = *sform;
    out.info.affine_source = "sform";
    if (qform) {
      double distance = corner_distance_mm(dims, *sform, *qform);
      if (distance > 1e-3)
        out.transform_warning = fmt::format("{}: the sform (code {}) and qform (code {}) disagree by up to "
                                            "{:.3g} mm at the image corners; using "
                                            "the sform, as nibabel and TotalSegmentator do",
                                            file,
                                            h.sform_code,
                                            h.qform_code,
                                            distance);
    } else if (!qform_problem.empty()) {
      out.transform_warning = fmt::format("{}: {}; it was ignored and the sform used", file, qform_problem);
    }
  } else if (h.qform_code != 0) {
    if (!qform)
      throw InputError(
          fmt::format("{}: {} and there is no sform; the header is damaged", file, qform_problem));
    affine_ras = *qform;
    out.info.affine_source = "qform";
  } else {
    if (!pixdim_mm.allFinite())
      throw InputError(fmt::format("{}: pixdim holds non-finite numbers; the header is damaged", file));
    Vec3 zooms = pixdim_mm;
    for (int a = ndim; a < 3; ++a) // shape_zoom_affine pads missing axes with zoom 1
      zooms[a] = 1;
    affine_ras = base_affine_ras(dims, zooms);
    out.info.affine_source = "base";
  }

  out.info.geometry = Geometry::from_affine(dims, nervemap::lps_from_ras(affine_ras));
  out.info.geometry.validate(file);
  out.info.transforms_ambiguous = !out.transform_warning.empty() || out.info.affine_source == "base";
  out.has_extensions = bytes.size() >= first_data_offset && bytes[header_bytes] != 0;
  return out;
}

void parse_extensions(std::span<const uint8_t> bytes, ParsedHeader& header, const std::string& file) {
  int64_t end = header.info.vox_offset;
  if (!header.has_extensions || end <= int64_t(first_data_offset))
    return;
  if (int64_t(bytes.size()) < end)
    throw InputError(fmt::format("{}: the file ends inside its header extensions (at byte {} of {}); it is "
                                 "incomplete — copy or export it again",
                                 file,
                                 bytes.size(),
                                 end));
  bool swap = header.big_endian == (std::endian::native == std::endian::little);
  // Extensions follow the extender: esize (int32, includes these 8 bytes, should be a multiple of 16),
  // ecode (int32), then content (NIfTI-1 §extensions). nibabel accepts sizes that are not multiples of 16.
  int64_t pos = first_data_offset;
  while (pos + 8 <= end) {
    int32_t esize = read_int32(bytes.data() + pos, swap);
    int32_t ecode = read_int32(bytes.data() + pos + 4, swap);
    if (esize == 0)
      break; // zero padding up to vox_offset: no further extensions
    if (esize < 8 || pos + esize > end)
      throw InputError(fmt::format("{}: corrupt header extension at byte {} (size {} does not fit before the "
                                   "voxel data at {}); the file is damaged",
                                   file,
                                   pos,
                                   esize,
                                   end));
    const char* content = reinterpret_cast<const char*>(bytes.data() + pos + 8);
    size_t length = size_t(esize - 8);
    while (length > 0 && content[length - 1] == '\0') // writers pad the content to 16 bytes with NULs
      --length;
    header.info.extensions.emplace_back(ecode, std::string(content, length));
    pos += esize;
  }
}

} // namespace nifti

bool has_nifti_suffix(const fs::path& path) {
  std::string name = path.filename().string();
  std::transform(
      name.begin(), name.end(), name.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  auto ends_with = [&](std::string_view suffix) {
    return name.size() > suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends_with(".nii") || ends_with(".nii.gz");
}

} // namespace nervemap::io
