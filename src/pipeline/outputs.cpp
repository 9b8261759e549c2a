// The files of a finished case (design §1, §6): report.json is written last by run.cpp; these are
// the voxel and geometry outputs for the viewer and other tools.
#include "pipeline/outputs.h"

#include "anatomy/anatomy.h"
#include "io/io.h"
#include "mesh/mesh.h"
#include "report/report.h"

#include <fmt/format.h>
#include <fstream>

namespace nervemap::pipeline {

LabelTable write_labels(const fs::path& dir,
                        anatomy::StructureMap& structures,
                        const anatomy::StructureMap* tumour,
                        OutputTransaction& tx,
                        std::vector<fs::path>& written) {
  // Structures keep their catalogue ids, tumours overwrite with 201/202 (design §3).
  LabelTable table;
  const auto& catalogue = anatomy::Catalogue::get();
  const auto histogram = structures.histogram();
  for (const auto& label : structures.table.labels())
    if (histogram[size_t(label.id)] > 0)
      table.add({label.id, label.name, catalogue.find(label.id) ? catalogue.find(label.id)->rgb : label.rgb});
  if (tumour) {
    const auto th = tumour->histogram();
    for (int id : {anatomy::kGtvpId, anatomy::kGtvnId})
      if (th[size_t(id)] > 0)
        table.add(*catalogue.output_table().find(id));
    for (size_t o = 0; o < structures.voxels.data.size(); ++o)
      if (tumour->voxels.data[o])
        structures.voxels.data[o] = tumour->voxels.data[o];
  }
  const fs::path labels_path = dir / "labels.nii.gz";
  io::write_nifti(labels_path, structures.voxels, &table);
  tx.created(labels_path);
  written.push_back(labels_path);
  nlohmann::json json = nlohmann::json::array();
  for (const auto& l : table.labels())
    json.push_back({{"id", l.id}, {"name", l.name}, {"rgb", {l.rgb[0], l.rgb[1], l.rgb[2]}}});
  const fs::path json_path = dir / "labels.json";
  report::write_json(json_path, json);
  tx.created(json_path);
  written.push_back(json_path);
  return table;
}

void write_meshes(const fs::path& dir,
                  const LabelMap& labels,
                  OutputTransaction& tx,
                  std::vector<fs::path>& written) {
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
    tx.created(mz3);
    written.push_back(mz3);
    mesh::write_stl(m, stl, name);
    tx.created(stl);
    written.push_back(stl);
  }
}

void write_ct(const fs::path& dir,
              const CtVolume& ct,
              const fs::path& source,
              OutputTransaction& tx,
              std::vector<fs::path>& written) {
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
  tx.created(path);
  written.push_back(path);
}

void write_nerve_tracts(const fs::path& dir,
                        const nlohmann::json& report,
                        OutputTransaction& tx,
                        std::vector<fs::path>& written) {
  // One streamline per estimated piece of each nerve, in report order; per-point scalars alongside.
  std::vector<std::vector<Vec3>> lines;
  std::vector<std::vector<float>> r95, distance;
  bool has_distance = false;
  for (const auto& n : report.at("nerves")) {
    if (n.at("status") != "estimated")
      continue;
    const auto& path = n.at("path_mm");
    const auto& segments = n.at("segments");
    for (const auto& seg : segments) {
      const size_t first = seg[0], last = seg[1];
      std::vector<Vec3> line;
      std::vector<float> radius, dist;
      for (size_t i = first; i <= last; ++i) {
        line.emplace_back(path[i][0].get<double>(), path[i][1].get<double>(), path[i][2].get<double>());
        radius.push_back(n.at("corridor_r95_mm")[i].get<float>());
        if (n.at("distance_profile_mm").is_array()) {
          dist.push_back(n.at("distance_profile_mm")[i].get<float>());
          has_distance = true;
        }
      }
      lines.push_back(std::move(line));
      r95.push_back(std::move(radius));
      distance.push_back(std::move(dist));
    }
  }
  auto add = [&](const fs::path& p) {
    tx.created(p);
    written.push_back(p);
  };
  io::write_tck(dir / "nerves.tck", lines);
  add(dir / "nerves.tck");
  io::write_tsf(dir / "nerves_r95.tsf", r95);
  add(dir / "nerves_r95.tsf");
  if (has_distance) {
    io::write_tsf(dir / "nerves_distance.tsf", distance);
    add(dir / "nerves_distance.tsf");
  }
}

} // namespace nervemap::pipeline
