// Reading NIfTI-1 files (.nii or .nii.gz, decided by content): header, extensions and voxel data.
//
// Sizes are checked against what the file can hold before anything large is allocated: a .nii against
// its size on disk, a .nii.gz against deflate's maximum ratio and the gzip trailer (see gzip.cpp).
#include "io/internal_nifti.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <fstream>

namespace nervemap::io {

namespace {

using nifti::ParsedHeader;

// Deflate cannot expand more than about 1032:1 (RFC 1951: a 258-byte match costs at least 2 bits);
// a header announcing more voxel bytes than that is lying, whatever ISIZE says.
constexpr uint64_t max_deflate_ratio = 1032;

struct LoadedNifti {
  ParsedHeader header;
  std::vector<uint8_t> bytes; //!< holds the voxel data at data_offset (empty when only the header was read)
  size_t data_offset = 0;
  const uint8_t* data() const { return bytes.data() + data_offset; }
};

[[noreturn]] void throw_data_short(const std::string& file, const ParsedHeader& h, uint64_t available) {
  const Index3& d = h.info.geometry.dims;
  throw InputError(
      fmt::format("{}: the voxel data is shorter than the header says ({} of {} bytes for {}×{}×{} {} "
                  "voxels); the file is truncated or its header is wrong — export it again",
                  file,
                  available,
                  h.data_bytes,
                  d[0],
                  d[1],
                  d[2],
                  nifti::datatype_name(h.info.datatype)));
}

std::ifstream open_input(const fs::path& path) {
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (!fs::exists(status))
    throw InputError(fmt::format("{}: no such file; check the path", path.string()));
  if (fs::is_directory(status))
    throw InputError(fmt::format("{} is a folder, not a NIfTI file (.nii or .nii.gz)", path.string()));
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw InputError(fmt::format("{}: cannot open the file ({})", path.string(), std::strerror(errno)));
  return in;
}

std::vector<uint8_t> read_prefix(std::ifstream& in, size_t n) {
  std::vector<uint8_t> bytes(n);
  in.clear();
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(n));
  bytes.resize(size_t(in.gcount()));
  return bytes;
}

LoadedNifti load_plain(std::ifstream& in, uint64_t file_size, const std::string& file, bool want_data) {
  LoadedNifti out;
  auto prefix = read_prefix(in, nifti::first_data_offset);
  out.header = nifti::parse_header(prefix, file);
  int64_t vox_offset = out.header.info.vox_offset;
  if (out.header.has_extensions && vox_offset > int64_t(nifti::first_data_offset)) {
    if (uint64_t(vox_offset) > file_size)
      nifti::parse_extensions(prefix, out.header, file); // reports "ends inside its extensions"
    nifti::parse_extensions(read_prefix(in, size_t(vox_offset)), out.header, file);
  }
  if (!want_data)
    return out;
  uint64_t available = file_size > uint64_t(vox_offset) ? file_size - uint64_t(vox_offset) : 0;
  if (available < uint64_t(out.header.data_bytes))
    throw_data_short(file, out.header, available);
  nifti::resize_large(out.bytes, size_t(out.header.data_bytes));
  in.clear();
  in.seekg(vox_offset);
  in.read(reinterpret_cast<char*>(out.bytes.data()), std::streamsize(out.header.data_bytes));
  if (in.gcount() != std::streamsize(out.header.data_bytes))
    throw InputError(fmt::format(
        "{}: read error after {} bytes of voxel data ({})", file, in.gcount(), std::strerror(errno)));
  return out;
}

LoadedNifti load_gzip(std::ifstream& in,
                      uint64_t file_size,
                      const std::string& file,
                      bool want_data,
                      std::vector<uint8_t>* reuse = nullptr) {
  LoadedNifti out;
  in.clear();
  in.seekg(0);
  auto prefix = gzip::inflate_prefix(in, nifti::first_data_offset, file);
  out.header = nifti::parse_header(prefix, file);
  uint64_t vox_offset = uint64_t(out.header.info.vox_offset);
  uint64_t can_hold = file_size * max_deflate_ratio + (uint64_t(1) << 16);
  bool extensions = out.header.has_extensions && vox_offset > nifti::first_data_offset;

  if (!want_data) {
    if (extensions) {
      if (vox_offset > can_hold)
        nifti::parse_extensions(prefix, out.header, file); // reports "ends inside its extensions"
      in.clear();
      in.seekg(0);
      nifti::parse_extensions(gzip::inflate_prefix(in, size_t(vox_offset), file), out.header, file);
    }
    return out;
  }

  uint64_t needed = vox_offset + uint64_t(out.header.data_bytes);
  if (needed > can_hold) {
    const Index3& d = out.header.info.geometry.dims;
    throw InputError(
        fmt::format("{}: the header announces {}×{}×{} {} voxels ({} bytes), more than a {}-byte gzip "
                    "file can hold; the file is truncated or its header is damaged — export it again",
                    file,
                    d[0],
                    d[1],
                    d[2],
                    nifti::datatype_name(out.header.info.datatype),
                    out.header.data_bytes,
                    file_size));
  }
  std::vector<uint8_t> compressed;
  nifti::resize_large(compressed, size_t(file_size));
  in.clear();
  in.seekg(0);
  in.read(reinterpret_cast<char*>(compressed.data()), std::streamsize(file_size));
  compressed.resize(size_t(in.gcount()));
  out.bytes = gzip::inflate(compressed, size_t(needed), file, reuse);
  compressed = {};
  if (extensions)
    nifti::parse_extensions(
        {out.bytes.data(), std::min<size_t>(out.bytes.size(), vox_offset)}, out.header, file);
  if (out.bytes.size() < needed)
    throw_data_short(file, out.header, out.bytes.size() > vox_offset ? out.bytes.size() - vox_offset : 0);
  out.data_offset = size_t(vox_offset);
  return out;
}

LoadedNifti load(const fs::path& path, bool want_data, std::vector<uint8_t>* reuse = nullptr) {
  std::string file = path.string();
  std::ifstream in = open_input(path);
  std::error_code ec;
  uint64_t file_size = fs::file_size(path, ec);
  if (ec)
    throw InputError(fmt::format("{}: cannot read the file size ({})", file, ec.message()));
  auto magic = read_prefix(in, 2);
  // Content decides, not the suffix: a .nii.gz that is not compressed (or the reverse) still reads.
  if (gzip::has_magic(magic))
    return load_gzip(in, file_size, file, want_data, reuse);
  return load_plain(in, file_size, file, want_data);
}

// ---- voxel conversion: one tight loop per (stored type, byte order), no per-voxel dispatch ----

template <class Stored, bool Swap> inline Stored load_value(const uint8_t* p) {
  using Bits =
      std::conditional_t<sizeof(Stored) == 1,
                         uint8_t,
                         std::conditional_t<sizeof(Stored) == 2,
                                            uint16_t,
                                            std::conditional_t<sizeof(Stored) == 4, uint32_t, uint64_t>>>;
  Bits bits;
  std::memcpy(&bits, p, sizeof(Bits));
  if constexpr (Swap && sizeof(Bits) == 2)
    bits = __builtin_bswap16(bits);
  else if constexpr (Swap && sizeof(Bits) == 4)
    bits = __builtin_bswap32(bits);
  else if constexpr (Swap && sizeof(Bits) == 8)
    bits = __builtin_bswap64(bits);
  return std::bit_cast<Stored>(bits);
}

//! Call `visit.template operator()<Stored, Swap>()` for the file's datatype and byte order.
template <class Visitor> void visit_stored_type(const ParsedHeader& h, Visitor&& visit) {
  bool swap = h.big_endian == (std::endian::native == std::endian::little);
  auto with_order = [&]<class Stored>() {
    if (swap)
      visit.template operator()<Stored, true>();
    else
      visit.template operator()<Stored, false>();
  };
  switch (h.info.datatype) {
  case nifti::dt_uint8:
    return with_order.template operator()<uint8_t>();
  case nifti::dt_int8:
    return with_order.template operator()<int8_t>();
  case nifti::dt_int16:
    return with_order.template operator()<int16_t>();
  case nifti::dt_uint16:
    return with_order.template operator()<uint16_t>();
  case nifti::dt_int32:
    return with_order.template operator()<int32_t>();
  case nifti::dt_uint32:
    return with_order.template operator()<uint32_t>();
  case nifti::dt_int64:
    return with_order.template operator()<int64_t>();
  case nifti::dt_uint64:
    return with_order.template operator()<uint64_t>();
  case nifti::dt_float32:
    return with_order.template operator()<float>();
  case nifti::dt_float64:
    return with_order.template operator()<double>();
  default:
    throw std::logic_error("datatype passed parse_header but has no converter");
  }
}

bool has_scaling(const NiftiHeader& info) {
  return info.scl_slope != 1.0 || info.scl_inter != 0.0;
}

std::string voxel_text(const Index3& dims, size_t offset) {
  auto plane = size_t(dims[0] * dims[1]);
  return fmt::format(
      "({}, {}, {})", offset % size_t(dims[0]), (offset / size_t(dims[0])) % size_t(dims[1]), offset / plane);
}

[[noreturn]] void throw_bad_label(const std::string& file, const Index3& dims, size_t offset, double value) {
  std::string where = voxel_text(dims, offset);
  if (!std::isfinite(value) || value != std::floor(value))
    throw InputError(
        fmt::format("{} is not a label map: voxel {} holds {}, not a whole number; masks must hold "
                    "integer labels 0..255 (is this a CT or a probability map?)",
                    file,
                    where,
                    value));
  throw InputError(
      fmt::format("{}: label value {} at voxel {} is {}; label maps must use values 0..255 (uint8)",
                  file,
                  value,
                  where,
                  value < 0 ? "negative" : "too large"));
}

//! 0..255, written per type so that no comparison is trivially true (-Wtype-limits).
template <class T> constexpr bool is_label_value(T v) {
  if constexpr (sizeof(T) == 1)
    return v >= 0; // int8 (uint8 never gets here)
  else if constexpr (std::is_signed_v<T>)
    return v >= 0 && v <= 255;
  else
    return v <= 255;
}

//! Stored values (after scaling) → uint8 labels, refusing anything that is not a whole number 0..255.
template <class Stored, bool Swap>
void convert_labels(const LoadedNifti& loaded, std::vector<uint8_t>& labels, const std::string& file) {
  const NiftiHeader& info = loaded.header.info;
  const Index3& dims = info.geometry.dims;
  const uint8_t* src = loaded.data();
  size_t n = labels.size();
  if constexpr (std::is_integral_v<Stored>) {
    if (!has_scaling(info)) {
      if constexpr (std::is_same_v<Stored, uint8_t>) {
        std::memcpy(labels.data(), src, n);
        return;
      } else {
        bool in_range = true;
        for (size_t i = 0; i < n; ++i) {
          Stored v = load_value<Stored, Swap>(src + i * sizeof(Stored));
          in_range &= is_label_value(v);
          labels[i] = uint8_t(v);
        }
        if (in_range)
          return;
        for (size_t i = 0; i < n; ++i) {
          Stored v = load_value<Stored, Swap>(src + i * sizeof(Stored));
          if (!is_label_value(v))
            throw_bad_label(file, dims, i, double(v));
        }
      }
    }
  }
  double slope = info.scl_slope, inter = info.scl_inter;
  bool valid = true;
  for (size_t i = 0; i < n; ++i) {
    double v = double(load_value<Stored, Swap>(src + i * sizeof(Stored))) * slope + inter;
    valid &= v >= 0 && v <= 255 && v == double(int(v)); // NaN fails every comparison
    labels[i] = valid ? uint8_t(v) : 0;
  }
  if (valid)
    return;
  for (size_t i = 0; i < n; ++i) {
    double v = double(load_value<Stored, Swap>(src + i * sizeof(Stored))) * slope + inter;
    if (!(v >= 0 && v <= 255 && v == std::floor(v)))
      throw_bad_label(file, dims, i, v);
  }
}

template <class Stored, bool Swap> void convert_image(const LoadedNifti& loaded, std::vector<float>& values) {
  const NiftiHeader& info = loaded.header.info;
  const uint8_t* src = loaded.data();
  size_t n = values.size();
  if (!has_scaling(info)) {
    for (size_t i = 0; i < n; ++i)
      values[i] = float(load_value<Stored, Swap>(src + i * sizeof(Stored)));
    return;
  }
  double slope = info.scl_slope, inter = info.scl_inter;
  for (size_t i = 0; i < n; ++i)
    values[i] = float(double(load_value<Stored, Swap>(src + i * sizeof(Stored))) * slope + inter);
}

//! The voxel bytes as their own vector, leaving `loaded` without data (extensions are parsed already).
std::vector<uint8_t> take_voxel_bytes(LoadedNifti& loaded) {
  std::vector<uint8_t> bytes = std::move(loaded.bytes);
  if (loaded.data_offset > 0)
    bytes.erase(bytes.begin(), bytes.begin() + std::ptrdiff_t(loaded.data_offset));
  bytes.resize(size_t(loaded.header.data_bytes));
  loaded.data_offset = 0;
  return bytes;
}

//! The labels 1..255 of the file's CaretExtension label table (none when it has no such extension).
void read_label_table(const LoadedNifti& loaded,
                      LabelTable& table,
                      Warnings& warnings,
                      const std::string& file) {
  const std::string* xml = nifti::caret_extension(loaded.header.info);
  if (!xml)
    return;
  LabelTable parsed;
  try {
    parsed = parse_caret_label_xml(*xml);
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: its label table extension cannot be read: {}", file, e.what()));
  }
  for (const Label& label : parsed.labels()) {
    // Key 0 is the background (Workbench lists it as "???"); keys above 255 cannot occur in a uint8 map.
    if (label.id == 0)
      continue;
    if (label.id < 0 || label.id > 255) {
      warnings.add(fmt::format(
          "{}: label table entry {} ('{}') is outside 1..255 and was ignored", file, label.id, label.name));
      continue;
    }
    table.add(label);
  }
}

} // namespace

NiftiHeader read_nifti_header(const fs::path& path) {
  return load(path, false).header.info;
}

CtVolume read_nifti_image(const fs::path& path, Warnings& warnings, NiftiHeader* header) {
  LoadedNifti loaded = load(path, true);
  if (!loaded.header.transform_warning.empty())
    warnings.add(loaded.header.transform_warning);
  CtVolume volume;
  volume.geometry = loaded.header.info.geometry;
  nifti::resize_large(volume.data, size_t(loaded.header.voxel_count));
  visit_stored_type(loaded.header,
                    [&]<class Stored, bool Swap>() { convert_image<Stored, Swap>(loaded, volume.data); });
  if (header)
    *header = std::move(loaded.header.info);
  return volume;
}

MaskVolume
read_nifti_labels(const fs::path& path, Warnings& warnings, LabelTable* table, NiftiHeader* header) {
  std::string file = path.string();
  LoadedNifti loaded = load(path, true);
  if (!loaded.header.transform_warning.empty())
    warnings.add(loaded.header.transform_warning);
  MaskVolume volume;
  volume.geometry = loaded.header.info.geometry;
  if (loaded.header.info.datatype == nifti::dt_uint8 && !has_scaling(loaded.header.info)) {
    // The common TotalSegmentator case: the file bytes are the labels. Reuse the buffer instead of
    // copying 80 MB per mask (the header in front of the data costs one memmove).
    volume.data = take_voxel_bytes(loaded);
  } else {
    nifti::resize_large(volume.data, size_t(loaded.header.voxel_count));
    visit_stored_type(loaded.header, [&]<class Stored, bool Swap>() {
      convert_labels<Stored, Swap>(loaded, volume.data, file);
    });
  }
  if (table) {
    *table = LabelTable{};
    read_label_table(loaded, *table, warnings, file);
  }
  if (header)
    *header = std::move(loaded.header.info);
  return volume;
}

std::vector<int64_t> read_nifti_mask_voxels(const fs::path& path,
                                            Warnings& warnings,
                                            std::vector<uint8_t>& scratch,
                                            NiftiHeader* header) {
  std::string file = path.string();
  LoadedNifti loaded = load(path, true, &scratch);
  if (!loaded.header.transform_warning.empty())
    warnings.add(loaded.header.transform_warning);
  std::vector<int64_t> voxels;
  if (loaded.header.info.datatype == nifti::dt_uint8 && !has_scaling(loaded.header.info)) {
    // The TotalSegmentator case: scan the inflated bytes in place.
    // Masks are mostly zeros: skip eight bytes at a time.
    const uint8_t* data = loaded.bytes.data() + loaded.data_offset;
    const int64_t n = loaded.header.voxel_count;
    int64_t o = 0;
    for (; o + 8 <= n; o += 8) {
      uint64_t word;
      std::memcpy(&word, data + o, 8);
      if (word == 0)
        continue;
      for (int64_t b = 0; b < 8; ++b)
        if (data[o + b])
          voxels.push_back(o + b);
    }
    for (; o < n; ++o)
      if (data[o])
        voxels.push_back(o);
  } else {
    std::vector<uint8_t> labels;
    nifti::resize_large(labels, size_t(loaded.header.voxel_count));
    visit_stored_type(loaded.header,
                      [&]<class Stored, bool Swap>() { convert_labels<Stored, Swap>(loaded, labels, file); });
    for (size_t o = 0; o < labels.size(); ++o)
      if (labels[o])
        voxels.push_back(int64_t(o));
  }
  if (header)
    *header = std::move(loaded.header.info);
  scratch = std::move(loaded.bytes); // lend the buffer to the next file
  return voxels;
}

} // namespace nervemap::io
