// The files of a finished case (design §1, §6): report.json is written last by run.cpp; these are
// the voxel and geometry outputs for the viewer and other tools.
#include "anatomy/anatomy.h"
#include "io/io.h"
#include "mesh/mesh.h"
#include "pipeline/internal.h"
#include "report/report.h"

#include <fmt/format.h>
#include <fstream>

namespace nervemap::pipeline {

void write_labels(const fs::path& dir, const LabelMap& labels, OutputTransaction& tx) {
  const fs::path labels_path = dir / "labels.nii.gz";
  io::write_nifti(labels_path, labels.voxels, &labels.table);
  tx.wrote(labels_path);
  nlohmann::json json = nlohmann::json::array();
  for (const auto& l : labels.table.labels())
    json.push_back({{"id", l.id}, {"name", l.name}, {"rgb", {l.rgb[0], l.rgb[1], l.rgb[2]}}});
  const fs::path json_path = dir / "labels.json";
  report::write_json(json_path, json);
  tx.wrote(json_path);
}

void write_meshes(const fs::path& dir, const LabelMap& labels, OutputTransaction& tx) {
  // Display meshes need ~1 mm detail; sampling sub-millimetre CT grids at full resolution only makes
  // them slower to build and to load in the viewer.
  mesh::MeshOptions options;
  options.max_sample_mm = 1.0;
  const auto meshes = mesh::extract_all(labels, options);
  for (const auto& [name, m] : meshes) {
    if (m.empty())
      continue;
    const Label* label = labels.table.find(name);
    const mesh::Rgba colour{label->rgb[0], label->rgb[1], label->rgb[2], 255};
    const fs::path mz3 = dir / ("mesh_" + name + ".mz3"), stl = dir / ("mesh_" + name + ".stl");
    mesh::write_mz3(m, mz3, colour);
    tx.wrote(mz3);
    mesh::write_stl(m, stl, name);
    tx.wrote(stl);
  }
}

void write_ct(const fs::path& dir, const CtVolume& ct, const fs::path& source, OutputTransaction& tx) {
  const fs::path path = dir / "ct.nii.gz";
  bool copied = false;
  if (fs::is_regular_file(source) && !io::is_zip(source)) {
    std::ifstream in(source, std::ios::binary);
    unsigned char magic[2] = {0, 0};
    in.read(reinterpret_cast<char*>(magic), 2);
    if (magic[0] == 0x1f && magic[1] == 0x8b) { // gzip: a .nii.gz
      try {
        const io::NiftiHeader h = io::read_nifti_header(source);
        if (!h.transforms_ambiguous && h.geometry.same_grid(ct.geometry, 1e-6, 1e-9)) {
          write_file_atomically(path, [&](const fs::path& tmp) { fs::copy_file(source, tmp); });
          copied = true;
        }
      } catch (const InputError&) {
        // Not a NIfTI after all (read_ct decided by content): write ours below.
      }
    }
  }
  if (!copied)
    io::write_nifti(path, ct, io::NiftiStorage::int16);
  tx.wrote(path);
}

void write_nerve_tracts(const fs::path& dir,
                        const std::vector<report::NerveEntry>& entries,
                        OutputTransaction& tx) {
  // One streamline per estimated piece of each nerve, in report order; per-point scalars alongside.
  std::vector<std::vector<Vec3>> lines;
  std::vector<std::vector<float>> r95, distance;
  bool has_distance = false;
  for (const auto& entry : entries) {
    const nerves::NervePath& n = entry.estimate;
    if (!n.estimated)
      continue;
    for (const auto& [first, last] : n.segments) {
      lines.emplace_back(n.path_mm.begin() + long(first), n.path_mm.begin() + long(last) + 1);
      r95.emplace_back(n.corridor_r95_mm.begin() + long(first), n.corridor_r95_mm.begin() + long(last) + 1);
      std::vector<float>& dist = distance.emplace_back();
      if (entry.risk.assessed) {
        const auto& profile = entry.risk.combined.profile_mm;
        dist.assign(profile.begin() + long(first), profile.begin() + long(last) + 1);
        has_distance = true;
      }
    }
  }
  io::write_tck(dir / "nerves.tck", lines);
  tx.wrote(dir / "nerves.tck");
  io::write_tsf(dir / "nerves_r95.tsf", r95);
  tx.wrote(dir / "nerves_r95.tsf");
  if (has_distance) {
    io::write_tsf(dir / "nerves_distance.tsf", distance);
    tx.wrote(dir / "nerves_distance.tsf");
  }
}

} // namespace nervemap::pipeline
