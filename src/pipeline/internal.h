// Internal to the pipeline module (not a public header): writers of a case's output files. Each records
// what it wrote in the run's output transaction.
#pragma once

#include "core/core.h"
#include "report/report.h"

#include <filesystem>
#include <vector>

namespace nervemap::pipeline {

namespace fs = std::filesystem;

//! labels.nii.gz (the output label map of anatomy::with_tumours, CaretExtension table) and labels.json.
void write_labels(const fs::path& dir, const LabelMap& labels, OutputTransaction& tx);
//! ct.nii.gz: the CT as nervemap read it, for the viewer. A gzipped NIfTI input whose header every reader
//! interprets the same way is copied as it is (much faster than compressing the volume again); any
//! other input (DICOM, plain or ambiguous NIfTI) is written as int16 HU with sform = qform.
void write_ct(const fs::path& dir, const CtVolume& ct, const fs::path& source, OutputTransaction& tx);
//! nerves.tck (RAS) with nerves_r95.tsf and, with a tumour, nerves_distance.tsf, from the report's nerves.
void write_nerve_tracts(const fs::path& dir,
                        const std::vector<report::NerveEntry>& nerves,
                        OutputTransaction& tx);
//! mesh_<name>.mz3 (RAS, for NiiVue, with the label's colour) and mesh_<name>.stl (LPS) per label of the
//! map's table present in its voxels (structures and tumours).
void write_meshes(const fs::path& dir, const LabelMap& labels, OutputTransaction& tx);

} // namespace nervemap::pipeline
