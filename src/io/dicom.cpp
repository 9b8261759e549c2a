// nervemap io: DICOM CT series from a folder, a zip archive or one file of the series.
//
// Geometry (fixtures/geometry/README.md, Group 3; PS3.3 C.7.6.2 Image Plane Module): i runs along the
// ImageOrientationPatient row vector (columns), j along its column vector (rows); PixelSpacing is
// [between rows (→ j), between columns (→ i)]; k = slices sorted by dot(IPP, row × col) ascending;
// the origin is the IPP of the first sorted slice; the slice step comes from the IPPs, never from
// SliceThickness. A gantry-tilted series (IPP steps not along the normal) keeps every voxel at its
// true position through a sheared k axis: k direction = unit(step), k spacing = |step|.
#include "io/internal_dicom.h"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <numbers>

namespace nervemap::io {

using namespace dicom;

namespace {

constexpr const char* kEnhancedCtSopClass = "1.2.840.10008.5.1.4.1.1.2.1";
constexpr const char* kLegacyEnhancedCtSopClass = "1.2.840.10008.5.1.4.1.1.2.2";

std::string vec_text(const std::vector<double>& v) {
  std::string s;
  for (double x : v)
    s += fmt::format("{}{:g}", s.empty() ? "" : ", ", x);
  return "(" + s + ")";
}

std::string vec_text(const Vec3& v) {
  return fmt::format("({:g}, {:g}, {:g})", v[0], v[1], v[2]);
}

void check_slice(const SliceHeader& s, const std::string& series) {
  if (s.sop_class == kEnhancedCtSopClass || s.sop_class == kLegacyEnhancedCtSopClass || s.frames > 1)
    throw InputError(
        fmt::format("{} is a multi-frame image ({} frames, e.g. Enhanced CT); nervemap reads classic "
                    "CT series with one slice per file — export series {} as single-frame CT Image "
                    "Storage",
                    s.display,
                    s.frames,
                    series));
  if (s.samples_per_pixel != 1)
    throw InputError(fmt::format("{} is not a greyscale image ({} samples per pixel, {}); a CT slice has one",
                                 s.display,
                                 s.samples_per_pixel,
                                 s.photometric));
  if (s.rows <= 0 || s.columns <= 0)
    throw InputError(fmt::format("{} has no Rows/Columns (0028,0010/0011)", s.display));
  // Image Pixel Module (PS3.3 C.7.6.3); a CT has 16 bits allocated (C.8.2.1.1.4), 8 and 32 are
  // accepted for other modalities. Anything else is damage, and GDCM's codecs assert on it.
  if ((s.bits_allocated != 8 && s.bits_allocated != 16 && s.bits_allocated != 32) || s.bits_stored < 1 ||
      s.bits_stored > s.bits_allocated || s.high_bit >= s.bits_allocated || s.high_bit < s.bits_stored - 1 ||
      (s.pixel_representation != 0 && s.pixel_representation != 1))
    throw InputError(
        fmt::format("{} has an invalid or unsupported pixel format: BitsAllocated {}, BitsStored {}, "
                    "HighBit {}, PixelRepresentation {}",
                    s.display,
                    s.bits_allocated,
                    s.bits_stored,
                    s.high_bit,
                    s.pixel_representation));
  if (s.ipp.size() != 3)
    throw InputError(
        fmt::format("{} has no valid ImagePositionPatient (0020,0032): without it the slice cannot be "
                    "placed in the patient (PS3.3 C.7.6.2)",
                    s.display));
  if (s.iop.size() != 6)
    throw InputError(fmt::format("{} has no valid ImageOrientationPatient (0020,0037): without it the slice "
                                 "orientation is unknown (PS3.3 C.7.6.2)",
                                 s.display));
  if (s.pixel_spacing.size() != 2 || !(s.pixel_spacing[0] > 0) || !(s.pixel_spacing[1] > 0))
    throw InputError(fmt::format("{} has no valid PixelSpacing (0028,0030)", s.display));
}

struct Placement {
  size_t index;     //!< into the slice list
  double along = 0; //!< dot(IPP, normal)
};

CtImage assemble(std::vector<SliceHeader> slices, bool from_zip, Warnings& warnings) {
  const SliceHeader& first = slices.front();
  const std::string series =
      fmt::format("{} (#{} \"{}\")", first.series_uid, first.series_number, first.series_description);
  if (first.modality != "CT")
    warnings.add(fmt::format("series {} has modality {}, not CT: its values may not be Hounsfield units",
                             series,
                             first.modality.empty() ? "(none)" : first.modality));

  // Every slice must describe the same image plane geometry (PS3.3 C.7.6.2).
  for (const auto& s : slices) {
    check_slice(s, series);
    if (s.rows != first.rows || s.columns != first.columns)
      throw InputError(fmt::format("slices of series {} differ in size: {} is {}×{} but {} is {}×{}",
                                   series,
                                   first.display,
                                   first.columns,
                                   first.rows,
                                   s.display,
                                   s.columns,
                                   s.rows));
    for (int c = 0; c < 6; ++c)
      if (std::abs(s.iop[size_t(c)] - first.iop[size_t(c)]) > 1e-4)
        throw InputError(
            fmt::format("slices of series {} differ in orientation: {} has ImageOrientationPatient {} "
                        "but {} has {} (a localizer in the series, or several stacks?)",
                        series,
                        first.display,
                        vec_text(first.iop),
                        s.display,
                        vec_text(s.iop)));
    for (int c = 0; c < 2; ++c)
      if (std::abs(s.pixel_spacing[size_t(c)] - first.pixel_spacing[size_t(c)]) > 1e-4)
        throw InputError(fmt::format("slices of series {} differ in PixelSpacing: {} has {} but {} has {}",
                                     series,
                                     first.display,
                                     vec_text(first.pixel_spacing),
                                     s.display,
                                     vec_text(s.pixel_spacing)));
  }

  Vec3 row(first.iop[0], first.iop[1], first.iop[2]);
  Vec3 col(first.iop[3], first.iop[4], first.iop[5]);
  if (row.norm() < 0.5 || col.norm() < 0.5 || std::abs(row.normalized().dot(col.normalized())) > 1e-3)
    throw InputError(
        fmt::format("{}: ImageOrientationPatient {} does not hold two perpendicular unit vectors",
                    first.display,
                    vec_text(first.iop)));
  row.normalize();
  col.normalize();
  const Vec3 normal = row.cross(col).normalized();

  std::vector<Placement> order(slices.size());
  for (size_t n = 0; n < slices.size(); ++n) {
    const Vec3 ipp(slices[n].ipp[0], slices[n].ipp[1], slices[n].ipp[2]);
    order[n] = {n, ipp.dot(normal)};
  }
  std::stable_sort(
      order.begin(), order.end(), [](const Placement& a, const Placement& b) { return a.along < b.along; });
  auto ipp_of = [&](size_t k) {
    const auto& p = slices[order[k].index].ipp;
    return Vec3(p[0], p[1], p[2]);
  };
  auto name_of = [&](size_t k) -> const std::string& { return slices[order[k].index].display; };

  const int64_t nk = int64_t(slices.size());
  Geometry g;
  g.dims = {first.columns, first.rows, nk};
  g.origin = ipp_of(0);
  // PixelSpacing = [between rows (along the column vector, j), between columns (along the row vector, i)].
  g.spacing = Vec3(first.pixel_spacing[1], first.pixel_spacing[0], 1.0);
  g.direction.col(0) = row;
  g.direction.col(1) = col;
  g.direction.col(2) = normal;

  if (nk == 1) {
    std::string source;
    if (first.spacing_between_slices && *first.spacing_between_slices > 0) {
      g.spacing[2] = *first.spacing_between_slices;
      source = "taken from SpacingBetweenSlices (0018,0088)";
    } else if (first.slice_thickness && *first.slice_thickness > 0) {
      g.spacing[2] = *first.slice_thickness;
      source = "taken from SliceThickness (0018,0050)";
    } else {
      source = "assumed (neither SpacingBetweenSlices nor SliceThickness is set)";
    }
    warnings.add(fmt::format(
        "series {} has a single slice: its slice spacing of {:g} mm is {}", series, g.spacing[2], source));
  } else {
    // Steps between neighbours along the normal: duplicates and gaps are errors, not guesses.
    std::vector<double> steps;
    for (int64_t k = 0; k + 1 < nk; ++k) {
      const double step = order[size_t(k + 1)].along - order[size_t(k)].along;
      if (step < 1e-3)
        throw InputError(
            fmt::format("series {} has two slices at the same position ({:.3f} mm along the slice "
                        "normal): {} and {}; the folder may hold a repeated or second reconstruction "
                        "with the same SeriesInstanceUID",
                        series,
                        order[size_t(k)].along,
                        name_of(size_t(k)),
                        name_of(size_t(k + 1))));
      steps.push_back(step);
    }
    std::vector<double> sorted_steps = steps;
    std::nth_element(
        sorted_steps.begin(), sorted_steps.begin() + long(sorted_steps.size() / 2), sorted_steps.end());
    const double usual = sorted_steps[sorted_steps.size() / 2];
    for (size_t k = 0; k < steps.size(); ++k)
      if (std::abs(steps[k] - usual) > std::max(0.01 * usual, 0.01))
        throw InputError(
            fmt::format("series {} has non-uniform slice spacing: between slice {} ({}, {:.3f} mm along "
                        "the normal) and slice {} ({}, {:.3f} mm) the step is {:.4g} mm where the "
                        "usual step is {:.4g} mm; a slice is missing or the series mixes stacks",
                        series,
                        k,
                        name_of(k),
                        order[k].along,
                        k + 1,
                        name_of(k + 1),
                        order[k + 1].along,
                        steps[k],
                        usual));

    // The mean step vector; every actual step must agree with it, also in-plane.
    const Vec3 step = (ipp_of(size_t(nk - 1)) - ipp_of(0)) / double(nk - 1);
    for (int64_t k = 0; k + 1 < nk; ++k) {
      const Vec3 actual = ipp_of(size_t(k + 1)) - ipp_of(size_t(k));
      if ((actual - step).norm() > std::max(0.01 * step.norm(), 0.01))
        throw InputError(
            fmt::format("series {}: slice positions do not lie on a straight line: the step from {} to "
                        "{} is {} mm, the mean step is {} mm",
                        series,
                        name_of(size_t(k)),
                        name_of(size_t(k + 1)),
                        vec_text(actual),
                        vec_text(step)));
    }

    const double along = step.dot(normal);
    const Vec3 in_plane = step - along * normal;
    // Gantry tilt (GantryDetectorTilt (0018,1120), CT Image Module PS3.3 C.8.2.1): the table moves
    // along its axis while the image plane is tilted, so the step between the IPPs (C.7.6.2.1.1) has
    // an in-plane component. An orthogonal
    // stack along the normal would misplace slice k by k·|in-plane step|. We keep the true positions
    // with a sheared k axis once that drift over the stack exceeds 0.01 mm (IPP rounding by real
    // scanners stays below it).
    if (in_plane.norm() * double(nk - 1) > 0.01) {
      const double angle = std::acos(std::clamp(along / step.norm(), -1.0, 1.0)) * 180.0 / std::numbers::pi;
      g.direction.col(2) = step.normalized();
      g.spacing[2] = step.norm();
      std::string tag_note;
      if (first.gantry_tilt && std::abs(*first.gantry_tilt) > 0)
        tag_note = fmt::format(" (GantryDetectorTilt (0018,1120) says {:g}°)", *first.gantry_tilt);
      warnings.add(
          fmt::format("series {}: gantry tilt of {:.1f}°; voxels kept at their true positions (sheared "
                      "slice axis){}",
                      series,
                      angle,
                      tag_note));
    } else {
      g.spacing[2] = (order.back().along - order.front().along) / double(nk - 1);
    }
  }
  g.validate(fmt::format("DICOM series {}", series));
  if (g.voxel_count() > (int64_t(1) << 31))
    throw InputError(fmt::format(
        "series {} has {} voxels, more than nervemap reads ({})", series, g.voxel_count(), g.describe()));

  CtImage out;
  out.volume = CtVolume(g);
  // Slices as HU, row-major (i fastest, then j) as the volume stores them: uncompressed ones read
  // here, the others decoded by GDCM in one isolated child process.
  const size_t per_slice = size_t(g.dims[0] * g.dims[1]);
  std::vector<const SliceHeader*> compressed;
  std::vector<float*> compressed_targets;
  for (int64_t k = 0; k < nk; ++k) {
    const SliceHeader& s = slices[order[size_t(k)].index];
    float* target = out.volume.data.data() + size_t(k) * per_slice;
    if (is_native_little_endian(s)) {
      decode_native(s, target);
    } else {
      compressed.push_back(&s);
      compressed_targets.push_back(target);
    }
  }
  decode_compressed_isolated(compressed, compressed_targets);

  const SliceHeader& lead = slices[order.front().index];
  out.patient.id = lead.patient_id;
  out.patient.name = lead.patient_name;
  out.patient.study_date = lead.study_date;
  out.patient.series_uid = lead.series_uid;
  out.source_format = from_zip ? "dicom-zip" : "dicom";
  return out;
}

} // namespace

std::vector<DicomSeriesInfo> list_dicom_series(const fs::path& folder_or_zip) {
  const DicomInput in = open_input(folder_or_zip);
  Scan found = scan(in);
  if (in.one_file && found.dicomdir && found.dicomdir->path == *in.one_file)
    return list_dicom_series(in.root); // a DICOMDIR (PS3.10 §8.6): the folder it indexes
  if (in.one_file) {
    // One file given: list only the series it belongs to (its siblings complete it).
    auto self = std::find_if(found.images.begin(), found.images.end(), [&](const SliceHeader& h) {
      return h.path == *in.one_file;
    });
    const std::string uid = self == found.images.end() ? std::string() : self->series_uid;
    std::erase_if(found.images, [&](const SliceHeader& h) { return h.series_uid != uid; });
  }
  if (found.images.empty())
    no_images(in, found);
  return summaries(by_series(std::move(found.images)));
}

CtImage read_dicom_ct(const fs::path& folder_or_zip, const std::string& series_uid, Warnings& warnings) {
  quiet_gdcm();
  DicomInput in = open_input(folder_or_zip);
  Scan found = scan(in);
  std::string wanted = series_uid;

  if (in.one_file) {
    if (found.dicomdir && found.dicomdir->path == *in.one_file) {
      // A DICOMDIR names the files of a DICOM medium: read the folder it indexes instead.
      return read_dicom_ct(in.root, series_uid, warnings);
    }
    auto self = [&](const SliceHeader& h) { return h.path == *in.one_file; };
    if (auto it = std::find_if(found.broken.begin(), found.broken.end(), self); it != found.broken.end())
      throw InputError(fmt::format("{} is corrupt: {}", it->display, it->problem));
    auto it = std::find_if(found.images.begin(), found.images.end(), self);
    if (it == found.images.end())
      throw InputError(
          fmt::format("{} is not a DICOM image (no pixel data or not DICOM)", in.one_file->string()));
    if (!wanted.empty() && wanted != it->series_uid)
      throw InputError(fmt::format(
          "{} belongs to series {}, not to the requested --series {}", it->display, it->series_uid, wanted));
    wanted = it->series_uid;
  }
  if (found.images.empty())
    no_images(in, found);

  auto series = by_series(std::move(found.images));
  const auto list = summaries(series);
  if (wanted.empty()) {
    if (series.size() > 1)
      throw InputError(fmt::format("{} holds {} DICOM series; choose one with --series UID: {}",
                                   in.describe(),
                                   series.size(),
                                   series_list_text(list)));
    wanted = series.begin()->first;
  }
  auto chosen = series.find(wanted);
  if (chosen == series.end())
    throw InputError(
        fmt::format("series {} is not in {}; available: {}", wanted, in.describe(), series_list_text(list)));

  // A corrupt file of the chosen series would leave a hole: refuse. Other unreadable files are
  // reported, since they may be why an expected series is missing.
  size_t unrelated = 0;
  const SliceHeader* first_unrelated = nullptr;
  for (const auto& b : found.broken) {
    if (b.series_uid == wanted)
      throw InputError(fmt::format("{} of series {} is corrupt: {}", b.display, wanted, b.problem));
    if (!first_unrelated)
      first_unrelated = &b;
    ++unrelated;
  }
  if (unrelated)
    warnings.add(fmt::format("{} file(s) in {} look like DICOM but cannot be read (first: {}: {})",
                             unrelated,
                             in.describe(),
                             first_unrelated->display,
                             first_unrelated->problem));

  return assemble(std::move(chosen->second), in.from_zip, warnings);
}

} // namespace nervemap::io
