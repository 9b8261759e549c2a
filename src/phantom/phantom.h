// nervemap phantom: a deterministic, seedable procedural neck from skull base to thoracic inlet.
//
// The anatomy is built in LPS millimetres from published measurements (cited where each number is
// set) and only then rasterised onto a voxel grid, so any spacing or orientation of the grid shows
// the same patient. It is the built-in case of `make demo` and the workhorse of the tests. Its
// anatomy was fixed before the nerve rules were tuned: it must not echo the rules.
#pragma once

#include "anatomy/anatomy.h"
#include "core/core.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace nervemap::phantom {

namespace fs = std::filesystem;

enum class Orientation {
  lps,    //!< voxel axes along L, P, S (DICOM-like storage)
  ras,    //!< voxel axes along R, A, S (nibabel canonical)
  oblique //!< rotated grid (a few degrees about two axes) with z running inferior
};

//! A tumour placed next to the phantom's reference course of a nerve (e.g. "vagus_left").
struct TumourSpec {
  std::string near_nerve; //!< nerve id as in report.json, e.g. "vagus_left", "recurrent_laryngeal_left"
  double gap_mm = 3;      //!< distance from the tumour surface to the reference nerve point
  double radius_mm = 12;  //!< mean radius of the (lobulated) tumour
  int hecktor_label = anatomy::kHecktorGtvn; //!< 1 GTVp, 2 GTVn
};

struct Options {
  uint64_t seed = 1;
  Vec3 spacing_mm{1.0, 1.0, 1.0};
  Orientation orientation = Orientation::lps;
  bool aberrant_right_subclavian = false; //!< right subclavian from the arch, behind the oesophagus
  std::vector<TumourSpec> tumours;
  double noise_hu = 12; //!< SD of Gaussian image noise (0: none)
};

struct Phantom {
  CtVolume ct;                      //!< HU
  anatomy::StructureMap structures; //!< catalogue ids, table with TotalSegmentator names
  MaskVolume tumour;                //!< HECKTOR values: 1 GTVp, 2 GTVn, on the CT grid
  nlohmann::json truth;             //!< seed, options, landmarks, reference nerve points, tumours
};

//! Build the phantom (deterministic for equal options).
Phantom make_phantom(const Options& options);

enum class Layout {
  dir, //!< DIR/structures/<class>.nii.gz (TotalSegmentator's default layout)
  ml   //!< DIR/structures.nii.gz with the CaretExtension label table (TotalSegmentator --ml)
};

//! Write DIR/ct.nii.gz, the structures (by layout), DIR/tumor.nii.gz and DIR/truth.json, each file
//! atomically; `created` records what was written so a failed run can remove it.
void write_phantom(const Phantom& phantom, const fs::path& dir, Layout layout, OutputTransaction& created);

//! Ids of the nerves the phantom keeps a reference course for (usable in TumourSpec::near_nerve).
std::vector<std::string> reference_nerve_ids();

} // namespace nervemap::phantom
