// A finished case run elsewhere (the demo) added to a data folder, as if it had been uploaded and run here.
#include "internal.h"
#include "server/server.h"

#include <fmt/format.h>

namespace nervemap::server {

namespace {

//! Copy a file or a folder into the case's input folder; returns where it went.
fs::path copy_input(const fs::path& from, const fs::path& case_dir, const std::string& name) {
  const fs::path to = case_dir / "input" / name;
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  if (!ec)
    fs::copy(from, to, fs::copy_options::recursive, ec);
  if (ec)
    throw InputError(fmt::format("cannot copy {} into the data folder: {}", from.string(), ec.message()));
  return to;
}

} // namespace

std::string add_finished_case(const fs::path& data_dir, const FinishedCase& finished) {
  if (!fs::is_regular_file(finished.results / "report.json"))
    throw InputError(fmt::format("{} holds no report.json: not a finished case", finished.results.string()));
  const CaseFolders folders{Context::prepare_data_dir(data_dir)};
  CaseStore store(data_dir / "nervemap.db");

  CaseRow row;
  row.id = new_case_id();
  row.created = iso_utc_now();
  row.status = "done";
  row.progress = 1.0;
  const fs::path case_dir = folders.dir(row.id);
  try {
    // Input names as an upload gets them (uploads.cpp), so a re-run finds them the same way.
    auto name_of = [](const fs::path& p, const std::string& stem) {
      const std::string file = p.filename().string();
      if (fs::is_directory(p))
        return stem;
      return stem + (file.ends_with(".nii.gz") ? ".nii.gz" : p.extension().string());
    };
    auto copy = [&](const std::optional<fs::path>& from, const std::string& stem) -> std::optional<fs::path> {
      if (!from)
        return std::nullopt;
      return copy_input(*from, case_dir, name_of(*from, stem));
    };
    const pipeline::CaseInputs& given = finished.inputs;
    pipeline::CaseInputs copied = given;
    copied.ct = *copy(given.ct, "ct");
    copied.structures = copy(given.structures, "structures");
    copied.label_table_file = copy(given.label_table_file, "labels");
    copied.tumour = copy(given.tumour, "tumor");
    copied.pet = copy(given.pet, "pet");
    row.inputs = pipeline::to_json(copied, case_dir);
    std::error_code ec;
    fs::copy(finished.results, folders.out(row.id), fs::copy_options::recursive, ec);
    if (ec)
      throw InputError(
          fmt::format("cannot copy {} into the data folder: {}", finished.results.string(), ec.message()));
    // The earlier copy of the same case goes once the new one is complete.
    for (const auto& old : store.list())
      if (old.inputs.value("name", "") == given.name && store.remove(old.id))
        fs::remove_all(folders.dir(old.id), ec);
    store.insert(row);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(case_dir, ec);
    throw;
  }
  return row.id;
}

} // namespace nervemap::server
