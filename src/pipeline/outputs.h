// Internal to the pipeline module (not a public header): writers of a case's output files.
#pragma once

#include "anatomy/anatomy.h"
#include "core/core.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

namespace nervemap::pipeline {

namespace fs = std::filesystem;

//! labels.nii.gz (structures + tumours on the CT grid, CaretExtension table) and labels.json. Paints the
//! tumour into `structures` in place (saves a second full-size volume). Returns the table written.
LabelTable write_labels(const fs::path& dir,
                        anatomy::StructureMap& structures,
                        const anatomy::StructureMap* tumour,
                        OutputTransaction& tx,
                        std::vector<fs::path>& written);
//! ct.nii.gz: the CT as nervemap read it, for the viewer. A gzipped NIfTI input whose header every reader
//! interprets the same way is copied as it is (much faster than compressing the volume again); any
//! other input (DICOM, plain or ambiguous NIfTI) is written as int16 HU with sform = qform.
void write_ct(const fs::path& dir,
              const CtVolume& ct,
              const fs::path& source,
              OutputTransaction& tx,
              std::vector<fs::path>& written);
//! nerves.tck (RAS) with nerves_r95.tsf and, with a tumour, nerves_distance.tsf.
void write_nerve_tracts(const fs::path& dir,
                        const nlohmann::json& report,
                        OutputTransaction& tx,
                        std::vector<fs::path>& written);
//! mesh_<name>.mz3 (RAS, for NiiVue, with the label's colour) and mesh_<name>.stl (LPS) per label of the
//! map's table present in its voxels (structures and tumours).
void write_meshes(const fs::path& dir,
                  const LabelMap& labels,
                  OutputTransaction& tx,
                  std::vector<fs::path>& written);

} // namespace nervemap::pipeline
