// Connected components (ITK) and the removal of a structure's far islands.
#include "anatomy/anatomy.h"

#include <algorithm>
#include <itkConnectedComponentImageFilter.h>
#include <itkImage.h>
#include <itkRelabelComponentImageFilter.h>

namespace nervemap::anatomy {

namespace {

struct Box {
  Index3 lo, hi;
  bool empty() const { return hi[0] < lo[0]; }
};

//! Bounding boxes of every value in one pass.
std::array<Box, 256> bounding_boxes(const MaskVolume& labels) {
  const auto& d = labels.geometry.dims;
  std::array<Box, 256> boxes;
  boxes.fill(Box{{d[0], d[1], d[2]}, {-1, -1, -1}});
  size_t o = 0;
  for (int64_t k = 0; k < d[2]; ++k)
    for (int64_t j = 0; j < d[1]; ++j)
      for (int64_t i = 0; i < d[0]; ++i, ++o) {
        Box& b = boxes[labels.data[o]];
        b.lo = {std::min(b.lo[0], i), std::min(b.lo[1], j), std::min(b.lo[2], k)};
        b.hi = {std::max(b.hi[0], i), std::max(b.hi[1], j), std::max(b.hi[2], k)};
      }
  return boxes;
}

std::vector<std::vector<size_t>> components_in(const MaskVolume& labels, uint8_t value, const Box& box) {
  if (box.empty())
    return {};
  using Binary = itk::Image<uint8_t, 3>;
  using Labelled = itk::Image<uint32_t, 3>;
  const int64_t nx = box.hi[0] - box.lo[0] + 1, ny = box.hi[1] - box.lo[1] + 1,
                nz = box.hi[2] - box.lo[2] + 1;
  auto image = Binary::New();
  Binary::SizeType size{{size_t(nx), size_t(ny), size_t(nz)}};
  image->SetRegions(Binary::RegionType(size));
  image->Allocate();
  uint8_t* dst = image->GetBufferPointer();
  for (int64_t k = 0; k < nz; ++k)
    for (int64_t j = 0; j < ny; ++j) {
      const uint8_t* row = &labels.data[labels.offset(box.lo[0], box.lo[1] + j, box.lo[2] + k)];
      for (int64_t i = 0; i < nx; ++i)
        *dst++ = row[i] == value;
    }
  auto cc = itk::ConnectedComponentImageFilter<Binary, Labelled>::New();
  cc->SetInput(image);
  cc->FullyConnectedOn(); // 26-connectivity, as the tumour component count in report.json
  auto relabel = itk::RelabelComponentImageFilter<Labelled, Labelled>::New();
  relabel->SetInput(cc->GetOutput()); // sorted by size, largest = 1
  relabel->Update();
  std::vector<std::vector<size_t>> out(relabel->GetNumberOfObjects());
  const uint32_t* lab = relabel->GetOutput()->GetBufferPointer();
  for (int64_t k = 0; k < nz; ++k)
    for (int64_t j = 0; j < ny; ++j)
      for (int64_t i = 0; i < nx; ++i, ++lab)
        if (*lab)
          out[*lab - 1].push_back(labels.offset(box.lo[0] + i, box.lo[1] + j, box.lo[2] + k));
  return out;
}

Vec3 lps_of(const MaskVolume& v, size_t offset) {
  const auto& d = v.geometry.dims;
  const int64_t o = int64_t(offset);
  return v.geometry.index_to_lps(
      Vec3(double(o % d[0]), double((o / d[0]) % d[1]), double(o / (d[0] * d[1]))));
}

} // namespace

std::vector<std::vector<size_t>> connected_components(const MaskVolume& labels, uint8_t value) {
  return components_in(labels, value, bounding_boxes(labels)[value]);
}

std::vector<StrayPieces> remove_stray_pieces(StructureMap& structures, double max_gap_mm) {
  std::vector<StrayPieces> changed;
  MaskVolume& v = structures.voxels;
  const auto boxes = bounding_boxes(v);
  const double voxel_ml = v.geometry.voxel_volume_mm3() / 1000.0;
  for (const auto& label : structures.table.labels()) {
    if (label.id <= 0 || label.id > 255)
      continue;
    const auto pieces = components_in(v, uint8_t(label.id), boxes[size_t(label.id)]);
    if (pieces.size() < 2)
      continue;
    std::vector<Vec3> body;
    body.reserve(pieces.front().size());
    for (size_t o : pieces.front())
      body.push_back(lps_of(v, o));
    const PointIndex main(std::move(body));
    StrayPieces row{label.name};
    for (size_t p = 1; p < pieces.size(); ++p) {
      double gap_sq = std::numeric_limits<double>::infinity();
      for (size_t o : pieces[p]) {
        gap_sq = std::min(gap_sq, main.nearest(lps_of(v, o)).distance_sq_mm2);
        if (gap_sq <= max_gap_mm * max_gap_mm)
          break;
      }
      if (gap_sq <= max_gap_mm * max_gap_mm)
        continue;
      for (size_t o : pieces[p])
        v.data[o] = 0;
      ++row.pieces;
      row.volume_ml += double(pieces[p].size()) * voxel_ml;
      row.farthest_mm = std::max(row.farthest_mm, std::sqrt(gap_sq));
    }
    if (row.pieces)
      changed.push_back(row);
  }
  return changed;
}

} // namespace nervemap::anatomy
