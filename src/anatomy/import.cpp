// Import of existing segmentations onto the CT grid, mapped to catalogue ids.
#include "anatomy/anatomy.h"
#include "io/io.h"

#include <algorithm>
#include <exception>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <unistd.h>

namespace nervemap::anatomy {

namespace {

std::string nifti_stem(const fs::path& file) {
  std::string name = file.filename().string();
  for (const char* suffix : {".nii.gz", ".nii"})
    if (name.size() > std::string(suffix).size() && name.ends_with(suffix))
      return name.substr(0, name.size() - std::string(suffix).size());
  return name;
}

std::vector<fs::path> nifti_files_in(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && io::has_nifti_suffix(e.path()) && e.path().filename().string()[0] != '.')
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

} // namespace

std::vector<fs::path> mask_files_in(const fs::path& folder) {
  std::vector<fs::path> files = nifti_files_in(folder);
  if (!files.empty())
    return files;
  // Structure zips may wrap the masks in one folder (design §9).
  std::vector<fs::path> subdirs;
  for (const auto& e : fs::directory_iterator(folder))
    if (e.is_directory())
      subdirs.push_back(e.path());
  if (subdirs.size() == 1)
    return mask_files_in(subdirs[0]);
  throw InputError(
      fmt::format("no .nii.gz masks found in {}; expected a TotalSegmentator output folder with one "
                  "<class>.nii.gz per structure",
                  folder.string()));
}

namespace {

//! Put a mask on the CT grid: identical grids (within design §2 tolerances) take the CT geometry
//! exactly; other grids need --resample-masks.
MaskVolume onto_ct_grid(MaskVolume mask, const Geometry& ct, bool resample, const fs::path& file) {
  if (mask.geometry.same_grid(ct)) {
    mask.geometry = ct;
    return mask;
  }
  if (!resample)
    throw InputError(
        fmt::format("{} is on a different grid than the CT ({}; CT: {}); pass --resample-masks to "
                    "resample masks onto the CT grid (nearest neighbour)",
                    file.string(),
                    mask.geometry.describe(),
                    ct.describe()));
  return resample_nearest(mask, ct);
}

struct ReadMask {
  const Structure* structure = nullptr;
  fs::path file;
  std::vector<int64_t> voxels; // offsets of the mask's voxels on the CT grid
  Warnings warnings;
};

StructureMap
import_folder(const fs::path& dir, const Geometry& ct, const ImportOptions& options, Warnings& warnings) {
  const std::vector<fs::path> files = mask_files_in(dir);
  const Catalogue& catalogue = Catalogue::get();
  std::vector<ReadMask> masks;
  std::vector<std::string> unknown;
  // Tumour masks as pseudo-structures with the output ids (only with keep_tumours).
  static const Structure gtvp{kGtvpId, "GTVp", "tumour", {255, 0, 255}, {}, {}};
  static const Structure gtvn{kGtvnId, "GTVn", "tumour", {150, 70, 255}, {}, {}};
  for (const auto& f : files) {
    const std::string stem = nifti_stem(f);
    const Structure* s = !options.keep_tumours ? catalogue.find(stem)
                         : stem == "GTVp"      ? &gtvp
                         : stem == "GTVn"      ? &gtvn
                                               : catalogue.find(stem);
    if (!s) {
      unknown.push_back(f.filename().string());
      continue;
    }
    masks.push_back({s, f, {}, {}});
  }
  if (!unknown.empty())
    warnings.add(fmt::format("skipped {} mask file(s) whose names are not TotalSegmentator classes: {}",
                             unknown.size(),
                             fmt::join(unknown, ", ")));
  if (masks.empty())
    throw InputError(fmt::format(
        "none of the masks in {} is named after a known structure (e.g. trachea.nii.gz)", dir.string()));

  // Decode in parallel; each mask becomes a list of voxel offsets so that only one full volume is
  // held per thread (design §2: thirty full masks would not fit).
  // Each thread inflates into one reused buffer (no full-size allocation per file).
  std::vector<std::exception_ptr> errors(masks.size());
#pragma omp parallel
  {
    std::vector<uint8_t> scratch;
#pragma omp for schedule(dynamic, 1)
    for (size_t m = 0; m < masks.size(); ++m) {
      try {
        io::NiftiHeader header;
        auto voxels = io::read_nifti_mask_voxels(masks[m].file, masks[m].warnings, scratch, &header);
        if (header.geometry.same_grid(ct)) {
          masks[m].voxels = std::move(voxels);
          continue;
        }
        MaskVolume v(header.geometry, 0);
        for (int64_t o : voxels)
          v.data[size_t(o)] = 1;
        v = onto_ct_grid(std::move(v), ct, options.resample_masks, masks[m].file);
        for (size_t o = 0; o < v.data.size(); ++o)
          if (v.data[o])
            masks[m].voxels.push_back(int64_t(o));
      } catch (...) {
        errors[m] = std::current_exception();
      }
    }
  }
  for (const auto& e : errors)
    if (e)
      std::rethrow_exception(e);

  StructureMap out;
  out.voxels = MaskVolume(ct, 0);
  std::map<int, size_t> by_id;
  for (size_t m = 0; m < masks.size(); ++m) {
    warnings.append(masks[m].warnings);
    if (auto [it, fresh] = by_id.emplace(masks[m].structure->id, m); !fresh)
      warnings.add(fmt::format("{} and {} both name {}; their union is used",
                               masks[it->second].file.filename().string(),
                               masks[m].file.filename().string(),
                               masks[m].structure->name));
    else
      out.table.add({masks[m].structure->id, masks[m].structure->name, masks[m].structure->rgb});
  }
  // Larger structures first, so that where masks overlap the smaller structure keeps the voxel.
  std::vector<size_t> order(masks.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return masks[a].voxels.size() > masks[b].voxels.size();
  });
  int64_t overlap = 0;
  std::string example;
  for (size_t m : order) {
    const uint8_t id = uint8_t(masks[m].structure->id);
    for (int64_t o : masks[m].voxels) {
      uint8_t& v = out.voxels.data[size_t(o)];
      if (v && v != id) {
        if (++overlap == 1)
          example = fmt::format("{} and {}",
                                v >= kGtvpId ? Catalogue::tumour_name(v) : catalogue.find(v)->name,
                                masks[m].structure->name);
      }
      v = id;
    }
  }
  if (overlap > 0)
    warnings.add(
        fmt::format("{} voxels belong to two structure masks (e.g. {}); the smaller structure keeps them",
                    overlap,
                    example));
  return out;
}

LabelTable table_from_json(const fs::path& file) {
  std::ifstream in(file);
  if (!in)
    throw InputError(fmt::format("cannot open the label table {}", file.string()));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("the label table {} is not valid JSON: {}", file.string(), e.what()));
  }
  LabelTable table;
  try {
    if (j.is_array()) { // [{"id": 1, "name": "trachea"}, ...] (labels.json)
      for (const auto& e : j)
        table.add({e.at("id").get<int>(), e.at("name").get<std::string>(), {128, 128, 128}});
    } else if (j.is_object()) { // {"1": "trachea", ...} (TotalSegmentator class_map style)
      for (const auto& [key, value] : j.items())
        table.add({std::stoi(key), value.get<std::string>(), {128, 128, 128}});
    } else {
      throw InputError("");
    }
  } catch (const std::exception&) {
    throw InputError(fmt::format("the label table {} must be [{{\"id\": 1, \"name\": \"trachea\"}}, ...] or "
                                 "{{\"1\": \"trachea\", ...}}",
                                 file.string()));
  }
  return table;
}

//! The label table of a multilabel file: its own XML extension, else --label-table (a JSON file or a
//! TotalSegmentator task name), else <stem>.json beside it.
LabelTable
multilabel_table(const fs::path& file, const LabelTable& from_header, const ImportOptions& options) {
  if (options.label_table_task) {
    LabelTable t;
    for (const auto& [label, name] : Catalogue::get().task_classes(*options.label_table_task))
      t.add({label, name, {128, 128, 128}});
    return t;
  }
  if (options.label_table_file)
    return table_from_json(*options.label_table_file);
  if (!from_header.empty())
    return from_header;
  fs::path beside = file.parent_path() / (nifti_stem(file) + ".json");
  if (fs::exists(beside))
    return table_from_json(beside);
  throw InputError(
      fmt::format("{} has no label table: TotalSegmentator --ml files carry one in their header; for "
                  "another multilabel file pass --label-table labels.json (or a task name such as "
                  "total) or put {} beside it",
                  file.string(),
                  beside.filename().string()));
}

StructureMap import_multilabel(const fs::path& file,
                               const Geometry& ct,
                               const ImportOptions& options,
                               Warnings& warnings) {
  LabelTable header_table;
  MaskVolume v = io::read_nifti_labels(file, warnings, &header_table);
  LabelTable file_table = multilabel_table(file, header_table, options);
  v = onto_ct_grid(std::move(v), ct, options.resample_masks, file);

  const Catalogue& catalogue = Catalogue::get();
  std::array<uint8_t, 256> lut{};
  StructureMap out;
  std::vector<std::string> unknown, tumours;
  for (const auto& label : file_table.labels()) {
    if (label.id <= 0 || label.id > 255)
      continue;
    if (label.name == "GTVp" || label.name == "GTVn") {
      if (options.keep_tumours) {
        const int id = label.name == "GTVp" ? kGtvpId : kGtvnId;
        lut[size_t(label.id)] = uint8_t(id);
        if (!out.table.find(id))
          out.table.add(*catalogue.output_table().find(id));
        continue;
      }
      tumours.push_back(label.name);
      continue;
    }
    const Structure* s = catalogue.find(label.name);
    if (!s) {
      unknown.push_back(label.name);
      continue;
    }
    lut[size_t(label.id)] = uint8_t(s->id);
    if (!out.table.find(s->id))
      out.table.add({s->id, s->name, s->rgb});
  }
  if (!unknown.empty())
    warnings.add(fmt::format("skipped {} label(s) of {} that are not TotalSegmentator classes: {}",
                             unknown.size(),
                             file.filename().string(),
                             fmt::join(unknown, ", ")));
  if (!tumours.empty())
    warnings.add(
        fmt::format("{} in {} ignored: structures files hold normal anatomy; give the tumour with --tumor",
                    fmt::join(tumours, " and "),
                    file.filename().string()));
  std::array<int64_t, 256> counts{};
  for (uint8_t& x : v.data) {
    ++counts[x];
    x = lut[x];
  }
  std::vector<int> nameless;
  for (int value = 1; value < 256; ++value)
    if (counts[size_t(value)] > 0 && !file_table.find(value))
      nameless.push_back(value);
  if (!nameless.empty())
    warnings.add(fmt::format("label value(s) {} of {} have no name in the label table and were ignored",
                             fmt::join(nameless, ", "),
                             file.filename().string()));
  out.voxels = std::move(v);
  return out;
}

} // namespace

StructureMap import_structures(const fs::path& path,
                               const Geometry& ct,
                               const ImportOptions& options,
                               Warnings& warnings) {
  if (!fs::exists(path))
    throw InputError(fmt::format("structures not found: {}", path.string()));
  if (fs::is_directory(path))
    return import_folder(path, ct, options, warnings);
  if (io::is_zip(path)) {
    ScratchDir scratch("import");
    auto extracted = io::extract_zip(path, scratch.path());
    // A zip holding one --ml file is imported as that file; otherwise as a TotalSegmentator folder.
    std::vector<fs::path> niftis;
    for (const auto& f : extracted)
      if (io::has_nifti_suffix(f))
        niftis.push_back(f);
    if (niftis.size() == 1 && nifti_stem(niftis[0]) != "" && !Catalogue::get().find(nifti_stem(niftis[0])))
      return import_multilabel(niftis[0], ct, options, warnings);
    return import_folder(scratch.path(), ct, options, warnings);
  }
  return import_multilabel(path, ct, options, warnings);
}

StructureMap import_tumour(
    const fs::path& path, const Geometry& ct, bool binary_as_gtvn, bool resample_masks, Warnings& warnings) {
  if (!fs::exists(path))
    throw InputError(fmt::format("tumour mask not found: {}", path.string()));
  if (fs::is_directory(path))
    throw InputError(
        fmt::format("the tumour input {} is a folder; give one label map file (HECKTOR values 1 GTVp, "
                    "2 GTVn)",
                    path.string()));
  MaskVolume v = io::read_nifti_labels(path, warnings);
  v = onto_ct_grid(std::move(v), ct, resample_masks, path);
  std::array<int64_t, 256> counts{};
  for (uint8_t x : v.data)
    ++counts[x];
  for (int value = 3; value < 256; ++value)
    if (counts[size_t(value)] > 0)
      throw InputError(
          fmt::format("the tumour mask {} holds label value {}; expected HECKTOR values 1 (GTVp) and 2 "
                      "(GTVn) only",
                      path.string(),
                      value));
  const bool binary = counts[2] == 0;
  std::array<uint8_t, 256> lut{};
  lut[kHecktorGtvp] = uint8_t(binary && binary_as_gtvn ? kGtvnId : kGtvpId);
  lut[kHecktorGtvn] = uint8_t(kGtvnId);
  for (uint8_t& x : v.data)
    x = lut[x];
  StructureMap out;
  out.voxels = std::move(v);
  const LabelTable full = Catalogue::get().output_table();
  for (int id : {kGtvpId, kGtvnId})
    out.table.add(*full.find(id));
  if (counts[1] == 0 && counts[2] == 0)
    warnings.add(fmt::format("the tumour mask {} is empty", path.filename().string()));
  return out;
}

} // namespace nervemap::anatomy
