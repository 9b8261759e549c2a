// write_phantom: the phantom as a user's case folder (CT, TotalSegmentator-style structures, HECKTOR
// tumour mask, truth.json), every file atomically and recorded in the output transaction.
#include "io/io.h"
#include "phantom/internal_blocks.h"

#include <fmt/format.h>
#include <fstream>

namespace nervemap::phantom {

namespace {

//! Create a folder (and missing parents), recording the outermost folder created.
void ensure_folder(const fs::path& dir, OutputTransaction& created) {
  if (fs::is_directory(dir))
    return;
  fs::path outermost;
  for (fs::path p = fs::absolute(dir); !p.empty() && !fs::exists(p); p = p.parent_path()) {
    outermost = p;
    if (p == p.parent_path())
      break;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw InputError(
        fmt::format("cannot create the folder {}: {}", dir.string(), ec ? ec.message() : "not a folder"));
  if (!outermost.empty())
    created.created(outermost);
}

template <class Write> void write_recorded(const fs::path& path, OutputTransaction& created, Write&& write) {
  write_file_atomically(path, [&](const fs::path& tmp) { write(tmp); });
  created.created(path);
}

} // namespace

void write_phantom(const Phantom& phantom, const fs::path& dir, Layout layout, OutputTransaction& created) {
  ensure_folder(dir, created);
  write_recorded(dir / "ct.nii.gz", created, [&](const fs::path& tmp) {
    io::write_nifti(tmp, phantom.ct, io::NiftiStorage::int16);
  });
  const LabelMap& s = phantom.structures;
  if (layout == Layout::dir) {
    // One 0/1 mask per class, TotalSegmentator's default layout.
    fs::path folder = dir / "structures";
    ensure_folder(folder, created);
    for (const Label& label : s.table.labels()) {
      MaskVolume mask(s.voxels.geometry, 0);
      for (size_t i = 0; i < mask.data.size(); ++i)
        mask.data[i] = s.voxels.data[i] == label.id ? 1 : 0;
      write_recorded(folder / (label.name + ".nii.gz"), created, [&](const fs::path& tmp) {
        io::write_nifti(tmp, mask);
      });
    }
  } else {
    // One multilabel file with catalogue ids (equal to TotalSegmentator's `total` ids for its
    // classes) and the CaretExtension label table, which makes it self-describing.
    write_recorded(dir / "structures.nii.gz", created, [&](const fs::path& tmp) {
      io::write_nifti(tmp, s.voxels, &s.table);
    });
  }
  write_recorded(
      dir / "tumor.nii.gz", created, [&](const fs::path& tmp) { io::write_nifti(tmp, phantom.tumour); });
  write_recorded(dir / "truth.json", created, [&](const fs::path& tmp) {
    std::ofstream out(tmp);
    out << phantom.truth.dump(1) << '\n';
    if (!out)
      throw InputError(fmt::format("cannot write {}", tmp.string()));
  });
}

} // namespace nervemap::phantom
