// nervemap io, DICOM: one file's header — the attributes of the Image Plane, Image Pixel and CT Image
// modules (PS3.3 C.7.6.2, C.7.6.3, C.8.2.1) the reader uses, and whether the file is complete.
#include "io/internal_dicom.h"

#include <algorithm>
#include <fmt/format.h>

namespace nervemap::io::dicom {

SliceHeader read_slice_header(ByteSource& src, const fs::path& path, std::string display) {
  SliceHeader h;
  h.path = path;
  h.display = std::move(display);
  WalkResult walk;
  try {
    walk_header(src, walk);
  } catch (const Malformed& e) {
    h.problem = e.what();
  }
  // Whatever was read before a failure still helps to say which series a broken file belongs to.
  const Values v(walk.values);
  h.has_pixel_data = walk.has_pixel_data;
  h.encapsulated = walk.encapsulated;
  h.pixel_data_length = walk.pixel_data_length;
  h.pixel_data_offset = walk.pixel_data_offset;
  h.media_sop_class = v.text(kMediaStorageSopClass);
  h.sop_class = v.text(kSopClass);
  h.transfer_syntax = v.text(kTransferSyntax);
  h.charset = v.text(kSpecificCharacterSet);
  h.modality = v.text(kModality);
  h.series_uid = v.text(kSeriesInstanceUid);
  h.series_description = to_utf8(v.text(kSeriesDescription), h.charset);
  h.patient_id = to_utf8(v.text(kPatientId), h.charset);
  h.patient_name = to_utf8(v.text(kPatientName), h.charset);
  h.study_date = v.text(kStudyDate);
  h.photometric = v.text(kPhotometricInterpretation);
  h.series_number = v.integer(kSeriesNumber).value_or(0);
  h.instance_number = v.integer(kInstanceNumber);
  h.rows = v.ushort(kRows).value_or(0);
  h.columns = v.ushort(kColumns).value_or(0);
  h.samples_per_pixel = v.ushort(kSamplesPerPixel).value_or(1);
  h.frames = v.integer(kNumberOfFrames).value_or(1);
  h.bits_allocated = v.ushort(kBitsAllocated).value_or(0);
  h.bits_stored = v.ushort(kBitsStored).value_or(h.bits_allocated);
  h.high_bit = v.ushort(kHighBit).value_or(h.bits_stored - 1);
  h.pixel_representation = v.ushort(kPixelRepresentation).value_or(0);
  h.ipp = v.numbers(kImagePositionPatient);
  h.iop = v.numbers(kImageOrientationPatient);
  h.pixel_spacing = v.numbers(kPixelSpacing);
  h.slice_thickness = v.number(kSliceThickness);
  h.spacing_between_slices = v.number(kSpacingBetweenSlices);
  h.gantry_tilt = v.number(kGantryDetectorTilt);
  h.slope = v.number(kRescaleSlope).value_or(1.0);
  h.intercept = v.number(kRescaleIntercept).value_or(0.0);

  // Native pixel data shorter than Rows × Columns × frames × samples × BitsAllocated: a writer cut
  // the file and fixed the length (GDCM would zero-fill the rest).
  if (h.problem.empty() && h.has_pixel_data && !h.encapsulated && h.bits_allocated > 0) {
    const uint64_t bits = uint64_t(h.rows) * uint64_t(h.columns) * uint64_t(std::max(1, h.frames)) *
                          uint64_t(std::max(1, h.samples_per_pixel)) * uint64_t(h.bits_allocated);
    const uint64_t needed = (bits + 7) / 8;
    if (h.pixel_data_length < needed)
      h.problem =
          fmt::format("the file is truncated: PixelData (7FE0,0010) holds {} bytes but {} × {} pixels of "
                      "{} bits need {}",
                      h.pixel_data_length,
                      h.columns,
                      h.rows,
                      h.bits_allocated,
                      needed);
  }
  return h;
}

} // namespace nervemap::io::dicom
