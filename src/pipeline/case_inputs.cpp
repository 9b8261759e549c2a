// The stored form of a case's inputs (the server's case table keeps it as JSON beside the files).
#include "pipeline/pipeline.h"

#include <fmt/format.h>

namespace nervemap::pipeline {

namespace {

//! A stored path must name something inside the case folder: relative, no "..".
fs::path inside(const fs::path& base, const std::string& stored, const char* key) {
  const fs::path p(stored);
  bool escapes = p.empty() || p.is_absolute() || p.has_root_name();
  for (const auto& part : p)
    escapes = escapes || part == "..";
  if (escapes)
    throw InputError(fmt::format("case inputs: '{}' is not a path inside the case folder ({})", stored, key));
  return base / p;
}

std::string stored_path(const fs::path& p, const fs::path& base) {
  return p.lexically_relative(base).generic_string();
}

} // namespace

nlohmann::json to_json(const CaseInputs& in, const fs::path& base) {
  nlohmann::json j = nlohmann::json::object();
  j["name"] = in.name;
  j["ct"] = stored_path(in.ct, base);
  if (!in.series_uid.empty())
    j["series"] = in.series_uid;
  if (in.structures)
    j["structures"] = stored_path(*in.structures, base);
  if (in.label_table_file)
    j["label_table"] = stored_path(*in.label_table_file, base);
  if (in.label_table_task)
    j["label_table_task"] = *in.label_table_task;
  if (in.tumour) {
    j["tumor"] = stored_path(*in.tumour, base);
    j["tumor_label"] = in.tumour_binary_as_gtvn ? "GTVn" : "GTVp";
  }
  if (in.pet)
    j["pet"] = stored_path(*in.pet, base);
  return j;
}

CaseInputs case_inputs_from_json(const nlohmann::json& j, const fs::path& base) {
  if (!j.is_object() || !j.contains("ct") || !j.at("ct").is_string())
    throw InputError("case inputs: no CT recorded");
  auto text = [&](const char* key) -> std::optional<std::string> {
    if (!j.contains(key))
      return std::nullopt;
    if (!j.at(key).is_string())
      throw InputError(fmt::format("case inputs: '{}' is not a string", key));
    return j.at(key).get<std::string>();
  };
  auto path = [&](const char* key) -> std::optional<fs::path> {
    if (auto s = text(key))
      return inside(base, *s, key);
    return std::nullopt;
  };
  CaseInputs in;
  in.name = text("name").value_or("");
  in.ct = *path("ct");
  in.series_uid = text("series").value_or("");
  in.structures = path("structures");
  in.label_table_file = path("label_table");
  in.label_table_task = text("label_table_task");
  in.tumour = path("tumor");
  const std::string label = text("tumor_label").value_or("GTVp");
  if (label != "GTVp" && label != "GTVn")
    throw InputError(fmt::format("case inputs: tumor_label '{}' is neither GTVp nor GTVn", label));
  in.tumour_binary_as_gtvn = label == "GTVn";
  in.pet = path("pet");
  return in;
}

} // namespace nervemap::pipeline
